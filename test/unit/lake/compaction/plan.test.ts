import { planMerge, unifySchema, type RowGroupSummary, type SourceSummary } from '../../../../src/lake/compaction/plan';
import type { OffsetRange } from '../../../../src/lake/offset-range';

/** A source with one row group per [partition, min, max] span given, each `bytes` big. */
function source(spans: Array<[number, number, number]>, bytes = 100, columns: SourceSummary['columns'] = []): SourceSummary {
  const rowGroups: RowGroupSummary[] = spans.map(([partition, min, max], rowGroup) => ({
    rowGroup,
    rows: max - min + 1,
    bytes,
    compressedBytes: bytes / 4,
    partitions: new Map([[partition, { min, max, rows: max - min + 1 }]]),
  }));
  const ranges = new Map<number, OffsetRange[]>();
  for (const [partition, min, max] of spans) ranges.set(partition, [...(ranges.get(partition) ?? []), [min, max]]);
  return { key: 'x', columns, ranges, rowGroups };
}

describe('unifySchema', () => {
  it('keeps first-seen order and widens each column by the lattice; null-only columns take the others\' type', () => {
    const sources = [
      source([], 0, [
        { name: 'kafka_offset', type: 'int64' },
        { name: 'price', type: 'int64' },
        { name: 'flag', type: 'boolean' },
        { name: 'maybe', type: null },
      ]),
      source([], 0, [
        { name: 'price', type: 'double' },
        { name: 'note', type: 'string' },
        { name: 'flag', type: 'int64' },
        { name: 'maybe', type: 'timestamp_ms' },
        { name: 'empty', type: null },
      ]),
    ];
    expect(unifySchema(sources)).toEqual([
      { name: 'kafka_offset', type: 'int64' },
      { name: 'price', type: 'double' },
      { name: 'flag', type: 'string' },
      { name: 'maybe', type: 'timestamp_ms' },
      { name: 'note', type: 'string' },
      { name: 'empty', type: 'string' },
    ]);
  });
});

describe('planMerge', () => {
  const limits = { memoryBytes: 250, maxFileBytes: Number.MAX_SAFE_INTEGER };

  it('groups row groups of a partition into windows within the memory budget, covering every offset', () => {
    const plan = planMerge([source([[0, 0, 9], [0, 10, 19], [0, 20, 29], [0, 30, 39], [0, 40, 49]])], limits);
    const windows = plan.files.flatMap((file) => file.windows);
    expect(windows.map((w) => [w.from, w.to, w.rowGroups.length, w.bytes])).toEqual([
      [0, 19, 2, 200],
      [20, 39, 2, 200],
      [40, Number.MAX_SAFE_INTEGER, 1, 100],
    ]);
    expect(plan.windowsOverBudget).toBe(0);
  });

  it('keeps overlapping row groups (a replay, a compacted file and its late parts) in one window, even over budget', () => {
    const compacted = source([[0, 0, 99]]);
    const late = source([[0, 90, 120], [0, 121, 130]]);
    const plan = planMerge([compacted, late], { ...limits, memoryBytes: 150 });
    const windows = plan.files.flatMap((file) => file.windows);
    expect(windows.map((w) => w.rowGroups)).toEqual([
      [
        { source: 0, rowGroup: 0 },
        { source: 1, rowGroup: 0 },
      ],
      [{ source: 1, rowGroup: 1 }],
    ]);
    expect(plan.windowsOverBudget).toBe(1);
    expect(plan.ranges.get(0)).toEqual([[0, 130]]);
  });

  it('orders windows by partition and splits files at window boundaries with clipped footer ranges', () => {
    const plan = planMerge([source([[1, 0, 9], [0, 0, 9], [0, 10, 19]])], { memoryBytes: 100, maxFileBytes: 50 });
    expect(plan.files.map((file) => file.windows.map((w) => [w.partition, w.from, w.to]))).toEqual([
      [
        [0, 0, 9],
        [0, 10, Number.MAX_SAFE_INTEGER],
      ],
      [[1, 0, Number.MAX_SAFE_INTEGER]],
    ]);
    expect(plan.files.map((file) => Object.fromEntries(file.ranges))).toEqual([{ 0: [[0, 19]] }, { 1: [[0, 9]] }]);
  });

  it('attributes ranges over offsets without rows (transaction markers, compacted topics) to a window', () => {
    const withGap: SourceSummary = { ...source([[0, 0, 4]]), ranges: new Map([[0, [[0, 7]]], [3, [[5, 5]]]]) };
    const plan = planMerge([withGap], limits);
    expect(Object.fromEntries(plan.files[0].ranges)).toEqual({ 0: [[0, 7]], 3: [[5, 5]] });
  });
});
