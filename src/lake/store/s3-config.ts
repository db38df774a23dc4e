import type { ServerSideEncryption, StorageClass } from '@aws-sdk/client-s3';
import { CollectorError } from '../../errors';
import type { CollectorConfig } from '../../config/schema';

/**
 * The S3 settings that are ours (schema section `s3`), turned into client options and request
 * parameters. Credentials, region and endpoint are not among them: the SDK resolves those itself
 * (AWS_* variables, ~/.aws profiles, web identity, instance metadata), and the only thing read
 * here is whether an endpoint variable is set, to pick path-style addressing and to name the
 * endpoint in errors.
 */

export type S3Settings = CollectorConfig['s3'];

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The endpoint the installed SDK (@smithy/core's getEndpointUrlConfig) takes from the environment:
 * AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, both ignored with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
 * An `endpoint_url` in a profile is honoured by the SDK too but is not visible here.
 */
export function configuredEndpoint(env: Environment): string | undefined {
  // The SDK's booleanSelector: exactly "true" (anything but "true"/"false" makes the SDK throw).
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  return endpoint === undefined || endpoint === '' ? undefined : endpoint;
}

/** Custom endpoints (MinIO, Ceph, S3Proxy) rarely have the wildcard DNS virtual-host style needs. */
export function usePathStyle(setting: S3Settings['forcePathStyle'], endpoint: string | undefined): boolean {
  return setting === 'auto' ? endpoint !== undefined : setting;
}

export interface S3WriteParams {
  readonly ServerSideEncryption?: ServerSideEncryption;
  readonly SSEKMSKeyId?: string;
  readonly StorageClass?: StorageClass;
}

/** What every object-creating request carries; throws when the settings contradict each other. */
export function writeParamsOf(settings: S3Settings): S3WriteParams {
  const kms = settings.serverSideEncryption.startsWith('aws:kms');
  if (settings.sseKmsKeyId !== '' && !kms) {
    throw new CollectorError('CONFIG_INVALID', 'S3_SSE_KMS_KEY_ID is set but S3_SERVER_SIDE_ENCRYPTION is not aws:kms or aws:kms:dsse', {
      context: { key: 's3.sseKmsKeyId' },
    });
  }
  return {
    ...(settings.serverSideEncryption === '' ? {} : { ServerSideEncryption: settings.serverSideEncryption }),
    ...(kms && settings.sseKmsKeyId !== '' ? { SSEKMSKeyId: settings.sseKmsKeyId } : {}),
    ...(settings.storageClass === '' ? {} : { StorageClass: settings.storageClass }),
  };
}
