import type { ColumnType } from '../../parquet/batch';
import { joinObserved } from '../topic-schema';
import { mergeRanges, mergePartitionRanges, subtractPartitionRanges, type OffsetRange, type PartitionRanges } from '../offset-range';

/**
 * The merge plan of one (topic, day): which columns the compacted file has, in which windows the
 * rows are merged so that memory stays bounded, and where the output is split into several files.
 * Pure: the compactor scans the sources (footers and the two Kafka columns, one row group at a
 * time), this decides, and the compactor executes window after window.
 *
 * A window is an offset span of one partition. Its rows are read from the row groups that hold
 * offsets of the partition in that span (and only those), sorted by offset and de-duplicated. Row
 * groups whose offset spans overlap always land in the same window, because no order can be
 * produced from one of them alone; apart from that, a window holds at most `memoryBytes` of
 * (uncompressed) row groups. A window is the unit of a file split too, so each output file's
 * footer ranges are known before it is written.
 *
 * Offsets the day's compacted files already hold (`held`) are left out: of the ranges, and of the
 * rows (the merge skips them).
 */

export interface SourceColumn {
  readonly name: string;
  /** null for a column that holds only nulls in this source: it takes the type of the others. */
  readonly type: ColumnType | null;
}

export interface PartitionSpan {
  readonly min: number;
  readonly max: number;
  readonly rows: number;
}

export interface RowGroupSummary {
  readonly rowGroup: number;
  readonly rows: number;
  /** Uncompressed size, what decoding the row group costs. */
  readonly bytes: number;
  readonly compressedBytes: number;
  readonly partitions: ReadonlyMap<number, PartitionSpan>;
}

export interface SourceSummary {
  readonly key: string;
  readonly columns: readonly SourceColumn[];
  /** The footer's `collector.offsets`. */
  readonly ranges: PartitionRanges;
  readonly rowGroups: readonly RowGroupSummary[];
}

export interface UnifiedColumn {
  readonly name: string;
  readonly type: ColumnType;
}

export interface RowGroupRef {
  readonly source: number;
  readonly rowGroup: number;
}

export interface MergeWindow {
  readonly partition: number;
  /** Inclusive offset span; rows outside it in the listed row groups belong to other windows. */
  readonly from: number;
  readonly to: number;
  readonly rowGroups: readonly RowGroupRef[];
  /** Uncompressed bytes of the row groups read for this window. */
  readonly bytes: number;
  readonly estimatedRows: number;
  readonly estimatedCompressedBytes: number;
}

export interface OutputFilePlan {
  readonly windows: readonly MergeWindow[];
  /** Footer ranges of this file: the sources' ranges clipped to its windows. */
  readonly ranges: ReadonlyMap<number, OffsetRange[]>;
}

export interface MergePlan {
  readonly columns: readonly UnifiedColumn[];
  readonly files: readonly OutputFilePlan[];
  /** Every source's ranges, merged, without the held ones. */
  readonly ranges: ReadonlyMap<number, OffsetRange[]>;
  /** Offsets already in the day's compacted files (merged per partition): their rows are not written again. */
  readonly held: PartitionRanges;
  /** Windows whose overlapping row groups alone exceed the memory budget (reported, still merged). */
  readonly windowsOverBudget: number;
}

export interface PlanLimits {
  /** Uncompressed row-group bytes one window may read. */
  readonly memoryBytes: number;
  /** Estimated compressed bytes after which the next window starts a new file. */
  readonly maxFileBytes: number;
}

/**
 * Columns in order of first appearance (sources in the order given: older files first), each with
 * the join of its types by parquet/schema.ts `widen`; a column that is null everywhere is text,
 * as in a single file.
 */
export function unifySchema(sources: ReadonlyArray<{ readonly columns: readonly SourceColumn[] }>): UnifiedColumn[] {
  const types = joinObserved(sources.map((source) => source.columns.map((column) => [column.name, column.type] as const)));
  return [...types].map(([name, type]) => ({ name, type: type ?? 'string' }));
}

export function planMerge(sources: readonly SourceSummary[], limits: PlanLimits, held: PartitionRanges = new Map()): MergePlan {
  const ranges = subtractPartitionRanges(mergePartitionRanges(sources.map((source) => source.ranges)), held);
  const partitions = new Set<number>(ranges.keys());
  for (const source of sources) for (const group of source.rowGroups) for (const partition of group.partitions.keys()) partitions.add(partition);
  const windows: MergeWindow[] = [];
  for (const partition of [...partitions].sort((a, b) => a - b)) windows.push(...partitionWindows(sources, partition, limits.memoryBytes));
  return {
    columns: unifySchema(sources),
    files: splitFiles(windows, ranges, limits.maxFileBytes),
    ranges,
    held,
    windowsOverBudget: windows.filter((window) => window.rowGroups.length > 1 && window.bytes > limits.memoryBytes).length,
  };
}


