/**
 * The output key of a record is (topic, day); the day comes from the record's Kafka timestamp in
 * UTC, never from the wall clock, so a replay writes the same records under the same days.
 */

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 UTC of a Kafka timestamp; records without one (timestamp < 0) go to day 0. */
export function dayOfTimestamp(timestampMs: number): number {
  return timestampMs >= 0 ? Math.floor(timestampMs / MS_PER_DAY) : 0;
}
