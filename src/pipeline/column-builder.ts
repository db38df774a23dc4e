import { prepareNumbers, prepareUtf8, type ColumnData, type ColumnType, type Validity } from '../parquet/batch';
import { coerce, widen, widenWith, WholeFloat, type RawValue } from '../parquet/schema';
import { SourceText } from './flatten';

/**
 * One column of a buffer. While every value of the column is a JavaScript number, or every value
 * is a string, the values live in growing typed arrays laid out as Arrow lays them out (numbers as
 * doubles, text as UTF-8 bytes and offsets): nothing per value on the V8 heap for the garbage
 * collector to copy between generations, and the encoder takes the arrays as they are. Any other
 * value (booleans, bigints, bytes, timestamps, a mix of kinds) turns the column into a plain array
 * of values, widened and coerced when sealed as schema.ts says. The column's type is widened per
 * value as it arrives (a WholeFloat counts as a double); nulls give it none.
 */

const INITIAL_CAPACITY = 1024;
const INITIAL_TEXT_BYTES = 16 * 1024;
/** Arrow's int32 offsets; past this the column keeps its strings as values (and the encoder says it is too large). */
const MAX_TEXT_BYTES = 0x7fffffff;
const utf8 = new TextDecoder();

type Mode = 'empty' | 'numbers' | 'text' | 'values';

export class ColumnBuilder {
  type: ColumnType | null = null;
  /** Row that last received a value: a second value for the same row is a name collision. */
  lastRow = -1;
  private mode: Mode = 'empty';
  /** Rows stored so far: the rows up to `lastRow`, missing ones as nulls. */
  private length = 0;
  private present: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private numbers: Float64Array = EMPTY_NUMBERS;
  private offsets: Int32Array = EMPTY_OFFSETS;
  private bytes: Uint8Array = EMPTY_BYTES;
  private byteLength = 0;
  private values: RawValue[] = [];

  /** Adds the value of row `row` (rows in between get nulls). */
  append(row: number, value: RawValue | SourceText): void {
    if (value instanceof SourceText) {
      this.appendUtf8(row, value.source, value.start, value.end);
      return;
    }
    this.padTo(row);
    this.lastRow = row;
    if (value instanceof WholeFloat) this.appendFloat(value);
    else this.appendValue(value);
  }

  /** A whole float of the wire: a double in a numbers column, a copy of the mark among values (it is reused). */
  private appendFloat(value: WholeFloat): void {
    if (this.mode === 'numbers' || this.mode === 'empty') this.pushNumber(value.value, 'double');
    else this.appendValue(value.copy());
  }

  /** Adds text given as bytes the caller knows are UTF-8 (copied, not decoded, into a text column). */
  appendUtf8(row: number, source: Uint8Array, start: number, end: number): void {
    this.padTo(row);
    this.lastRow = row;
    if ((this.mode === 'text' || this.mode === 'empty') && this.byteLength + end - start <= MAX_TEXT_BYTES) {
      this.pushBytes(source, start, end);
      return;
    }
    this.appendValue(utf8.decode(source.subarray(start, end)));
  }

  private appendValue(value: RawValue): void {
    if (value === null || value === undefined) {
      this.pushNull();
      return;
    }
    if (typeof value === 'number' && (this.mode === 'numbers' || this.mode === 'empty')) {
      this.pushNumber(value, Number.isSafeInteger(value) ? 'int64' : 'double');
      return;
    }
    if (typeof value === 'string' && (this.mode === 'text' || this.mode === 'empty') && this.byteLength + value.length * 3 <= MAX_TEXT_BYTES) {
      this.pushText(value);
      return;
    }
    this.toValues();
    this.values.push(value);
    this.length++;
    this.type = widenWith(this.type, value);
  }

  /** Adds a number the caller knows the column type of (the Kafka metadata columns). */
  appendNumber(row: number, value: number, type: 'int64' | 'timestamp_ms'): void {
    this.padTo(row);
    this.lastRow = row;
    if (this.mode === 'numbers' || this.mode === 'empty') {
      this.pushNumber(value, type);
      return;
    }
    this.toValues();
    this.values.push(value);
    this.length++;
    this.type = type;
  }

