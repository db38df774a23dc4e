/**
 * Offset ranges: how a file says which records of each partition it holds. A range [first, last]
 * means every record of the partition the consumer saw from first to last is in the file (gaps in
 * the offsets are records that do not exist: compaction, transaction markers).
 */

export type OffsetRange = [first: number, last: number];

/** Per partition, its sorted ranges. */
export type PartitionRanges = ReadonlyMap<number, readonly OffsetRange[]>;

/** Footer form of the ranges: {"<partition>": [[first, last], …]}, partitions in order. */
export function serializeRanges(ranges: PartitionRanges): string {
  const object: Record<string, readonly OffsetRange[]> = {};
  for (const partition of [...ranges.keys()].sort((a, b) => a - b)) object[String(partition)] = ranges.get(partition) ?? [];
  return JSON.stringify(object);
}

/** Parses the footer form; malformed entries are dropped. */
export function parseOffsetRanges(json: string): Map<number, OffsetRange[]> {
  const ranges = new Map<number, OffsetRange[]>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return ranges;
  }
  if (typeof parsed !== 'object' || parsed === null) return ranges;
  for (const [partition, list] of Object.entries(parsed)) {
    if (!Array.isArray(list)) continue;
    const valid = list.filter(
      (range): range is OffsetRange => Array.isArray(range) && range.length === 2 && Number.isSafeInteger(range[0]) && Number.isSafeInteger(range[1]) && range[0] <= range[1],
    );
    if (valid.length > 0 && /^\d+$/.test(partition)) ranges.set(Number(partition), valid);
  }
  return ranges;
}

/** Sorted, merged ranges clipped to offsets at or past `from`. */
export function mergeRanges(ranges: readonly OffsetRange[], from = 0): OffsetRange[] {
  const relevant = ranges.filter(([, last]) => last >= from).map(([first, last]): OffsetRange => [Math.max(first, from), last]);
  relevant.sort((a, b) => a[0] - b[0]);
  const merged: OffsetRange[] = [];
  for (const range of relevant) {
    const previous = merged[merged.length - 1];
    if (previous !== undefined && range[0] <= previous[1] + 1) previous[1] = Math.max(previous[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  return merged;
}

/** `ranges` (sorted) without the given offsets: each removed offset splits the range holding it. */
export function removeOffsets(ranges: readonly OffsetRange[], removed: ReadonlySet<number>): OffsetRange[] {
  const result: OffsetRange[] = [];
  const sortedRemoved = [...removed].sort((a, b) => a - b);
  for (const [first, last] of ranges) {
    let start = first;
    for (const offset of sortedRemoved) {
      if (offset < start || offset > last) continue;
      if (offset > start) result.push([start, offset - 1]);
      start = offset + 1;
    }
    if (start <= last) result.push([start, last]);
  }
  return result;
}

/** The offsets of `ranges` (merged) that `removed` (merged) does not hold. */
export function subtractRanges(ranges: readonly OffsetRange[], removed: readonly OffsetRange[]): OffsetRange[] {
  const result: OffsetRange[] = [];
  for (const [first, last] of ranges) {
    let start = first;
    for (const [from, to] of removed) {
      if (to < start || from > last) continue;
      if (from > start) result.push([start, from - 1]);
      start = Math.max(start, to + 1);
    }
    if (start <= last) result.push([start, last]);
  }
  return result;
}

/** The ranges of several files merged per partition, partitions in order. */
export function mergePartitionRanges(files: Iterable<PartitionRanges>): Map<number, OffsetRange[]> {
  const all = new Map<number, OffsetRange[]>();
  for (const ranges of files) for (const [partition, list] of ranges) all.set(partition, [...(all.get(partition) ?? []), ...list]);
  return new Map([...all].sort((a, b) => a[0] - b[0]).map(([partition, list]) => [partition, mergeRanges(list)]));
}

/** Per partition, the offsets of `ranges` (merged) that `removed` (merged) does not hold; a partition left with none is left out. */
export function subtractPartitionRanges(ranges: PartitionRanges, removed: PartitionRanges): Map<number, OffsetRange[]> {
  const left = new Map<number, OffsetRange[]>();
  for (const [partition, list] of ranges) {
    const remaining = subtractRanges(list, removed.get(partition) ?? []);
    if (remaining.length > 0) left.set(partition, remaining);
  }
  return left;
}

/** Whether `offset` lies in one of the sorted, merged `ranges`. */
export function holdsOffset(ranges: readonly OffsetRange[], offset: number): boolean {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [first, last] = ranges[middle];
    if (offset < first) high = middle - 1;
    else if (offset > last) low = middle + 1;
    else return true;
  }
  return false;
}
