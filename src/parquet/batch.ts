/**
 * The hand-over between the buffer stage and the Parquet encoder: one sealed (topic, day) buffer
 * as columns, each either plain values or already in Arrow's layout.
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
  /** The column already in Arrow's layout (the buffer built it so): the encoder takes it as it is. */
  readonly prepared?: PreparedColumn;
}

/** Arrow's validity bitmap (1 = present), null when no value is missing. */
export interface Validity {
  readonly bits: Uint8Array | null;
  readonly nullCount: number;
}

export type PreparedColumn =
  /** int64, timestamp_ms (safe integers) or double, as doubles; 0 where missing. */
  | { readonly kind: 'numbers'; readonly data: Float64Array; readonly validity: Validity }
  | { readonly kind: 'utf8'; readonly data: Uint8Array; readonly valueOffsets: Int32Array; readonly validity: Validity };

/** Rows of a column, without turning a prepared one into values. */
export function columnLength(column: ColumnData): number {
  return column.prepared === undefined ? column.values.length : preparedLength(column.prepared);
}

function preparedLength(prepared: PreparedColumn): number {
  return prepared.kind === 'numbers' ? prepared.data.length : prepared.valueOffsets.length - 1;
}

const utf8 = new TextDecoder();

function isPresent(validity: Validity, row: number): boolean {
  return validity.bits === null || (validity.bits[row >> 3] & (1 << (row & 7))) !== 0;
}

/** A prepared column whose `values` are made only when something asks for them (a rare path). */
class PreparedColumnData implements ColumnData {
  private cells: CellValue[] | null = null;

  constructor(
    readonly name: string,
    readonly type: ColumnType,
    readonly prepared: PreparedColumn,
  ) {}

  get values(): CellValue[] {
    this.cells ??= preparedCells(this.prepared);
    return this.cells;
  }
}

function preparedCells(prepared: PreparedColumn): CellValue[] {
  const rows = preparedLength(prepared);
  const cells = new Array<CellValue>(rows);
  for (let row = 0; row < rows; row++) {
    if (!isPresent(prepared.validity, row)) cells[row] = null;
    else if (prepared.kind === 'numbers') cells[row] = prepared.data[row];
    else cells[row] = utf8.decode(prepared.data.subarray(prepared.valueOffsets[row], prepared.valueOffsets[row + 1]));
  }
  return cells;
}

export function prepareNumbers(name: string, type: ColumnType, data: Float64Array, validity: Validity): ColumnData {
  return new PreparedColumnData(name, type, { kind: 'numbers', data, validity });
}

export function prepareUtf8(name: string, data: Uint8Array, valueOffsets: Int32Array, validity: Validity): ColumnData {
  return new PreparedColumnData(name, 'string', { kind: 'utf8', data, valueOffsets, validity });
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