  /** Replaces the value of row `lastRow` and returns the one it held (a name collision, rare). */
  replaceLast(given: RawValue | SourceText): RawValue {
    const value = given instanceof SourceText ? given.text() : given instanceof WholeFloat ? given.copy() : given;
    this.toValues();
    const shadowed = this.values[this.lastRow];
    this.values[this.lastRow] = value;
    this.type = widenWith(this.type, value);
    return shadowed;
  }

  /**
   * The column for `rows` rows, taken in `runs`: pairs of (first row, row count) in output order
   * that cover every row once (see buffer.ts partitionRuns). `type` is the type to write: the
   * column's own (`this.type`) or a widening of it (the topic's schema, a metadata column's type).
   */
  seal(name: string, rows: number, runs: Uint32Array, type: ColumnType): ColumnData {
    if (this.mode === 'numbers' && NUMERIC_TYPES.has(type)) {
      return prepareNumbers(name, type, gatherNumbers(this.numbers, this.length, rows, runs), validityOf(this.present, this.length, rows, runs));
    }
    if (this.mode === 'text' && type === 'string') {
      const { data, offsets } = gatherText(this.bytes, this.offsets, this.length, rows, runs);
      return prepareUtf8(name, data, offsets, validityOf(this.present, this.length, rows, runs));
    }
    this.toValues();
    const values = new Array<ReturnType<typeof coerce>>(rows);
    let at = 0;
    for (let run = 0; run < runs.length; run += 2) {
      for (let source = runs[run], end = source + runs[run + 1]; source < end; source++) {
        values[at++] = source < this.length ? coerce(this.values[source], type) : null;
      }
    }
    return { name, type, values };
  }

  private padTo(row: number): void {
    while (this.length < row) this.pushNull();
  }

  private pushNull(): void {
    if (this.mode === 'values') {
      this.values.push(null);
      this.length++;
      return;
    }
    this.reserve(this.length + 1);
    this.present[this.length] = 0;
    if (this.mode === 'numbers') this.numbers[this.length] = 0;
    else if (this.mode === 'text') this.offsets[this.length + 1] = this.byteLength;
    this.length++;
  }

  private pushNumber(value: number, type: ColumnType): void {
    if (this.mode === 'empty') this.startMode('numbers');
    this.reserve(this.length + 1);
    this.numbers[this.length] = value;
    this.present[this.length] = 1;
    this.length++;
    this.type = this.type === null ? type : widen(this.type, type);
  }

  private pushText(value: string): void {
    if (this.mode === 'empty') this.startMode('text');
    this.reserve(this.length + 1);
    // Each UTF-16 unit takes at most 3 UTF-8 bytes.
    this.reserveBytes(this.byteLength + value.length * 3);
    this.byteLength += writeUtf8(value, this.bytes, this.byteLength);
    this.offsets[this.length + 1] = this.byteLength;
    this.present[this.length] = 1;
    this.length++;
    this.type = 'string';
  }

  private pushBytes(source: Uint8Array, start: number, end: number): void {
    if (this.mode === 'empty') this.startMode('text');
    this.reserve(this.length + 1);
    this.reserveBytes(this.byteLength + end - start);
    const { bytes } = this;
    let at = this.byteLength;
    for (let i = start; i < end; i++) bytes[at++] = source[i];
    this.byteLength = at;
    this.offsets[this.length + 1] = at;
    this.present[this.length] = 1;
    this.length++;
    this.type = 'string';
  }

  private startMode(mode: 'numbers' | 'text'): void {
    this.mode = mode;
    const capacity = this.present.length;
    if (mode === 'numbers') {
      this.numbers = new Float64Array(capacity);
    } else {
      this.offsets = new Int32Array(capacity + 1);
      this.bytes = new Uint8Array(INITIAL_TEXT_BYTES);
    }
  }

  private reserve(length: number): void {
    if (length <= this.present.length) return;
    const capacity = Math.max(length, this.present.length * 2);
    this.present = grown(this.present, capacity);
    if (this.mode === 'numbers') this.numbers = grownNumbers(this.numbers, capacity);
    if (this.mode === 'text') this.offsets = grownOffsets(this.offsets, capacity + 1);
  }

