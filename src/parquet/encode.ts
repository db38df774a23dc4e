/**
 * Sealed batch → Parquet bytes, in two pure, synchronous halves:
 *
 * 1. `batchToIpc`: validates the batch and builds Arrow vectors straight from typed arrays (no
 *    per-cell Arrow builder calls), serialized as one Arrow IPC stream;
 * 2. `ipcToParquet`: parquet-wasm (the Rust `parquet` crate's Arrow writer) turns the stream into
 *    a Parquet file.
 *
 * `EncoderPool` runs the first half on the calling thread and the second in a worker, because one
 * IPC buffer crosses threads by transfer while the batch's JS arrays would have to be cloned.
 */
import { endianness } from 'node:os';
import {
  Binary,
  Bool,
  Field,
  Float64,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  Utf8,
  makeData,
  tableToIPC,
  type Data,
  type DataType,
} from 'apache-arrow';
// Under Node, the package's "node" export condition resolves this to its synchronous CommonJS
// build (the wasm module is instantiated on require); no init call is needed.
import {
  Compression as WasmCompression,
  EnabledStatistics,
  Encoding,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
  type WriterProperties,
} from 'parquet-wasm';
import { columnLength, type CellValue, type ColumnData, type ColumnLayout, type ColumnType, type Compression, type EncodeOptions, type PreparedColumn, type SealedBatch } from './batch';
import { CollectorError, describeError } from '../errors';

/** Readers see `kafka_timestamp`-like columns as instants (TIMESTAMP WITH TIME ZONE in DuckDB). */
export const TIMESTAMP_TIME_ZONE = 'UTC';

/** Offsets of Utf8/Binary vectors are int32. */
const MAX_VARIABLE_BYTES = 0x7fffffff;

/** Joining a column into one string stays well under V8's string length limit (~2^29). */
const MAX_JOIN_CHARS = 1 << 28;

const WASM_COMPRESSION: Readonly<Record<Compression, WasmCompression>> = {
  zstd: WasmCompression.ZSTD,
  snappy: WasmCompression.SNAPPY,
  gzip: WasmCompression.GZIP,
  // LZ4 (the Hadoop framing) is deprecated in the Parquet format; LZ4_RAW is what readers expect.
  lz4: WasmCompression.LZ4_RAW,
  brotli: WasmCompression.BROTLI,
  none: WasmCompression.UNCOMPRESSED,
};

export function encodeParquet(batch: SealedBatch, options: EncodeOptions): Uint8Array {
  validateEncodeOptions(options);
  return ipcToParquet(batchToIpc(batch), batch.metadata, options, columnLayout(batch));
}

/** Name and type of each column: what the writer needs to choose per-column encodings. */
export function columnLayout(batch: SealedBatch): ColumnLayout {
  return batch.columns.map(({ name, type }) => ({ name, type }));
}

