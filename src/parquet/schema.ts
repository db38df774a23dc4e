/**
 * Column types from values, and their widening: the lattice every column type of a file and of a
 * topic's schema (lake/topic-schema.ts) moves along.
 *
 * Types come from the wire, not from the value: a MessagePack float (float32 or float64) is a
 * double even when it is whole (`10.0`), a MessagePack integer is an int64, a JSON number written
 * with a fraction or an exponent is a double, a JSON integer is an int64. JavaScript cannot tell
 * `10.0` from `10`, so the decode stages hand a whole float over as a `WholeFloat`; every other
 * number keeps the rule that a safe integer is an int64 and anything else a double. Integers past
 * int64 (a MessagePack uint64 above 2^63 - 1, a JSON integer literal out of range) have no exact
 * numeric form a reader shares: such a value is text (its decimal digits), so its column widens
 * to string rather than round it. A missing value (null) has no type: a column seen only as nulls
 * is not given one.
 *
 * `widen` is the lattice's join, so the type a column ends with does not depend on the order in
 * which values arrive (it is commutative and associative):
 *
 * ```
 *                 string
 *              ╱    │     ╲
 *        double  boolean  binary
 *          │
 *        int64
 *          │
 *     timestamp_ms
 * ```
 *
 * - `timestamp_ms ⊔ int64 = int64`: a timestamp is milliseconds since the epoch, so the integer
 *   form keeps every value.
 * - `int64 ⊔ double = double`: the only numeric form both fit. Integers beyond ±2^53 lose
 *   precision; a column that mixes them with fractions is rare enough to accept that.
 * - `boolean ⊔ any number = string`: there is no lossless numeric form of true/false next to
 *   numbers that readers would not misread, so both become text.
 * - `binary ⊔ anything else = string`, as for every other mix: "anything and string to string"
 *   keeps columns that are mostly text readable as text (a BLOB column would not be); the bytes
 *   are kept as base64 text, which loses nothing, though a reader cannot tell them from a string
 *   that happens to look like base64.
 * - Lists are JSON text (flatten.ts), so a list field is a string column; nested maps are
 *   flattened into columns of their own, each on this lattice.
 */
import type { CellValue, ColumnType } from './batch';
import { CollectorError } from '../errors';

/**
 * A value as the decode and flatten stages may produce it. `Date` comes from MessagePack's
 * timestamp extension; other objects (lists, nested maps the flatten stage did not lift) are
 * stored as JSON text.
 */
export type RawValue = CellValue | Date | WholeFloat | undefined | object;

/**
 * A number the wire wrote as a float whose value is whole (`10.0`): a double, which JavaScript
 * alone would take for the integer 10. The MessagePack fast path reuses one per field position
 * (like SourceText): whoever keeps the value keeps `copy()`.
 */
export class WholeFloat {
  constructor(public value: number) {}

  copy(): WholeFloat {
    return new WholeFloat(this.value);
  }

  /** In JSON text (a list holding it) it is the number. */
  toJSON(): number {
    return this.value;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const RANK_NUMERIC: Readonly<Partial<Record<ColumnType, number>>> = {
  timestamp_ms: 0,
  int64: 1,
  double: 2,
};

/** The column type a single value needs, or null for a missing value (null/undefined). */
export function inferCellType(value: RawValue): ColumnType | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return value >= INT64_MIN && value <= INT64_MAX ? 'int64' : 'string';
    case 'number':
      // Integers past 2^53 are already rounded by the decoder; calling them int64 would claim a
      // precision they no longer have.
      return Number.isSafeInteger(value) ? 'int64' : 'double';
    case 'string':
      return 'string';
    default:
      break;
  }
  if (value instanceof WholeFloat) return 'double';
  if (value instanceof Uint8Array) return 'binary';
  // An invalid Date has no instant; its text form ("Invalid Date") is all that can be kept.
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'string' : 'timestamp_ms';
  return 'string';
}

/** The narrowest type that holds every value of both `a` and `b` (the lattice join). */
export function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const rankA = RANK_NUMERIC[a];
  const rankB = RANK_NUMERIC[b];
  if (rankA !== undefined && rankB !== undefined) return rankA > rankB ? a : b;
  return 'string';
}

/** Widens `current` (null while a column has seen only missing values) by one value's type. */
export function widenWith(current: ColumnType | null, value: RawValue): ColumnType | null {
  const next = inferCellType(value);
  if (next === null) return current;
  return current === null ? next : widen(current, next);
}

/** The type of a whole column of values, or null when every value is missing. */
export function inferColumnType(values: readonly RawValue[]): ColumnType | null {
  let type: ColumnType | null = null;
  for (const value of values) type = widenWith(type, value);
  return type;
}

/**
 * Converts a value to the representation `encodeParquet` expects for a column of `type`.
 * `type` must be the value's own type or a widening of it (see `widen`); anything else is a bug in
 * the caller and throws a `CollectorError` with code `TYPE_MISMATCH`.
 *
 * Textual forms, all lossless:
 * - boolean: `"true"` / `"false"`;
 * - number: `String(n)`, the shortest text that parses back to the same double (`"NaN"`,
 *   `"Infinity"`, `"-Infinity"` for the non-finite ones);
 * - bigint: its decimal digits;
 * - timestamp (`Date`): ISO 8601 in UTC with milliseconds, e.g. `"2025-10-17T10:30:00.000Z"`;
 * - other objects: JSON text (bigints inside become decimal strings).
 *
 * - bytes: base64.
 */
export function coerce(value: RawValue, type: ColumnType): CellValue {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'int64':
    case 'timestamp_ms':
      return coerceInteger(value, type);
    case 'double':
      return coerceDouble(value);
    case 'string':
      return coerceString(value);
    case 'binary':
      if (value instanceof Uint8Array) return value;
      break;
  }
  throw mismatch(value, type);
}

function coerceInteger(value: RawValue, type: 'int64' | 'timestamp_ms'): number | bigint {
  if (typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  throw mismatch(value, type);
}

function coerceDouble(value: RawValue): number {
  if (typeof value === 'number') return value;
  if (value instanceof WholeFloat) return value.value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  throw mismatch(value, 'double');
}

function coerceString(value: RawValue): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
    case 'number':
    case 'bigint':
      return String(value);
    default:
      break;
  }
  if (value instanceof WholeFloat) return String(value.value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  }
  const json: string | undefined = JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'bigint' ? inner.toString() : inner,
  );
  // JSON has no form for a function; decoders never produce one, but the result must be a string.
  return json ?? String(value);
}

function mismatch(value: RawValue, type: ColumnType): CollectorError {
  return new CollectorError(
    'TYPE_MISMATCH',
    `cannot store a ${describe(value)} in a ${type} column`,
  );
}

function describe(value: RawValue): string {
  if (value instanceof Uint8Array) return 'binary value';
  if (value instanceof Date) return 'timestamp';
  return typeof value;
}
