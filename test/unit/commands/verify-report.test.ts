import { analyzePartition, formatRanges, reportFails } from '../../../src/commands/verify-report';

const offsets = (...values: number[]): Float64Array => Float64Array.from(values);

describe('analyzePartition', () => {
  it('finds ranges, gaps and duplicates in any order', () => {
    const report = analyzePartition('t', 0, offsets(5, 3, 4, 9, 10, 4, 12), null);
    expect(report).toMatchObject({ rows: 7, present: [[3, 5], [9, 10], [12, 12]], gaps: [[6, 8], [11, 11]], duplicates: 1, gapsOnBroker: null, behind: null });
    expect(reportFails(report)).toBe(true);
  });

  it('passes a contiguous partition and reports how far behind the broker it is', () => {
    const report = analyzePartition('t', 0, offsets(0, 1, 2, 3), { low: 0, high: 10 });
    expect(report).toMatchObject({ gaps: [], gapsOnBroker: [], duplicates: 0, behind: 6 });
    expect(reportFails(report)).toBe(false);
  });

  it('fails on a gap the broker still holds, not on one retention already deleted', () => {
    const kept = analyzePartition('t', 0, offsets(0, 1, 5, 6), { low: 0, high: 7 });
    expect(kept.gapsOnBroker).toEqual([[2, 4]]);
    expect(reportFails(kept)).toBe(true);
    const deleted = analyzePartition('t', 0, offsets(0, 1, 5, 6), { low: 5, high: 7 });
    expect(deleted.gapsOnBroker).toEqual([]);
    expect(reportFails(deleted)).toBe(false);
  });

  it('understands a trimmed topic: what the broker deleted below its low watermark is in the files, and no gap', () => {
    const trimmed = analyzePartition('t', 0, offsets(0, 1, 2, 3, 4, 5), { low: 6, high: 6 });
    expect(trimmed).toMatchObject({ gaps: [], gapsOnBroker: [], duplicates: 0, behind: 0 });
    expect(reportFails(trimmed)).toBe(false);
    // Trimmed, then more produced: behind, not missing.
    expect(analyzePartition('t', 0, offsets(0, 1, 2, 3), { low: 4, high: 9 })).toMatchObject({ gapsOnBroker: [], behind: 5 });
    // No file at all, everything trimmed: nothing missing, nothing behind.
    const empty = analyzePartition('t', 0, offsets(), { low: 7, high: 7 });
    expect(empty).toMatchObject({ gapsOnBroker: [], behind: 0 });
    expect(reportFails(empty)).toBe(false);
  });

  it('counts records the broker has before the first file offset as a gap', () => {
    expect(analyzePartition('t', 0, offsets(3, 4), { low: 0, high: 5 }).gapsOnBroker).toEqual([[0, 2]]);
  });
});

describe('formatRanges', () => {
  it('abbreviates', () => {
    expect(formatRanges([[1, 1], [3, 5]])).toBe('1,3-5');
    expect(formatRanges([])).toBe('-');
    expect(formatRanges([[1, 1], [3, 3], [5, 5]], 2)).toBe('1,3,…(+1)');
  });
});
