import { CollectorError } from '../../../../src/errors';
import { isConditionLost, isNoSuchKey, isNotFound, isTransient, s3Failure } from '../../../../src/lake/store/s3-errors';

/** The shapes the AWS SDK throws: service errors carry $metadata, network errors a Node code. */
function serviceError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode, requestId: 'req-1' } });
}
function networkError(code: string, name = 'Error'): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code, name });
}

const scope = { operation: 'create', bucket: 'lake', endpoint: 'http://127.0.0.1:9000', key: 'raw/a.parquet' };

describe('S3 error classification', () => {
  it.each([
    ['503 SlowDown', serviceError('SlowDown', 503), true],
    ['500 InternalError', serviceError('InternalError', 500), true],
    ['429', serviceError('TooManyRequests', 429), true],
    ['408', serviceError('RequestTimeout', 408), true],
    ['connection refused', networkError('ECONNREFUSED'), true],
    ['connection reset', networkError('ECONNRESET'), true],
    ['socket timeout', networkError('ETIMEDOUT', 'TimeoutError'), true],
    ['403 AccessDenied', serviceError('AccessDenied', 403), false],
    ['403 InvalidAccessKeyId', serviceError('InvalidAccessKeyId', 403), false],
    ['404 NoSuchBucket', serviceError('NoSuchBucket', 404), false],
    ['412 PreconditionFailed', serviceError('PreconditionFailed', 412), false],
    ['no credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), false],
    ['no region', new Error('Region is missing'), false],
  ])('%s is transient: %s', (_label, error, transient) => {
    expect(isTransient(error)).toBe(transient);
    expect(s3Failure(error, scope)).toMatchObject({ code: transient ? 'LAKE_STORE_UNAVAILABLE' : 'LAKE_STORE_REFUSED', retryable: transient });
  });

  it('tells lost conditional writes and missing keys apart', () => {
    expect(isConditionLost(serviceError('PreconditionFailed', 412))).toBe(true);
    expect(isConditionLost(serviceError('ConditionalRequestConflict', 409))).toBe(true);
    expect(isConditionLost(serviceError('BucketAlreadyOwnedByYou', 409))).toBe(false);
    expect(isNoSuchKey(serviceError('NoSuchKey', 404))).toBe(true);
    expect(isNoSuchKey(serviceError('NoSuchBucket', 404))).toBe(false);
    expect(isNotFound(serviceError('NotFound', 404))).toBe(true);
    expect(isNotFound(networkError('ECONNREFUSED'))).toBe(false);
  });

  it('says where and what, with the context an operator needs', () => {
    const failure = s3Failure(serviceError('NoSuchBucket', 404), scope);
    expect(failure.message).toBe('S3 create of s3://lake/raw/a.parquet at http://127.0.0.1:9000 failed: HTTP 404 NoSuchBucket: the bucket does not exist');
    expect(failure.context).toEqual({ ...scope, httpStatus: 404, awsCode: 'NoSuchBucket', requestId: 'req-1' });
    expect(s3Failure(serviceError('NotFound', 404), { ...scope, key: undefined }).message).toMatch(/HTTP 404 NotFound: the bucket does not exist$/);
    expect(s3Failure(serviceError('Forbidden', 403), scope).message).toMatch(/: access denied \(credentials or bucket policy\)$/);
    expect(s3Failure(networkError('ECONNREFUSED'), scope).message).toMatch(/failed: connect ECONNREFUSED 127.0.0.1:9$/);
  });

  it('passes the collector\'s own errors through', () => {
    const own = new CollectorError('LAKE_OBJECT_MISSING', 'gone');
    expect(s3Failure(own, scope)).toBe(own);
  });
});
