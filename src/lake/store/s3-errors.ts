import { CollectorError, describeError, type ErrorCode } from '../../errors';

/**
 * Turns what the AWS SDK throws into the collector's typed errors. Pure: it looks only at the
 * error's shape (HTTP status, S3 error code, Node network code), never at a request, so no secret
 * can reach a message.
 */

export interface S3ErrorScope {
  readonly operation: string;
  readonly bucket: string;
  /** The endpoint's URL, or 'AWS' when the SDK resolves it from the region. */
  readonly endpoint: string;
  readonly key?: string;
}

/** What the SDK's errors carry, all optional: service errors have `$metadata`, network ones `code`. */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly requestId?: unknown };
}

// Answers that say "not now" rather than "no": S3's throttling and transient codes.
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeoutException',
  'TimeoutError',
]);
// Failures of the client's own set-up: retrying cannot help until someone changes the configuration.
const CONFIGURATION_NAMES = new Set(['CredentialsProviderError', 'InvalidEndpointError']);

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

export function httpStatusOf(error: unknown): number | undefined {
  const status = shapeOf(error).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function nameOf(error: unknown): string | undefined {
  const name = shapeOf(error).name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Any 404. A HEAD's 404 has no body, so it cannot tell a missing key from a missing bucket (the
 * SDK calls both NotFound); a GET's says NoSuchKey, NoSuchBucket or NoSuchUpload.
 */
export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

export function isNoSuchKey(error: unknown): boolean {
  return nameOf(error) === 'NoSuchKey';
}

/**
 * A conditional write lost: 412 PreconditionFailed, or AWS's 409 ConditionalRequestConflict when
 * another conditional write to the key was under way at the same moment.
 */
export function isConditionLost(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 412 || (status === 409 && nameOf(error) === 'ConditionalRequestConflict');
}

/** An S3 error code (as in DeleteObjects' per-key errors) that means "not now" rather than "no". */
export function isTransientName(name: string): boolean {
  return TRANSIENT_NAMES.has(name);
}

/** Whether repeating the request may succeed: no answer at all, 5xx, 408, 429 and S3's throttling. */
export function isTransient(error: unknown): boolean {
  const name = nameOf(error);
  if (name !== undefined && isTransientName(name)) return true;
  const status = httpStatusOf(error);
  if (status === undefined) {
    // No HTTP answer: refused or reset connections, DNS, timeouts. Only a broken set-up is final.
    return !(name !== undefined && CONFIGURATION_NAMES.has(name)) && !/region is missing/i.test(describeError(error));
  }
  return status >= 500 || status === 408 || status === 429;
}

/** A hint for the answers an operator can act on. */
function hintFor(status: number | undefined, name: string | undefined, key: string | undefined): string {
  // A 404 to a request on the bucket itself (no key) can only mean the bucket.
  if (name === 'NoSuchBucket' || (status === 404 && key === undefined)) return ': the bucket does not exist';
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'CredentialsProviderError') {
    return ': the credentials were refused or not found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, instance role)';
  }
  if (status === 403) return ': access denied (credentials or bucket policy)';
  return '';
}

export function s3Failure(error: unknown, scope: S3ErrorScope): CollectorError {
  if (error instanceof CollectorError) return error;
  const status = httpStatusOf(error);
  const name = nameOf(error);
  const code: ErrorCode = isTransient(error) ? 'LAKE_STORE_UNAVAILABLE' : 'LAKE_STORE_REFUSED';
  const where = `s3://${scope.bucket}${scope.key === undefined ? '' : `/${scope.key}`} at ${scope.endpoint}`;
  const answer = status === undefined ? describeError(error) : `HTTP ${status} ${name ?? ''}`.trimEnd();
  const requestId = shapeOf(error).$metadata?.requestId;
  return new CollectorError(code, `S3 ${scope.operation} of ${where} failed: ${answer}${hintFor(status, name, scope.key)}`, {
    cause: error,
    context: {
      operation: scope.operation,
      bucket: scope.bucket,
      endpoint: scope.endpoint,
      key: scope.key,
      httpStatus: status,
      awsCode: name,
      requestId: typeof requestId === 'string' ? requestId : undefined,
    },
  });
}
