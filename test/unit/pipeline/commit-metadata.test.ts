import { decodeCommitMetadata, encodeCommitMetadata } from '../../../src/pipeline/commit-metadata';

describe('commit metadata', () => {
  it('round-trips and ignores metadata written by others', () => {
    expect(decodeCommitMetadata(encodeCommitMetadata({ recoverSinceMs: 1234 }))).toEqual({ recoverSinceMs: 1234 });
    expect(decodeCommitMetadata('')).toBeNull();
    expect(decodeCommitMetadata(null)).toBeNull();
    expect(decodeCommitMetadata('not json')).toBeNull();
    expect(decodeCommitMetadata('{"other":1}')).toBeNull();
    expect(decodeCommitMetadata('{"recover_since_ms":"soon"}')).toBeNull();
  });
});
