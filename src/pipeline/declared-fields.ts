import { instantOfValue } from '../lake/day-cut';
import type { DeclaredColumn } from '../lake/declared-schema';
import type { ColumnType } from '../parquet/batch';
import { inferCellType, widen, WholeFloat } from '../parquet/schema';
import { plainValue, type FlatFields, type FlatValue } from './flatten';

/**
 * Fields with a declared type (lake/declared-schema.ts: SCHEMA_FILE, TIMESTAMP_FIELDS) made to
 * fit it, in place. A value fits when it is of the type or of a narrower one on the lattice
 * (an integer fits a double, anything fits a string); a whole float fits an int64 (no digit is
 * lost); a timestamp column reads instants from ISO-8601 text (UTC without an offset), epoch
 * seconds, milliseconds, microseconds or nanoseconds (by magnitude, as DAY_SOURCE_FIELD does) and
 * MessagePack timestamps. A value that does not fit is nulled and its field handed back, for the
 * caller to count it, or to dead-letter the record when the field's policy says so.
 */
export function fitDeclared(fields: FlatFields, declared: ReadonlyMap<string, DeclaredColumn>, misfits: FieldMisfit[]): void {
  const { names, values } = fields;
  for (let i = 0; i < names.length; i++) {
    const column = declared.get(names[i]);
    if (column === undefined || values[i] === null) continue;
    const fitted = fittedValue(values[i], column.type);
    values[i] = fitted ?? null;
    if (fitted === undefined) misfits.push({ name: names[i], declared: column });
  }
}

/** A field whose value did not fit its declared column. */
export interface FieldMisfit {
  readonly name: string;
  readonly declared: DeclaredColumn;
}

/** The value as a column of `type` takes it, or undefined when it does not fit. */
export function fittedValue(value: FlatValue, type: ColumnType): FlatValue | undefined {
  if (type === 'timestamp_ms') {
    const instant = instantOfValue(plainValue(value));
    return instant === null ? undefined : new Date(instant);
  }
  if (type === 'int64' && value instanceof WholeFloat) return value.value;
  const own = inferCellType(value instanceof WholeFloat ? value : plainValue(value));
  return own !== null && widen(own, type) === type ? value : undefined;
}
