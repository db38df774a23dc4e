import { instantOfValue } from '../lake/day-cut';
import { plainValue, type FlatFields } from './flatten';

/**
 * Payload fields named as timestamps (TIMESTAMP_FIELDS): their values become instants, so the
 * column is a timestamp (ms, UTC) and not the text or number the producer wrote. ISO-8601 text
 * (UTC without an offset), epoch seconds, milliseconds, microseconds or nanoseconds (told apart by
 * magnitude, as DAY_SOURCE_FIELD reads them) and MessagePack timestamps are read; a value that is
 * none of these does not fit a timestamp column: it is nulled, and its field's name is handed back
 * to be counted, so the column keeps its type and the record is still written.
 */
export function timestampsInPlace(fields: FlatFields, timestampFields: ReadonlySet<string>, misfits: string[]): void {
  const { names, values } = fields;
  for (let i = 0; i < names.length; i++) {
    if (!timestampFields.has(names[i]) || values[i] === null) continue;
    const instant = instantOfValue(plainValue(values[i]));
    values[i] = instant === null ? null : new Date(instant);
    if (instant === null) misfits.push(names[i]);
  }
}
