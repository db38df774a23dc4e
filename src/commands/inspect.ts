import { DataType, tableFromIPC, type Vector } from 'apache-arrow';
import type { ColumnType } from '../parquet/batch';
import { findDayFiles, listTopicDays, type LakeFile, type TopicDay } from '../lake/files';
import { footerOf, withParquetFile } from '../lake/footer';
import { locationOf, type Lake } from '../lake/lake';
import { isoDate } from '../lake/layout';
import { mergeRanges, type OffsetRange } from '../lake/offset-range';
import { unifySchema, type SourceColumn } from '../lake/compaction/plan';
import { columnTypeOf, readSourceRowGroups } from '../lake/compaction/sources';
import { TopicSchemas, type TopicSchema } from '../lake/topic-schema';

/**
 * `inspect`: what the lake holds. Without a day, the days and topics present with their files and
 * row counts (footers only, fast on any lake). For a day, per topic: files (compacted or parts),
 * rows, columns with types and null counts, offset ranges per partition and the gaps between
 * them (from the footers), min/max/mean of numeric columns and the first rows. parquet-wasm does
 * not expose the Parquet column statistics, so null counts and numeric summaries are computed by
 * reading the day's row groups, one at a time. With `--schema`, each topic's schema in the lake
 * and every widening that made it (lake/topic-schema.ts).
 */

export interface InspectOptions {
  readonly lake: Lake;
  /** A day to describe in full; every day listed in short when absent. */
  readonly day?: number;
  readonly topics: readonly string[];
  readonly firstRows: number;
}

export interface FileEntry {
  /** Where the file is: a path, or an object's URL. */
  readonly path: string;
  /** Its key in the lake. */
  readonly key: string;
  readonly form: LakeFile['form'];
  readonly rows: number;
  readonly bytes: number;
}

export interface ColumnEntry {
  readonly name: string;
  readonly type: ColumnType;
  readonly nulls: number;
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly ranges: OffsetRange[];
  readonly gaps: OffsetRange[];
}

export interface TopicDayReport extends TopicDay {
  readonly date: string;
  /** compacted: only compacted files; open: only parts; mixed: late parts beside compacted files. */
  readonly state: 'compacted' | 'open' | 'mixed';
  readonly files: FileEntry[];
  readonly rows: number;
  readonly offsets: PartitionOffsets[];
  /** Only for a day asked for. */
  readonly columns?: ColumnEntry[];
  readonly firstRows?: Array<Record<string, JsonCell>>;
}

export type JsonCell = string | number | boolean | null;

export interface InspectResult {
  readonly days: string[];
  readonly topics: string[];
  readonly entries: TopicDayReport[];
}

export async function inspectLake(options: InspectOptions): Promise<InspectResult> {
  const all = await listTopicDays(options.lake);
  const selected = all.filter((entry) => (options.topics.length === 0 || options.topics.includes(entry.topic)) && (options.day === undefined || entry.day === options.day));
  const entries: TopicDayReport[] = [];
  for (const target of selected) entries.push(await describeTopicDay(options, target));
  return {
    days: [...new Set(all.map((entry) => entry.day))].sort((a, b) => a - b).map(isoDate),
    topics: [...new Set(all.map((entry) => entry.topic))].sort(),
    entries,
  };
}

export interface TopicSchemaReport {
  readonly topic: string;
  /** Oldest first; the last is the schema files are written with. Empty: the topic has none yet. */
  readonly versions: readonly TopicSchema[];
}

/** The schema of each topic (the given ones, else every topic with data in the lake), with its history. */
export async function inspectSchemas(lake: Lake, topics: readonly string[], nowMs: number): Promise<TopicSchemaReport[]> {
  const names = topics.length > 0 ? topics : [...new Set((await listTopicDays(lake)).filter((entry) => entry.kind === 'data').map((entry) => entry.topic))].sort();
  const schemas = new TopicSchemas({ lake, instanceId: 'inspect', now: () => nowMs });
  const reports: TopicSchemaReport[] = [];
  for (const topic of names) reports.push({ topic, versions: await schemas.history(topic) });
  return reports;
}

interface FileFacts {
  readonly entry: FileEntry;
  readonly columns: SourceColumn[];
  readonly ranges: ReadonlyMap<number, readonly OffsetRange[]>;
  readonly rowGroups: number;
}