  private reserveBytes(length: number): void {
    if (length <= this.bytes.length) return;
    this.bytes = grown(this.bytes, Math.min(MAX_TEXT_BYTES, Math.max(length, this.bytes.length * 2)));
  }

  /** Turns the typed storage into a plain array of values (a value of another kind arrived). */
  private toValues(): void {
    if (this.mode === 'values') return;
    const values: RawValue[] = new Array<RawValue>(this.length);
    for (let i = 0; i < this.length; i++) {
      if (this.present[i] === 0) values[i] = null;
      else if (this.mode === 'numbers') values[i] = this.type === 'timestamp_ms' ? new Date(this.numbers[i]) : this.numbers[i];
      else values[i] = utf8.decode(this.bytes.subarray(this.offsets[i], this.offsets[i + 1]));
    }
    this.values = values;
    this.mode = 'values';
    this.numbers = EMPTY_NUMBERS;
    this.offsets = EMPTY_OFFSETS;
    this.bytes = EMPTY_BYTES;
  }
}

const NUMERIC_TYPES: ReadonlySet<ColumnType> = new Set<ColumnType>(['int64', 'double', 'timestamp_ms']);
const EMPTY_NUMBERS = new Float64Array(0);
const EMPTY_OFFSETS = new Int32Array(1);
const EMPTY_BYTES = new Uint8Array(0);

function grown(array: Uint8Array, capacity: number): Uint8Array {
  const next = new Uint8Array(capacity);
  next.set(array);
  return next;
}

function grownNumbers(array: Float64Array, capacity: number): Float64Array {
  const next = new Float64Array(capacity);
  next.set(array);
  return next;
}

function grownOffsets(array: Int32Array, capacity: number): Int32Array {
  const next = new Int32Array(capacity);
  next.set(array);
  return next;
}

/** Writes `text` as UTF-8 at `at` (room for 3 bytes per unit is there); returns the bytes written. */
function writeUtf8(text: string, into: Uint8Array, at: number): number {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return Buffer.from(into.buffer, into.byteOffset, into.byteLength).write(text, at, 'utf8');
    into[at + i] = code;
  }
  return length;
}

/** Rows past `length` (never given a value) are missing: zero, and absent in the validity bitmap. */
function gatherNumbers(numbers: Float64Array, length: number, rows: number, runs: Uint32Array): Float64Array {
  const out = new Float64Array(rows);
  let at = 0;
  for (let run = 0; run < runs.length; run += 2) {
    const start = runs[run];
    const stored = Math.max(0, Math.min(runs[run + 1], length - start));
    out.set(numbers.subarray(start, start + stored), at);
    at += runs[run + 1];
  }
  return out;
}

function gatherText(bytes: Uint8Array, offsets: Int32Array, length: number, rows: number, runs: Uint32Array): { data: Uint8Array; offsets: Int32Array } {
  const out = new Int32Array(rows + 1);
  const data = new Uint8Array(offsets[length]);
  let at = 0;
  let byte = 0;
  for (let run = 0; run < runs.length; run += 2) {
    const start = runs[run];
    const count = runs[run + 1];
    const stored = Math.max(0, Math.min(count, length - start));
    const first = offsets[start];
    const last = offsets[start + stored];
    data.set(bytes.subarray(first, last), byte);
    const shift = byte - first;
    for (let row = 0; row < stored; row++) out[at + row + 1] = offsets[start + row + 1] + shift;
    byte += last - first;
    for (let row = stored; row < count; row++) out[at + row + 1] = byte;
    at += count;
  }
  return { data, offsets: out };
}

/** Arrow's validity bitmap (1 = present) in output order; null bits when no value is missing. */
function validityOf(present: Uint8Array, length: number, rows: number, runs: Uint32Array): Validity {
  let nullCount = rows - length;
  for (let i = 0; i < length; i++) if (present[i] === 0) nullCount++;
  if (nullCount === 0) return { bits: null, nullCount };
  const bits = new Uint8Array((rows + 7) >> 3);
  let at = 0;
  for (let run = 0; run < runs.length; run += 2) {
    for (let source = runs[run], end = source + runs[run + 1]; source < end; source++, at++) {
      if (source < length && present[source] === 1) bits[at >> 3] |= 1 << (at & 7);
    }
  }
  return { bits, nullCount };
}
