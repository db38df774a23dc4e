import { CollectorError } from '../../errors';

/**
 * Where a lake lives in S3: `s3://bucket` or `s3://bucket/some/prefix`. Lake keys are appended to
 * `prefix`, so the prefix is either empty or ends with '/'.
 */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

const SCHEME = 's3://';
// S3's rules for new buckets (3-63 characters, lower case, digits, '.', '-', a letter or digit at
// both ends); S3Proxy rejects shorter names too.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d+\.\d+\.\d+\.\d+$/;

export function parseS3Url(text: string): S3Location {
  const fail = (why: string): never => {
    throw new CollectorError('CONFIG_INVALID', `lake location ${JSON.stringify(text)} is not a valid S3 URL: ${why}`, {
      context: { location: text },
    });
  };
  if (!text.startsWith(SCHEME)) fail(`it must start with ${SCHEME}`);
  // A query or fragment means a URL pasted from somewhere else (a console link, a presigned URL).
  if (/[?#]/.test(text)) fail('it must not have a query (?) or fragment (#)');
  const rest = text.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  if (bucket === '') fail('the bucket name is missing');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..') || IP_ADDRESS.test(bucket)) {
    fail(`bucket name ${JSON.stringify(bucket)} must be 3-63 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit`);
  }
  const path = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  const segments = path === '' ? [] : path.split('/');
  // Empty or dot segments make keys that some S3 implementations and every filesystem-backed one
  // resolve differently from AWS.
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    fail('the prefix must not have empty, "." or ".." segments');
  }
  return { bucket, prefix: segments.length === 0 ? '' : `${segments.join('/')}/` };
}

/** `s3://bucket/prefix`, without the trailing '/', for logs and errors. */
export function formatS3Url(location: S3Location): string {
  return `${SCHEME}${location.bucket}${location.prefix === '' ? '' : `/${location.prefix.slice(0, -1)}`}`;
}

/** The object key of a lake key (relative to the lake's root, see lake-store.ts). */
export function objectKeyOf(location: S3Location, key: string): string {
  if (key.startsWith('/')) throw new Error(`lake key ${JSON.stringify(key)} must not start with '/'`);
  return location.prefix + key;
}

/** The lake key of an object key listed under the lake's prefix. */
export function lakeKeyOf(location: S3Location, objectKey: string): string {
  if (!objectKey.startsWith(location.prefix)) throw new Error(`object key ${JSON.stringify(objectKey)} is outside ${formatS3Url(location)}`);
  return objectKey.slice(location.prefix.length);
}