/** The batch as an Arrow IPC stream (one record batch); throws `INVALID_BATCH`. */
export function batchToIpc(batch: SealedBatch): Uint8Array {
  try {
    return tableToIPC(batchToArrowTable(batch), 'stream');
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    throw new CollectorError('ENCODE_FAILED', `apache-arrow failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** The Arrow table for a batch; validates the batch and throws `INVALID_BATCH` where it breaks. */
export function batchToArrowTable(batch: SealedBatch): Table {
  validateShape(batch);
  const fields = batch.columns.map((column) => new Field(column.name, arrowType(column.type), true));
  const children = batch.columns.map((column) => columnToData(column, batch.rowCount));
  const schema = new Schema(fields);
  const struct = makeData({
    type: new Struct(fields),
    length: batch.rowCount,
    nullCount: 0,
    children,
  });
  return new Table(schema, new RecordBatch(schema, struct));
}

/** Parquet bytes for an Arrow IPC stream; `metadata` goes to the footer's key-value metadata. */
export function ipcToParquet(
  ipc: Uint8Array,
  metadata: Readonly<Record<string, string>>,
  options: EncodeOptions,
  columns: ColumnLayout,
): Uint8Array {
  validateEncodeOptions(options);
  let properties: WriterProperties | undefined;
  try {
    properties = writerProperties(metadata, options, columns);
    const table = WasmTable.fromIPCStream(ipc);
    // writeParquet takes ownership of both wasm objects and frees them, even when it throws.
    const owned = properties;
    properties = undefined;
    return writeParquet(table, owned);
  } catch (error) {
    properties?.free();
    throw new CollectorError('ENCODE_FAILED', `parquet-wasm failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/**
 * Dictionary encoding for text and bytes (symbols, exchanges, keys repeat), delta encoding for
 * integers and timestamps (offsets and times grow steadily): on the seed's rows this roughly
 * halves the file against dictionary-everything, and encodes faster.
 */
export function writerProperties(
  metadata: Readonly<Record<string, string>>,
  options: EncodeOptions,
  columns: ColumnLayout,
): WriterProperties {
  let builder = new WriterPropertiesBuilder()
    .setCompression(WASM_COMPRESSION[options.compression])
    .setDictionaryEnabled(false)
    // Page-level statistics include chunk-level ones and add the page index readers prune with.
    .setStatisticsEnabled(EnabledStatistics.Page)
    .setMaxRowGroupSize(options.rowGroupSize)
    .setKeyValueMetadata(new Map(Object.entries(metadata)));
  for (const { name, type } of columns) {
    if (type === 'string' || type === 'binary') builder = builder.setColumnDictionaryEnabled(name, true);
    else if (type === 'int64' || type === 'timestamp_ms') builder = builder.setColumnEncoding(name, Encoding.DELTA_BINARY_PACKED);
  }
  return builder.build();
}

/** Throws `INVALID_BATCH` for options the writer cannot honour. */
export function validateEncodeOptions(options: EncodeOptions): void {
  if (!Object.hasOwn(WASM_COMPRESSION, options.compression)) {
    throw invalid(`unknown compression "${String(options.compression)}"`);
  }
  if (!Number.isSafeInteger(options.rowGroupSize) || options.rowGroupSize < 1) {
    throw invalid(`rowGroupSize must be a positive integer, got ${options.rowGroupSize}`);
  }
}

function validateShape(batch: SealedBatch): void {
  if (!Number.isSafeInteger(batch.rowCount) || batch.rowCount < 0) {
    throw invalid(`rowCount must be a non-negative integer, got ${batch.rowCount}`);
  }
  if (batch.columns.length === 0) throw invalid('a batch needs at least one column');
  for (const [key, value] of Object.entries(batch.metadata)) {
    if (typeof value !== 'string') throw invalid(`metadata "${key}" must be a string, got ${typeof value}`);
  }
  const seen = new Set<string>();
  for (const column of batch.columns) {
    if (seen.has(column.name)) throw invalid(`duplicate column "${column.name}"`);
    seen.add(column.name);
    const length = columnLength(column);
    if (length !== batch.rowCount) {
      throw invalid(`column "${column.name}" has ${length} values for ${batch.rowCount} rows`);
    }
  }
}

function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'boolean':
      return new Bool();
    case 'int64':
      return new Int64();
    case 'double':
      return new Float64();
    case 'string':
      return new Utf8();
    case 'binary':
      return new Binary();
    case 'timestamp_ms':
      return new TimestampMillisecond(TIMESTAMP_TIME_ZONE);
    default:
      throw invalid(`unknown column type "${String(type)}"`);
  }
}

function columnToData(column: ColumnData, length: number): Data {
  if (column.prepared !== undefined) return preparedData(column.type, column.prepared, length);
  const { values, name } = column;
  switch (column.type) {
    case 'boolean':
      return booleanData(values, name);
    case 'int64':
      return makeData({ type: new Int64(), length, ...int64Buffers(values, name) });
    case 'timestamp_ms':
      return makeData({
        type: new TimestampMillisecond(TIMESTAMP_TIME_ZONE),
        length,
        ...int64Buffers(values, name),
      });
    case 'double':
      return doubleData(values, name);
    case 'string':
      return makeData({ type: new Utf8(), length, ...utf8Buffers(values, name) });
    case 'binary':
      return makeData({ type: new Binary(), length, ...binaryBuffers(values, name) });
    default:
      throw invalid(`unknown column type "${String(column.type)}"`);
  }
}

/** A column the buffer already laid out as Arrow does; int64 and timestamp columns hold safe integers. */
function preparedData(type: ColumnType, prepared: PreparedColumn, length: number): Data {
  const nulls = prepared.validity.bits === null ? { nullCount: 0 } : { nullCount: prepared.validity.nullCount, nullBitmap: prepared.validity.bits };
  if (prepared.kind === 'utf8') {
    return makeData({ type: new Utf8(), length, valueOffsets: prepared.valueOffsets, data: prepared.data, ...nulls });
  }
  switch (type) {
    case 'double':
      return makeData({ type: new Float64(), length, data: prepared.data, ...nulls });
    case 'int64':
      return makeData({ type: new Int64(), length, data: safeIntegersAsInt64(prepared.data), ...nulls });
    case 'timestamp_ms':
      return makeData({ type: new TimestampMillisecond(TIMESTAMP_TIME_ZONE), length, data: safeIntegersAsInt64(prepared.data), ...nulls });
    default:
      throw invalid(`a prepared numeric column cannot be of type "${type}"`);
  }
}

function safeIntegersAsInt64(numbers: Float64Array): BigInt64Array {
  const data = new BigInt64Array(numbers.length);
  const words = LITTLE_ENDIAN ? new Int32Array(data.buffer) : null;
  for (let i = 0; i < numbers.length; i++) setSafeInteger(data, words, i, numbers[i]);
  return data;
}

/**
 * Writes a safe integer as its two 32-bit halves (low word first on little-endian machines, where
 * `words` views `data`): four times faster than BigInt(value) per cell, and no BigInt garbage.
 */
function setSafeInteger(data: BigInt64Array, words: Int32Array | null, index: number, value: number): void {
  if (words === null) {
    data[index] = BigInt(value);
    return;
  }
  const high = Math.floor(value / TWO_TO_32);
  words[2 * index] = value - high * TWO_TO_32;
  words[2 * index + 1] = high;
}

/** A zeroed bitmap of `length` bits: the validity bitmap (1 = present) and the boolean values. */
function newBits(length: number): Uint8Array {
  return new Uint8Array((length + 7) >> 3);
}

function setBit(bits: Uint8Array, index: number): void {
  bits[index >> 3] |= 1 << (index & 7);
}

interface NullProps {
  nullCount: number;
  nullBitmap?: Uint8Array;
}

/** Arrow's null props; a column without nulls carries no bitmap at all. */
function nullProps(validity: Uint8Array, nullCount: number): NullProps {
  return nullCount === 0 ? { nullCount } : { nullCount, nullBitmap: validity };
}

function booleanData(values: readonly CellValue[], name: string): Data<Bool> {
  const validity = newBits(values.length);
  let nullCount = 0;
  const data = newBits(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null) {
      nullCount++;
    } else if (typeof value === 'boolean') {
      setBit(validity, i);
      if (value) setBit(data, i);
    } else {
      throw badValue(name, i, 'a boolean', value);
    }
  }
  return makeData({ type: new Bool(), length: values.length, data, ...nullProps(validity, nullCount) });
}

