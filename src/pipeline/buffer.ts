import { isUtf8 } from 'node:buffer';
import type { ColumnData, ColumnType, SealedBatch } from '../parquet/batch';
import { widen, type RawValue } from '../parquet/schema';
import { ColumnBuilder } from './column-builder';
import { SourceText } from './flatten';
import type { OutputKind } from '../lake/layout';
import { footerMetadata, type FooterFields } from '../lake/footer';
import type { OffsetRange } from '../lake/offset-range';

/**
 * One columnar buffer per (topic, day, kind): values go straight into per-column builders (see
 * column-builder.ts), so no row objects are kept. The buffer also knows the offset ranges it holds per partition, which the
 * offset tracker needs (what may not be committed yet) and the footer records (what is on disk).
 *
 * Column name collisions (one rule, no value lost):
 * - the Kafka metadata columns always hold the metadata; a payload field with such a name is kept
 *   as `<name>__dup1` (then `__dup2`, …);
 * - between payload fields, the column with the plain name holds the value the seed would have
 *   kept there, the last one in payload order (so `data.symbol` wins over a top-level `symbol`
 *   listed before `data`), and each value it shadows is kept as `<name>__dup1`, `<name>__dup2`, …
 *   in payload order.
 */

export const METADATA_COLUMNS = ['kafka_topic', 'kafka_partition', 'kafka_offset', 'kafka_timestamp', 'kafka_key'] as const;
const RESERVED_NAMES: ReadonlySet<string> = new Set<string>([...METADATA_COLUMNS, 'kafka_key_bytes']);
/** The metadata columns are in every file, with these types even when all their values are null. */
const METADATA_TYPES: ReadonlyMap<string, ColumnType> = new Map<string, ColumnType>([
  ['kafka_topic', 'string'],
  ['kafka_partition', 'int64'],
  ['kafka_offset', 'int64'],
  ['kafka_timestamp', 'timestamp_ms'],
  ['kafka_key', 'string'],
]);

/** A column and the type it is written with. */
export interface TypedColumn {
  readonly name: string;
  readonly type: ColumnType;
}

export interface BufferKey {
  readonly topic: string;
  readonly day: number;
  readonly kind: OutputKind;
}

export interface RecordMetadata {
  readonly partition: number;
  readonly offset: number;
  /** Offset of the previous record of this partition the consumer saw (in any buffer), or -1. */
  readonly previousOffset: number;
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
}

const lenientUtf8 = new TextDecoder('utf-8');

export class RecordBuffer {
  readonly key: BufferKey;
  readonly createdAtMs: number;
  private readonly columns = new Map<string, ColumnBuilder>();
  private readonly partitionRanges = new Map<number, OffsetRange[]>();
  private readonly partitionOfRow: number[] = [];
  private rows = 0;
  private bytes = 0;
  private currentRow = -1;
  /** The last distinct, unreserved field names given to `setFields`, and their columns. */
  private shapeNames: readonly string[] = [];
  private shapeColumns: ColumnBuilder[] = [];
  // The metadata columns come first, in METADATA_COLUMNS order, and every row has them.
  private readonly topicColumn = this.column('kafka_topic');
  private readonly partitionColumn = this.column('kafka_partition');
  private readonly offsetColumn = this.column('kafka_offset');
  private readonly timestampColumn = this.column('kafka_timestamp');
  private readonly keyColumn = this.column('kafka_key');

  constructor(key: BufferKey, createdAtMs: number) {
    this.key = key;
    this.createdAtMs = createdAtMs;
  }

  get topic(): string {
    return this.key.topic;
  }

