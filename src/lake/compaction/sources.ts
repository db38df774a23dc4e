import { DataType, tableFromIPC, type Field, type Table, type Vector } from 'apache-arrow';
import type { ParquetFile } from 'parquet-wasm';
import type { CellValue, ColumnType } from '../../parquet/batch';
import { coerce, type RawValue } from '../../parquet/schema';
import { footerOf, withParquetFile } from '../footer';
import type { LakeStore } from '../store/lake-store';
import type { PartitionSpan, RowGroupSummary, SourceColumn, SourceSummary } from './plan';

/**
 * Reading the files a compaction merges: a summary of each (schema, footer ranges, and per row
 * group which offsets of which partition it holds, from the two Kafka columns only), then, window
 * by window, the rows of only the row groups a window needs.
 */

export const PARTITION_COLUMN = 'kafka_partition';
export const OFFSET_COLUMN = 'kafka_offset';

/** Reads one source's summary; memory: one row group's two Kafka columns at a time. */
export async function scanSource(store: LakeStore, key: string): Promise<SourceSummary> {
  return withParquetFile(store, key, async (file) => {
    const metadata = file.metadata();
    const columns = tableFromIPC(file.schema().intoIPCStream()).schema.fields.map(sourceColumn);
    const rowGroups: RowGroupSummary[] = [];
    for (let index = 0; index < metadata.numRowGroups(); index++) {
      const group = metadata.rowGroup(index);
      const table = await readRowGroups(file, [index], [PARTITION_COLUMN, OFFSET_COLUMN]);
      rowGroups.push({
        rowGroup: index,
        rows: group.numRows(),
        bytes: group.totalByteSize(),
        compressedBytes: group.compressedSize(),
        partitions: partitionSpans(table),
      });
    }
    return { key, columns, ranges: footerOf(file).ranges, rowGroups };
  });
}

async function readRowGroups(file: ParquetFile, rowGroups: number[], columns?: string[]): Promise<Table> {
  const wasmTable = await file.read({ rowGroups, columns });
  return tableFromIPC(wasmTable.intoIPCStream());
}

function partitionSpans(table: Table): Map<number, PartitionSpan> {
  const spans = new Map<number, { min: number; max: number; rows: number }>();
  const partitions = table.getChild(PARTITION_COLUMN);
  const offsets = table.getChild(OFFSET_COLUMN);
  if (partitions === null || offsets === null) return spans;
  for (let row = 0; row < table.numRows; row++) {
    const partition = Number(partitions.get(row));
    const offset = Number(offsets.get(row));
    const span = spans.get(partition);
    if (span === undefined) spans.set(partition, { min: offset, max: offset, rows: 1 });
    else {
      span.min = Math.min(span.min, offset);
      span.max = Math.max(span.max, offset);
      span.rows++;
    }
  }
  return spans;
}

/** The collector's column type of an Arrow field as parquet-wasm reads it back (Null: no type). */
export function columnTypeOf(type: DataType): ColumnType | null {
  if (DataType.isNull(type)) return null;
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isInt(type)) return 'int64';
  if (DataType.isFloat(type) || DataType.isDecimal(type)) return 'double';
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return 'timestamp_ms';
  if (DataType.isBinary(type) || DataType.isFixedSizeBinary(type)) return 'binary';
  return 'string';
}

function sourceColumn(field: Field): SourceColumn {
  return { name: field.name, type: columnTypeOf(field.type) };
}

/**
 * Which of `names` hold only nulls in the file, read one row group (and only those columns) at a
 * time, stopping at the first value of each: a file of an earlier collector typed a column of only
 * nulls as text (compaction/day-schema.ts).
 */
export async function nullOnlyColumns(store: LakeStore, key: string, names: readonly string[]): Promise<Set<string>> {
  return withParquetFile(store, key, async (file) => {
    const left = new Set(names);
    for (let index = 0; index < file.metadata().numRowGroups() && left.size > 0; index++) {
      const table = await readRowGroups(file, [index], [...left]);
      for (const name of [...left]) {
        const column = table.getChild(name);
        if (column !== null && column.nullCount < table.numRows) left.delete(name);
      }
    }
    return left;
  });
}

/** The rows of some row groups of a file, all columns. */
export async function readSourceRowGroups(store: LakeStore, key: string, rowGroups: number[]): Promise<Table> {
  return withParquetFile(store, key, (file) => readRowGroups(file, rowGroups));
}

/**
 * A cell as the buffer stage would have held it (a timestamp as a Date, so that widening it to text
 * gives the same ISO form as in a single file), coerced to the unified column type.
 */
export function unifiedCell(vector: Vector | null, row: number, type: ColumnType): CellValue {
  if (vector === null) return null;
  const value = vector.get(row) as RawValue;
  if (value === null || value === undefined) return null;
  const raw: RawValue = DataType.isTimestamp(vector.type) || DataType.isDate(vector.type) ? new Date(Number(value)) : value;
  return coerce(raw, type);
}
