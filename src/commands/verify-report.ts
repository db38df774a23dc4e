import type { Watermarks } from '../kafka/consumer-port';
import type { OffsetRange } from '../lake/offset-range';

/**
 * What the published files of one partition hold, against what the broker still has: ranges
 * present, holes between them (gaps), offsets present more than once, and how far behind the
 * broker's end the files are. Pure: the command reads files and the broker, this judges.
 */

export interface PartitionReport {
  readonly topic: string;
  readonly partition: number;
  readonly rows: number;
  readonly present: OffsetRange[];
  /** Holes between the first and last offset present (and before the first, when the broker still has it). */
  readonly gaps: OffsetRange[];
  /** Gaps the broker still holds: data that exists but is in no file. Only known with watermarks. */
  readonly gapsOnBroker: OffsetRange[] | null;
  readonly duplicates: number;
  /** Offsets the broker has past the last one in the files (not an error: not collected yet). */
  readonly behind: number | null;
  readonly watermarks: Watermarks | null;
}

/** Judges one partition's offsets (any order); `watermarks` null when the broker was not asked. */
export function analyzePartition(topic: string, partition: number, offsets: Float64Array, watermarks: Watermarks | null): PartitionReport {
  const sorted = Float64Array.from(offsets).sort();
  const present: OffsetRange[] = [];
  let duplicates = 0;
  for (let i = 0; i < sorted.length; i++) {
    const offset = sorted[i];
    const last = present[present.length - 1];
    if (last !== undefined && offset === last[1]) duplicates++;
    else if (last !== undefined && offset === last[1] + 1) last[1] = offset;
    else present.push([offset, offset]);
  }
  const gaps: OffsetRange[] = [];
  for (let i = 1; i < present.length; i++) gaps.push([present[i - 1][1] + 1, present[i][0] - 1]);
  if (watermarks !== null && present.length > 0 && watermarks.low < present[0][0]) gaps.unshift([watermarks.low, present[0][0] - 1]);
  const gapsOnBroker = watermarks === null ? null : clipRanges(gaps, watermarks.low, watermarks.high - 1);
  const lastPresent = present.length > 0 ? present[present.length - 1][1] : watermarks === null ? -1 : watermarks.low - 1;
  const behind = watermarks === null ? null : Math.max(0, watermarks.high - 1 - lastPresent);
  return { topic, partition, rows: sorted.length, present, gaps, gapsOnBroker, duplicates, behind, watermarks };
}

function clipRanges(ranges: readonly OffsetRange[], low: number, high: number): OffsetRange[] {
  return ranges
    .map(([first, last]): OffsetRange => [Math.max(first, low), Math.min(last, high)])
    .filter(([first, last]) => first <= last);
}

/** A report fails on any duplicate, and on any gap the broker still holds. */
export function reportFails(report: PartitionReport): boolean {
  return report.duplicates > 0 || (report.gapsOnBroker?.length ?? 0) > 0;
}

export function formatRanges(ranges: readonly OffsetRange[], max = 6): string {
  if (ranges.length === 0) return '-';
  const shown = ranges.slice(0, max).map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`));
  return ranges.length > max ? `${shown.join(',')},…(+${ranges.length - max})` : shown.join(',');
}
