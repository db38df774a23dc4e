import { CollectorError } from '../../../../src/errors';
import { formatS3Url, lakeKeyOf, objectKeyOf, parseS3Url } from '../../../../src/lake/store/s3-url';

describe('parseS3Url', () => {
  it.each([
    ['s3://lake', { bucket: 'lake', prefix: '' }],
    ['s3://lake/', { bucket: 'lake', prefix: '' }],
    ['s3://my.lake-01/raw', { bucket: 'my.lake-01', prefix: 'raw/' }],
    ['s3://lake/raw/kafka//', { bucket: 'lake', prefix: 'raw/kafka/' }],
  ])('reads %s', (text, expected) => {
    expect(parseS3Url(text)).toEqual(expected);
  });

  it.each([
    ['/data/lake', 'must start with s3://'],
    ['S3://lake', 'must start with s3://'],
    ['s3://', 'bucket name is missing'],
    ['s3:///prefix', 'bucket name is missing'],
    ['s3://ab', 'must be 3-63'],
    ['s3://Lake', 'must be 3-63'],
    ['s3://lake_1', 'must be 3-63'],
    ['s3://-lake', 'must be 3-63'],
    ['s3://la..ke', 'must be 3-63'],
    ['s3://192.168.1.10', 'must be 3-63'],
    [`s3://${'a'.repeat(64)}`, 'must be 3-63'],
    ['s3://lake/a//b', 'empty, "." or ".." segments'],
    ['s3://lake/a/../b', 'empty, "." or ".." segments'],
    ['s3://lake/a?versionId=1', 'query (?) or fragment (#)'],
  ])('refuses %s: %s', (text, why) => {
    let thrown: unknown;
    try {
      parseS3Url(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CollectorError);
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID', context: { location: text } });
    expect((thrown as Error).message).toContain(why);
  });
});

describe('keys', () => {
  const location = parseS3Url('s3://lake/raw/kafka');

  it('formats the location without the trailing slash', () => {
    expect(formatS3Url(location)).toBe('s3://lake/raw/kafka');
    expect(formatS3Url(parseS3Url('s3://lake/'))).toBe('s3://lake');
  });

  it('maps lake keys to object keys and back', () => {
    expect(objectKeyOf(location, '2024/01/02/trades.parquet')).toBe('raw/kafka/2024/01/02/trades.parquet');
    expect(lakeKeyOf(location, 'raw/kafka/2024/01/02/trades.parquet')).toBe('2024/01/02/trades.parquet');
    expect(() => objectKeyOf(location, '/2024')).toThrow("must not start with '/'");
    expect(() => lakeKeyOf(location, 'raw/other/x')).toThrow('outside s3://lake/raw/kafka');
  });
});
