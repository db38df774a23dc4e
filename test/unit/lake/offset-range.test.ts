import { mergeRanges, parseOffsetRanges, removeOffsets, serializeRanges, type OffsetRange } from '../../../src/lake/offset-range';

describe('offset ranges', () => {
  it('round-trip through the footer form, partitions in order', () => {
    const ranges = new Map<number, OffsetRange[]>([[2, [[5, 9]]], [0, [[0, 3], [7, 7]]]]);
    const text = serializeRanges(ranges);
    expect(text).toBe('{"0":[[0,3],[7,7]],"2":[[5,9]]}');
    expect(parseOffsetRanges(text)).toEqual(new Map([[0, [[0, 3], [7, 7]]], [2, [[5, 9]]]]));
  });

  it('drop malformed footer entries', () => {
    expect(parseOffsetRanges('not json')).toEqual(new Map());
    expect(parseOffsetRanges('{"x":[[0,1]],"1":[[3,2]],"2":[[0,1.5]],"3":[[4,6]]}')).toEqual(new Map([[3, [[4, 6]]]]));
  });

  it.each<[OffsetRange[], number, OffsetRange[]]>([
    [[[0, 9]], 10, []],
    [[[0, 9]], 5, [[5, 9]]],
    [[[20, 29], [10, 19], [40, 45]], 0, [[10, 29], [40, 45]]],
  ])('merge %j from %d into %j', (ranges, from, expected) => {
    expect(mergeRanges(ranges, from)).toEqual(expected);
  });

  it.each<[OffsetRange[], number[], OffsetRange[]]>([
    [[[0, 9]], [], [[0, 9]]],
    [[[0, 9]], [0], [[1, 9]]],
    [[[0, 9]], [9], [[0, 8]]],
    [[[0, 9]], [4, 5], [[0, 3], [6, 9]]],
    [[[0, 0], [5, 9]], [0, 7], [[5, 6], [8, 9]]],
    [[[3, 3]], [3], []],
  ])('%j without %j is %j', (ranges, removed, expected) => {
    expect(removeOffsets(ranges, new Set(removed))).toEqual(expected);
  });
});