function doubleData(values: readonly CellValue[], name: string): Data<Float64> {
  const validity = newBits(values.length);
  let nullCount = 0;
  const data = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'number') {
      data[i] = value;
      setBit(validity, i);
    } else if (value === null) {
      nullCount++;
    } else if (typeof value === 'bigint') {
      data[i] = Number(value);
      setBit(validity, i);
    } else {
      throw badValue(name, i, 'a number', value);
    }
  }
  return makeData({ type: new Float64(), length: values.length, data, ...nullProps(validity, nullCount) });
}

const TWO_TO_32 = 2 ** 32;
const LITTLE_ENDIAN = endianness() === 'LE';
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function int64Buffers(
  values: readonly CellValue[],
  name: string,
): NullProps & { data: BigInt64Array } {
  const validity = newBits(values.length);
  let nullCount = 0;
  const data = new BigInt64Array(values.length);
  const words = LITTLE_ENDIAN ? new Int32Array(data.buffer) : null;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw badValue(name, i, 'a safe integer', value);
      setSafeInteger(data, words, i, value);
      setBit(validity, i);
    } else if (value === null) {
      nullCount++;
    } else if (typeof value === 'bigint') {
      // BigInt64Array would wrap an out-of-range value silently.
      if (value < INT64_MIN || value > INT64_MAX) throw badValue(name, i, 'a 64-bit integer', value);
      data[i] = value;
      setBit(validity, i);
    } else {
      throw badValue(name, i, 'an integer', value);
    }
  }
  return { data, ...nullProps(validity, nullCount) };
}

