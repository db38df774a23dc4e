import { ANY_DAY, MAX_RECOVER_DAYS, boundedDays, decodeCommitMetadata, encodeCommitMetadata } from '../../../src/pipeline/commit-metadata';

describe('commit metadata', () => {
  it('round-trips and ignores metadata written by others', () => {
    expect(decodeCommitMetadata(encodeCommitMetadata({ recoverSinceMs: 1234, recoverDays: new Set([20378, 20377]) }, 'a1b2c3d4-7'))).toEqual({ recoverSinceMs: 1234, recoverDays: new Set([20377, 20378]) });
    expect(decodeCommitMetadata(encodeCommitMetadata({ recoverSinceMs: 1234, recoverDays: ANY_DAY }, 'a1b2c3d4-7'))).toEqual({ recoverSinceMs: 1234, recoverDays: ANY_DAY });
    expect(decodeCommitMetadata('')).toBeNull();
    expect(decodeCommitMetadata(null)).toBeNull();
    expect(decodeCommitMetadata('not json')).toBeNull();
    expect(decodeCommitMetadata('{"other":1}')).toBeNull();
    expect(decodeCommitMetadata('{"recover_since_ms":"soon"}')).toBeNull();
  });

  it('reads a commit of the first version (no days) as any day', () => {
    expect(decodeCommitMetadata('{"recover_since_ms":5}')).toEqual({ recoverSinceMs: 5, recoverDays: ANY_DAY });
    expect(decodeCommitMetadata('{"recover_since_ms":5,"recover_days":["x"]}')).toEqual({ recoverSinceMs: 5, recoverDays: ANY_DAY });
  });

  it('says any day past the bound, and stays far below the broker default of 4096 bytes at the bound', () => {
    const days = Array.from({ length: MAX_RECOVER_DAYS }, (_, i) => 20_000 + i);
    expect(boundedDays(days)).toEqual(new Set(days));
    expect(boundedDays([...days, 30_000])).toBe(ANY_DAY);
    expect(encodeCommitMetadata({ recoverSinceMs: Date.now(), recoverDays: boundedDays(days) }, 'a1b2c3d4-4294967295').length).toBeLessThan(1024);
  });
});
