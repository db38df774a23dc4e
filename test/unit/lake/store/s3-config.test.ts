import { loadConfig } from '../../../../src/config/load';
import { configuredEndpoint, usePathStyle, writeParamsOf } from '../../../../src/lake/store/s3-config';

const settingsFrom = (env: Record<string, string>) => loadConfig({ env }).config.s3;

describe('S3 settings', () => {
  it('finds the endpoint where the AWS SDK does: the S3 one first, none when told to ignore them', () => {
    expect(configuredEndpoint({})).toBeUndefined();
    expect(configuredEndpoint({ AWS_ENDPOINT_URL: 'http://all:1' })).toBe('http://all:1');
    expect(configuredEndpoint({ AWS_ENDPOINT_URL: 'http://all:1', AWS_ENDPOINT_URL_S3: 'http://s3:2' })).toBe('http://s3:2');
    expect(configuredEndpoint({ AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: 'http://all:1' })).toBe('http://all:1');
    expect(configuredEndpoint({ AWS_ENDPOINT_URL_S3: 'http://s3:2', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
  });

  it('uses path style for custom endpoints unless told otherwise', () => {
    expect(usePathStyle('auto', 'http://minio:9000')).toBe(true);
    expect(usePathStyle('auto', undefined)).toBe(false);
    expect(usePathStyle(false, 'http://minio:9000')).toBe(false);
    expect(usePathStyle(true, undefined)).toBe(true);
    expect(settingsFrom({ S3_FORCE_PATH_STYLE: 'yes' }).forcePathStyle).toBe(true);
  });

  it('adds encryption and storage class to writes only when set', () => {
    expect(writeParamsOf(settingsFrom({}))).toEqual({});
    expect(writeParamsOf(settingsFrom({ S3_SERVER_SIDE_ENCRYPTION: 'AES256', S3_STORAGE_CLASS: 'STANDARD_IA' }))).toEqual({
      ServerSideEncryption: 'AES256',
      StorageClass: 'STANDARD_IA',
    });
    expect(writeParamsOf(settingsFrom({ S3_SERVER_SIDE_ENCRYPTION: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/lake' }))).toEqual({
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/lake',
    });
  });

  it('refuses contradicting or unknown settings', () => {
    expect(() => writeParamsOf(settingsFrom({ S3_SSE_KMS_KEY_ID: 'alias/lake' }))).toThrow('S3_SERVER_SIDE_ENCRYPTION is not aws:kms');
    expect(() => settingsFrom({ S3_STORAGE_CLASS: 'GLACIER' })).toThrow(/s3\.storageClass/);
    expect(() => settingsFrom({ S3_SERVER_SIDE_ENCRYPTION: 'rot13' })).toThrow(/s3\.serverSideEncryption/);
    expect(() => settingsFrom({ S3_FORCE_PATH_STYLE: 'sometimes' })).toThrow(/s3\.forcePathStyle/);
  });
});
