/**
 * Column type inference and widening for the buffer stage.
 *
 * The column types form a lattice, and `widen` is its join, so the type a buffer ends with does not
 * depend on the order in which records arrive (widen is commutative and associative):
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
 *   precision; the decoders hand such integers over as bigint, and a column that mixes them with
 *   fractions is rare enough to accept that.
 * - `boolean ⊔ any number = string`: there is no lossless numeric form of true/false next to
 *   numbers that readers would not misread, so both become text.
 * - `binary ⊔ anything else = string`, as for every other mix: "anything and string to string"
 *   keeps columns that are mostly text readable as text (a BLOB column would not be); the bytes
 *   are kept as base64 text, which loses nothing, though a reader cannot tell them from a string
 *   that happens to look like base64.
 */
import type { CellValue, ColumnType } from './batch';
import { CollectorError } from '../errors';

/**
 * A value as the decode and flatten stages may produce it. `Date` comes from MessagePack's
 * timestamp extension; other objects (lists, nested maps the flatten stage did not lift) are
 * stored as JSON text.
 */
export type RawValue = CellValue | Date | undefined | object;

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
      return 'int64';
    case 'number':
      // Integers past 2^53 are already rounded by the decoder; calling them int64 would claim a
      // precision they no longer have.
      return Number.isSafeInteger(value) ? 'int64' : 'double';
    case 'string':
      return 'string';
    default:
      break;
  }
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
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.getTime();
  throw mismatch(value, type);
}

function coerceDouble(value: RawValue): number {
  if (typeof value === 'number') return value;
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