  get day(): number {
    return this.key.day;
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Rough in-memory size, for the byte threshold and the global memory budget. */
  get byteEstimate(): number {
    return this.bytes;
  }

  /** Lowest offset this buffer holds per partition: the commit must stay below it. */
  lowestOffsets(): Map<number, number> {
    const lowest = new Map<number, number>();
    for (const [partition, ranges] of this.partitionRanges) lowest.set(partition, ranges[0][0]);
    return lowest;
  }

  offsetRanges(): ReadonlyMap<number, readonly OffsetRange[]> {
    return this.partitionRanges;
  }

  /** Starts a row with the Kafka metadata columns; payload fields follow with `setField`. */
  beginRow(record: RecordMetadata): void {
    const row = this.rows++;
    this.currentRow = row;
    this.partitionOfRow.push(record.partition);
    this.trackOffset(record);
    // Numbers with their known type, instead of a Date per row for the timestamp.
    this.topicColumn.append(row, this.key.topic);
    this.partitionColumn.appendNumber(row, record.partition, 'int64');
    this.offsetColumn.appendNumber(row, record.offset, 'int64');
    if (record.timestampMs >= 0) this.timestampColumn.appendNumber(row, record.timestampMs, 'timestamp_ms');
    else this.timestampColumn.append(row, null);
    this.bytes += 64;
    const { key } = record;
    if (key === null) {
      this.append(this.keyColumn, null);
    } else if (isUtf8(key)) {
      this.keyColumn.appendUtf8(row, key, 0, key.length);
      this.bytes += 16 + key.length * 2;
    } else {
      // Keys that are not UTF-8 keep a readable form in kafka_key and their exact bytes beside it.
      this.append(this.keyColumn, lenientUtf8.decode(key));
      this.put('kafka_key_bytes', key);
    }
  }

  /** Adds one payload field to the current row, resolving name collisions (see the module doc). */
  setField(name: string, value: RawValue | SourceText): void {
    if (RESERVED_NAMES.has(name)) {
      this.putShadowed(name, value);
      return;
    }
    const column = this.columns.get(name);
    if (column === undefined) {
      this.put(name, value);
      return;
    }
    if (column.lastRow !== this.currentRow) {
      this.append(column, value);
      return;
    }
    const shadowed = column.replaceLast(value);
    this.bytes += estimateBytes(value);
    this.putShadowed(name, shadowed);
  }

  /**
   * Adds a row's payload fields, in payload order, as `setField` would one by one. Rows of one
   * topic mostly repeat their names: when distinct and not reserved, no name can collide, so rows
   * of the same names go straight to the columns found for the first of them.
   */
  setFields(names: readonly string[], values: ReadonlyArray<RawValue | SourceText>): void {
    if (!sameNames(this.shapeNames, names)) {
      if (!this.adoptShape(names)) {
        for (let i = 0; i < names.length; i++) this.setField(names[i], values[i]);
        return;
      }
    }
    const columns = this.shapeColumns;
    for (let i = 0; i < columns.length; i++) this.append(columns[i], values[i]);
  }

  private adoptShape(names: readonly string[]): boolean {
    if (new Set(names).size !== names.length || names.some((name) => RESERVED_NAMES.has(name))) return false;
    this.shapeColumns = names.map((name) => this.column(name));
    this.shapeNames = names.slice();
    return true;
  }

  private putShadowed(name: string, value: RawValue | SourceText): void {
    for (let n = 1; ; n++) {
      const candidate = `${name}__dup${n}`;
      const column = this.columns.get(candidate);
      if (column === undefined || column.lastRow !== this.currentRow) {
        this.put(candidate, value);
        return;
      }
    }
  }

  private column(name: string): ColumnBuilder {
    let column = this.columns.get(name);
    if (column === undefined) {
      column = new ColumnBuilder();
      this.columns.set(name, column);
    }
    return column;
  }

  private put(name: string, value: RawValue | SourceText): void {
    this.append(this.column(name), value);
  }

  private append(column: ColumnBuilder, value: RawValue | SourceText): void {
    column.append(this.currentRow, value);
    this.bytes += estimateBytes(value);
  }

  private trackOffset(record: RecordMetadata): void {
    let ranges = this.partitionRanges.get(record.partition);
    if (ranges === undefined) {
      ranges = [];
      this.partitionRanges.set(record.partition, ranges);
    }
    const last = ranges.length > 0 ? ranges[ranges.length - 1] : undefined;
    // A range grows over gaps (compaction, transaction markers) as long as no record of the
    // partition went to another buffer in between: then the range still means "all of it is here".
    if (last !== undefined && last[1] === record.previousOffset) last[1] = record.offset;
    else ranges.push([record.offset, record.offset]);
  }

  /** Each column's type so far, in column order; null for a payload column that has held only nulls. */
  columnTypes(): Map<string, ColumnType | null> {
    const types = new Map<string, ColumnType | null>();
    for (const [name, column] of this.columns) types.set(name, column.type ?? METADATA_TYPES.get(name) ?? null);
    return types;
  }

  /**
   * The buffer's content as columns ordered by partition then offset, with the footer metadata
   * (its offset ranges added). `known` (the topic's schema) comes first, in its order and with its
   * types, a column this buffer lacks as nulls; then the buffer's other columns with their own
   * types. A column that held only nulls and is not known has no type to be written with, and is
   * left out: a reader sees nulls for it all the same.
   */
  seal(footer: Omit<FooterFields, 'offsets'>, known: readonly TypedColumn[] = []): SealedBatch {
    const runs = partitionRuns(this.partitionOfRow) ?? Uint32Array.of(0, this.rows);
    const columns: ColumnData[] = [];
    for (const { name, type } of known) {
      const column = this.columns.get(name);
      if (column === undefined) {
        columns.push({ name, type, values: new Array<null>(this.rows).fill(null) });
        continue;
      }
      // The schema covers the column's type; the join only guards against a caller that broke that.
      columns.push(column.seal(name, this.rows, runs, column.type === null ? type : widen(type, column.type)));
      this.columns.delete(name);
    }
    for (const [name, column] of this.columns) {
      const type = column.type ?? METADATA_TYPES.get(name);
      if (type !== undefined) columns.push(column.seal(name, this.rows, runs, type));
    }
    // The sealed batch owns the values now: drop the builders so an in-flight buffer only keeps
    // what the offset tracker needs (its offset ranges and byte estimate).
    this.columns.clear();
    this.partitionOfRow.length = 0;
    return { rowCount: this.rows, columns, metadata: footerMetadata({ ...footer, offsets: this.partitionRanges }) };
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Row order by partition, stable within a partition (which is offset order), as runs of
 * consecutive rows: pairs of (first row, row count) in output order. Records arrive partition by
 * partition in fetched batches, so runs are long and columns are reordered a run at a time.
 * Null when the rows are in order already.
 */
export function partitionRuns(partitionOfRow: readonly number[]): Uint32Array | null {
  let ordered = true;
  for (let i = 1; i < partitionOfRow.length && ordered; i++) ordered = partitionOfRow[i - 1] <= partitionOfRow[i];
  if (ordered) return null;
  const runs: Array<{ partition: number; start: number; count: number }> = [];
  for (let row = 0; row < partitionOfRow.length; row++) {
    const last = runs.length > 0 ? runs[runs.length - 1] : undefined;
    if (last !== undefined && last.partition === partitionOfRow[row]) last.count++;
    else runs.push({ partition: partitionOfRow[row], start: row, count: 1 });
  }
  // Array.prototype.sort is stable: runs of a partition keep their order.
  runs.sort((a, b) => a.partition - b.partition);
  const pairs = new Uint32Array(runs.length * 2);
  runs.forEach((run, index) => {
    pairs[2 * index] = run.start;
    pairs[2 * index + 1] = run.count;
  });
  return pairs;
}

function estimateBytes(value: RawValue | SourceText): number {
  if (value === null || value === undefined) return 1;
  if (value instanceof SourceText) return 16 + (value.end - value.start) * 2;
  if (typeof value === 'string') return 16 + value.length * 2;
  if (value instanceof Uint8Array) return 16 + value.byteLength;
  return 16;
}

