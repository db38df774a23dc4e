import { ConsumePositions, committableOffsets, offsetsToCommit, type OffsetHolder, type TopicOffsets } from '../../../src/pipeline/offset-tracker';

const offsets = (entries: Array<[string, number, number]>): TopicOffsets => {
  const result: TopicOffsets = new Map();
  for (const [topic, partition, offset] of entries) {
    if (!result.has(topic)) result.set(topic, new Map());
    result.get(topic)?.set(partition, offset);
  }
  return result;
};
const holder = (topic: string, lowest: Array<[number, number]>): OffsetHolder => ({ topic, lowestOffsets: () => new Map(lowest) });

describe('committableOffsets', () => {
  it.each<[string, TopicOffsets, OffsetHolder[], TopicOffsets]>([
    ['commits the next offset when nothing is held', offsets([['t', 0, 100]]), [], offsets([['t', 0, 100]])],
    ['stops at the lowest held offset', offsets([['t', 0, 100]]), [holder('t', [[0, 40]])], offsets([['t', 0, 40]])],
    [
      'never passes the older of two day buffers holding one partition',
      offsets([['t', 0, 100]]),
      [holder('t', [[0, 70]]), holder('t', [[0, 55]])],
      offsets([['t', 0, 55]]),
    ],
    [
      'keeps partitions and topics apart',
      offsets([
        ['t', 0, 100],
        ['t', 1, 10],
        ['u', 0, 5],
      ]),
      [holder('t', [[1, 3]]), holder('u', [[0, 4]])],
      offsets([
        ['t', 0, 100],
        ['t', 1, 3],
        ['u', 0, 4],
      ]),
    ],
  ])('%s', (_label, next, holders, expected) => {
    expect(committableOffsets(next, holders)).toEqual(expected);
  });
});

describe('offsetsToCommit', () => {
  it('keeps only forward moves', () => {
    const candidate = offsets([
      ['t', 0, 10],
      ['t', 1, 5],
      ['t', 2, 7],
    ]);
    const committed = offsets([
      ['t', 0, 10],
      ['t', 1, 6],
    ]);
    expect(offsetsToCommit(candidate, committed)).toEqual(offsets([['t', 2, 7]]));
  });
});

describe('ConsumePositions', () => {
  it('returns the previous offset seen of a partition and forgets revoked ones', () => {
    const positions = new ConsumePositions();
    expect(positions.advance('t', 0, 5)).toBe(-1);
    expect(positions.advance('t', 0, 9)).toBe(5);
    expect(positions.nextOffsets()).toEqual(offsets([['t', 0, 10]]));
    positions.revoke('t', 0);
    expect(positions.advance('t', 0, 12)).toBe(-1);
  });
});