async function readFacts(lake: Lake, file: LakeFile): Promise<FileFacts> {
  return withParquetFile(lake.store, file.key, (parquet) => {
    const footer = footerOf(parquet);
    const fields = tableFromIPC(parquet.schema().intoIPCStream()).schema.fields;
    return {
      entry: { path: locationOf(lake, file.key), key: file.key, form: file.form, rows: footer.rows, bytes: file.bytes },
      columns: fields.map((field) => ({ name: field.name, type: columnTypeOf(field.type) })),
      ranges: footer.ranges,
      rowGroups: parquet.metadata().numRowGroups(),
    };
  });
}

async function describeTopicDay(options: InspectOptions, target: TopicDay): Promise<TopicDayReport> {
  const found = await findDayFiles(options.lake, target);
  const files = [...found.compacted, ...found.parts];
  const facts: FileFacts[] = [];
  for (const file of files) facts.push(await readFacts(options.lake, file));
  const state = found.parts.length === 0 ? 'compacted' : found.compacted.length === 0 ? 'open' : 'mixed';
  const report: TopicDayReport = {
    ...target,
    date: isoDate(target.day),
    state,
    files: facts.map((fact) => fact.entry),
    rows: facts.reduce((total, fact) => total + fact.entry.rows, 0),
    offsets: partitionOffsets(facts.map((fact) => fact.ranges)),
  };
  if (options.day === undefined) return report;
  const columns = unifySchema(facts);
  return { ...report, ...(await columnDetails(options.lake, facts, columns, options.firstRows)) };
}

/** Merged ranges per partition and the holes between them. */
export function partitionOffsets(rangesOfFiles: ReadonlyArray<ReadonlyMap<number, readonly OffsetRange[]>>): PartitionOffsets[] {
  const all = new Map<number, OffsetRange[]>();
  for (const ranges of rangesOfFiles) for (const [partition, list] of ranges) all.set(partition, [...(all.get(partition) ?? []), ...list]);
  return [...all]
    .sort((a, b) => a[0] - b[0])
    .map(([partition, list]) => {
      const ranges = mergeRanges(list);
      const gaps: OffsetRange[] = [];
      for (let i = 1; i < ranges.length; i++) gaps.push([ranges[i - 1][1] + 1, ranges[i][0] - 1]);
      return { partition, ranges, gaps };
    });
}

interface Accumulator {
  nulls: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

const NUMERIC: ReadonlySet<ColumnType> = new Set(['int64', 'double']);

async function columnDetails(
  lake: Lake,
  facts: readonly FileFacts[],
  columns: ReadonlyArray<{ name: string; type: ColumnType }>,
  firstRows: number,
): Promise<{ columns: ColumnEntry[]; firstRows: Array<Record<string, JsonCell>> }> {
  const stats = new Map<string, Accumulator>(columns.map(({ name }) => [name, { nulls: 0, count: 0, sum: 0, min: Infinity, max: -Infinity }]));
  const rows: Array<Record<string, JsonCell>> = [];
  for (const fact of facts) {
    for (let rowGroup = 0; rowGroup < fact.rowGroups; rowGroup++) {
      const table = await readSourceRowGroups(lake.store, fact.entry.key, [rowGroup]);
      for (const { name, type } of columns) {
        const vector = table.getChild(name);
        const accumulator = stats.get(name) as Accumulator;
        if (vector === null) accumulator.nulls += table.numRows;
        else accumulate(accumulator, vector, NUMERIC.has(type));
      }
      for (let row = 0; row < table.numRows && rows.length < firstRows; row++) {
        rows.push(Object.fromEntries(columns.map(({ name }) => [name, cellAt(table.getChild(name), row)])));
      }
    }
  }
  return {
    columns: columns.map(({ name, type }) => {
      const { nulls, count, sum, min, max } = stats.get(name) as Accumulator;
      return NUMERIC.has(type) && count > 0 ? { name, type, nulls, min, max, mean: sum / count } : { name, type, nulls };
    }),
    firstRows: rows,
  };
}

function accumulate(accumulator: Accumulator, vector: Vector, numeric: boolean): void {
  accumulator.nulls += vector.nullCount;
  if (!numeric) return;
  for (let row = 0; row < vector.length; row++) {
    const value: unknown = vector.get(row);
    if (value === null || value === undefined) continue;
    const number = Number(value);
    accumulator.count++;
    accumulator.sum += number;
    if (number < accumulator.min) accumulator.min = number;
    if (number > accumulator.max) accumulator.max = number;
  }
}

function cellAt(vector: Vector | null, row: number): JsonCell {
  if (vector === null) return null;
  const value: unknown = vector.get(row);
  return jsonCell(DataType.isTimestamp(vector.type) && value !== null ? new Date(Number(value)) : value);
}

/** A cell as JSON can carry it: big integers and bytes as text, instants as ISO text. */
export function jsonCell(value: unknown): JsonCell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