interface Piece {
  readonly ref: RowGroupRef;
  readonly min: number;
  readonly max: number;
  readonly bytes: number;
  readonly rows: number;
  readonly compressedBytes: number;
}

/** Overlapping pieces chained into components, components grouped into windows up to the budget. */
function partitionWindows(sources: readonly SourceSummary[], partition: number, memoryBytes: number): MergeWindow[] {
  const pieces = partitionPieces(sources, partition);
  if (pieces.length === 0) return [window(partition, 0, Number.MAX_SAFE_INTEGER, [])];
  const components: Piece[][] = [];
  let reach = -Infinity;
  for (const piece of pieces) {
    if (piece.min > reach) components.push([]);
    components[components.length - 1].push(piece);
    reach = Math.max(reach, piece.max);
  }
  const groups: Piece[][] = [];
  let bytes = 0;
  for (const component of components) {
    const componentBytes = sumOf(component, (piece) => piece.bytes);
    if (groups.length === 0 || bytes + componentBytes > memoryBytes) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1].push(...component);
    bytes += componentBytes;
  }
  // Each window reaches up to the next one, so ranges over offsets without rows (gaps) belong somewhere.
  return groups.map((group, i) => {
    const from = i === 0 ? 0 : group[0].min;
    const to = i === groups.length - 1 ? Number.MAX_SAFE_INTEGER : groups[i + 1][0].min - 1;
    return window(partition, from, to, group);
  });
}

function partitionPieces(sources: readonly SourceSummary[], partition: number): Piece[] {
  const pieces: Piece[] = [];
  sources.forEach((source, sourceIndex) => {
    for (const group of source.rowGroups) {
      const span = group.partitions.get(partition);
      if (span === undefined || span.rows === 0) continue;
      pieces.push({
        ref: { source: sourceIndex, rowGroup: group.rowGroup },
        min: span.min,
        max: span.max,
        bytes: group.bytes,
        rows: span.rows,
        compressedBytes: group.rows === 0 ? 0 : (group.compressedBytes * span.rows) / group.rows,
      });
    }
  });
  return pieces.sort((a, b) => a.min - b.min || a.ref.source - b.ref.source || a.ref.rowGroup - b.ref.rowGroup);
}

function window(partition: number, from: number, to: number, pieces: readonly Piece[]): MergeWindow {
  return {
    partition,
    from,
    to,
    rowGroups: pieces.map((piece) => piece.ref),
    bytes: sumOf(pieces, (piece) => piece.bytes),
    estimatedRows: sumOf(pieces, (piece) => piece.rows),
    estimatedCompressedBytes: Math.ceil(sumOf(pieces, (piece) => piece.compressedBytes)),
  };
}

function splitFiles(windows: readonly MergeWindow[], ranges: ReadonlyMap<number, OffsetRange[]>, maxFileBytes: number): OutputFilePlan[] {
  const groups: MergeWindow[][] = [];
  let bytes = 0;
  for (const current of windows) {
    if (groups.length === 0 || (bytes >= maxFileBytes && current.estimatedRows > 0)) {
      groups.push([]);
      bytes = 0;
    }
    groups[groups.length - 1].push(current);
    bytes += current.estimatedCompressedBytes;
  }
  return groups.map((group) => ({ windows: group, ranges: clipToWindows(ranges, group) }));
}

function clipToWindows(ranges: ReadonlyMap<number, OffsetRange[]>, windows: readonly MergeWindow[]): Map<number, OffsetRange[]> {
  const clipped = new Map<number, OffsetRange[]>();
  for (const { partition, from, to } of windows) {
    const inside = (ranges.get(partition) ?? [])
      .map(([first, last]): OffsetRange => [Math.max(first, from), Math.min(last, to)])
      .filter(([first, last]) => first <= last);
    if (inside.length > 0) clipped.set(partition, mergeRanges([...(clipped.get(partition) ?? []), ...inside]));
  }
  return clipped;
}

/** Sum of `value` over `items`. */
export function sumOf<T>(items: readonly T[], value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}