interface VariableBuffers extends NullProps {
  valueOffsets: Int32Array;
  data: Uint8Array;
}

function utf8Buffers(values: readonly CellValue[], name: string): VariableBuffers {
  const validity = newBits(values.length);
  let nullCount = 0;
  const valueOffsets = new Int32Array(values.length + 1);
  let chars = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') {
      chars += value.length;
      setBit(validity, i);
    } else if (value === null) {
      nullCount++;
    } else {
      throw badValue(name, i, 'a string', value);
    }
    valueOffsets[i + 1] = chars;
  }
  const data = chars <= MAX_JOIN_CHARS ? encodeJoined(values, valueOffsets) : undefined;
  return {
    valueOffsets,
    data: data ?? encodeEach(values, valueOffsets, name),
    ...nullProps(validity, nullCount),
  };
}

/**
 * Encodes the whole column with one UTF-8 pass over the joined text (join maps null to "").
 * When every character is ASCII the character offsets already are the byte offsets; otherwise
 * they are recomputed per value. Returns undefined when the joined bytes cannot be split back
 * (a lone surrogate at the end of one value pairing with one at the start of the next).
 */
function encodeJoined(values: readonly CellValue[], valueOffsets: Int32Array): Uint8Array | undefined {
  const joined = values.join('');
  const data = Buffer.from(joined, 'utf8');
  if (data.length === joined.length) return data;
  const total = fillByteOffsets(values, valueOffsets);
  return total === data.length ? data : undefined;
}

/** Slower path: one encode call per value, into a buffer sized by the byte lengths. */
function encodeEach(values: readonly CellValue[], valueOffsets: Int32Array, name: string): Uint8Array {
  const total = fillByteOffsets(values, valueOffsets);
  if (total > MAX_VARIABLE_BYTES) throw tooLarge(name, total);
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') data.write(value, valueOffsets[i], 'utf8');
  }
  return data;
}

/** Rewrites `valueOffsets` as UTF-8 byte offsets; returns the total byte length. */
function fillByteOffsets(values: readonly CellValue[], valueOffsets: Int32Array): number {
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') bytes += Buffer.byteLength(value, 'utf8');
    // Clamped so the Int32Array never wraps; the exact total is returned for the size check.
    valueOffsets[i + 1] = bytes > MAX_VARIABLE_BYTES ? MAX_VARIABLE_BYTES : bytes;
  }
  return bytes;
}

function binaryBuffers(values: readonly CellValue[], name: string): VariableBuffers {
  const validity = newBits(values.length);
  let nullCount = 0;
  const valueOffsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value instanceof Uint8Array) {
      total += value.length;
      if (total > MAX_VARIABLE_BYTES) throw tooLarge(name, total);
      setBit(validity, i);
    } else if (value === null) {
      nullCount++;
    } else {
      throw badValue(name, i, 'a Uint8Array', value);
    }
    valueOffsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value instanceof Uint8Array) data.set(value, valueOffsets[i]);
  }
  return { valueOffsets, data, ...nullProps(validity, nullCount) };
}

function invalid(message: string): CollectorError {
  return new CollectorError('INVALID_BATCH', message);
}

function badValue(column: string, row: number, expected: string, value: CellValue): CollectorError {
  const got = value instanceof Uint8Array ? 'Uint8Array' : `${typeof value} ${String(value)}`;
  return invalid(`column "${column}" row ${row}: expected ${expected}, got ${got.slice(0, 80)}`);
}

function tooLarge(column: string, bytes: number): CollectorError {
  return invalid(
    `column "${column}" holds ${bytes} bytes, over the 2 GiB an Arrow column allows; seal smaller batches`,
  );
}
