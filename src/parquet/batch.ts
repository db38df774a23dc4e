/**
 * The hand-over between the buffer stage and the Parquet encoder: one sealed (topic, day) buffer
 * as plain columns, so it can cross a worker-thread boundary by structured clone.
 */

/** Parquet physical/logical type chosen for a column after widening. */
export type ColumnType = 'boolean' | 'int64' | 'double' | 'string' | 'binary' | 'timestamp_ms';

/** A value a column cell may hold; null marks a missing value. */
export type CellValue = boolean | number | bigint | string | Uint8Array | null;

export interface ColumnData {
  readonly name: string;
  readonly type: ColumnType;
  /** One entry per row, already coerced to `type` (see parquet/schema.ts); null where absent. */
  readonly values: CellValue[];
}

export interface SealedBatch {
  readonly rowCount: number;
  readonly columns: readonly ColumnData[];
  /** Written to the Parquet footer as key-value metadata. */
  readonly metadata: Readonly<Record<string, string>>;
}

export type Compression = 'zstd' | 'snappy' | 'gzip' | 'lz4' | 'brotli' | 'none';

export interface EncodeOptions {
  readonly compression: Compression;
  /** Rows per row group; a batch larger than this spans several row groups. */
  readonly rowGroupSize: number;
}

/** Name and type of each column of a batch, in order (sent to the encoder worker beside the data). */
export type ColumnLayout = ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>;

/** The given rows of a batch (in that order), with other footer metadata. */
export function selectRows(batch: SealedBatch, rows: readonly number[], metadata: Readonly<Record<string, string>>): SealedBatch {
  return {
    rowCount: rows.length,
    columns: batch.columns.map(({ name, type, values }) => ({ name, type, values: rows.map((row) => values[row]) })),
    metadata,
  };
}
