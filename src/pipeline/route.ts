import path from 'node:path';

/**
 * The output key of a record is (topic, day); the day comes from the record's Kafka timestamp in
 * UTC, never from the wall clock, so a replay writes the same records under the same days.
 */

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 UTC of a Kafka timestamp; records without one (timestamp < 0) go to day 0. */
export function dayOfTimestamp(timestampMs: number): number {
  return timestampMs >= 0 ? Math.floor(timestampMs / MS_PER_DAY) : 0;
}

/** `YYYY/MM/DD` of a day number, the seed's folder layout. */
export function dayFolder(day: number): string {
  const date = new Date(day * MS_PER_DAY);
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const dayOfMonth = String(date.getUTCDate()).padStart(2, '0');
  return `${date.getUTCFullYear()}/${month}/${dayOfMonth}`;
}

/**
 * A topic name as one path segment. Kafka allows only [a-zA-Z0-9._-] in names, so this only ever
 * changes the two names that would mean something else in a path ("." and ".."), but it guards
 * against anything else too: a name from a pattern subscription is data, not trusted input.
 */
export function topicFolder(topic: string): string {
  if (/^[A-Za-z0-9._-]+$/.test(topic) && topic !== '.' && topic !== '..') return topic;
  return encodeURIComponent(topic).replace(/\./g, '%2E');
}

export type OutputKind = 'data' | 'dead-letter';

/**
 * Folder of one (topic, day) output. Dead letters sit beside the good data under `_dead_letter`,
 * which Spark, pyarrow datasets and Hive-style readers skip as a hidden folder.
 */
export function outputFolder(outputDir: string, topic: string, day: number, kind: OutputKind): string {
  const parts = [outputDir, dayFolder(day)];
  if (kind === 'dead-letter') parts.push('_dead_letter');
  parts.push(topicFolder(topic));
  return path.join(...parts);
}
