import type { OffsetRange } from '../../../src/lake/offset-range';
import { PublishedAboveCommit, consumeSkip, decodeCommitMetadata, encodeCommitMetadata, rangesToSkip } from '../../../src/pipeline/recovery';

describe('commit metadata', () => {
  it('round-trips and ignores metadata written by others', () => {
    expect(decodeCommitMetadata(encodeCommitMetadata({ recoverSinceMs: 1234 }))).toEqual({ recoverSinceMs: 1234 });
    expect(decodeCommitMetadata('')).toBeNull();
    expect(decodeCommitMetadata(null)).toBeNull();
    expect(decodeCommitMetadata('not json')).toBeNull();
    expect(decodeCommitMetadata('{"other":1}')).toBeNull();
  });
});

describe('rangesToSkip', () => {
  it.each<[OffsetRange[], number, OffsetRange[]]>([
    [[[0, 9]], 10, []],
    [[[0, 9]], 5, [[5, 9]]],
    [[[20, 29], [10, 19], [40, 45]], 0, [[10, 29], [40, 45]]],
    [[[10, 20], [15, 30]], 12, [[12, 30]]],
  ])('keeps %j at or past %d as %j', (ranges, committed, expected) => {
    expect(rangesToSkip(ranges, committed)).toEqual(expected);
  });
});

describe('consumeSkip', () => {
  it('answers in offset order and drops passed ranges', () => {
    const ranges: OffsetRange[] = [[3, 4], [8, 8]];
    expect([1, 3, 4, 5, 8, 9].map((offset) => consumeSkip(ranges, offset))).toEqual([false, true, true, false, true, false]);
    expect(ranges).toEqual([]);
  });
});

describe('PublishedAboveCommit', () => {
  it('keeps the earliest publish time of files still past the commit', () => {
    const published = new PublishedAboveCommit();
    published.record('t', 0, 99, 1000);
    published.record('t', 0, 199, 2000);
    expect(published.recoverSince('t', 0, 50, 5000)).toBe(1000);
    expect(published.recoverSince('t', 0, 100, 5000)).toBe(2000);
    expect(published.recoverSince('t', 0, 200, 5000)).toBe(5000);
    expect(published.recoverSince('t', 1, 0, 6000)).toBe(6000);
  });
});
