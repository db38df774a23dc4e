import path from 'node:path';

/**
 * Every path and file name of the lake, both ways (building and parsing):
 *   OUTPUT_DIR/YYYY/MM/DD/<topic>/part-<publish time>-<instance>-<seq>.parquet        data
 *   OUTPUT_DIR/YYYY/MM/DD/_dead_letter/<topic>/part-….parquet                          dead letters
 *   .part-….parquet.tmp beside its final path while it is being written.
 * Days are numbers (days since 1970-01-01 UTC); nothing taken from data escapes OUTPUT_DIR.
 */

const MS_PER_DAY = 86_400_000;
const PART_FILE_NAME = /^part-(\d{8}T\d{9})Z-[0-9a-f]+-\d+\.parquet$/;
export const DEAD_LETTER_FOLDER = '_dead_letter';
export const TEMP_SUFFIX = '.tmp';

export type OutputKind = 'data' | 'dead-letter';

/** `YYYY/MM/DD` of a day number, the seed's folder layout. */
export function dayFolder(day: number): string {
  const date = new Date(day * MS_PER_DAY);
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  const dayOfMonth = String(date.getUTCDate()).padStart(2, '0');
  return `${date.getUTCFullYear()}/${month}/${dayOfMonth}`;
}

/** The day number of a `YYYY`, `MM`, `DD` folder triple. */
export function dayOfFolder(year: string, month: string, day: string): number {
  return Date.UTC(Number(year), Number(month) - 1, Number(day)) / MS_PER_DAY;
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

/** The topic a folder name stands for (the inverse of `topicFolder`). */
export function topicOfFolder(folder: string): string {
  return decodeURIComponent(folder);
}

/**
 * Folder of one (topic, day) output. Dead letters sit beside the good data under `_dead_letter`,
 * which Spark, pyarrow datasets and Hive-style readers skip as a hidden folder.
 */
export function outputFolder(outputDir: string, topic: string, day: number, kind: OutputKind): string {
  const parts = [outputDir, dayFolder(day)];
  if (kind === 'dead-letter') parts.push(DEAD_LETTER_FOLDER);
  parts.push(topicFolder(topic));
  return path.join(...parts);
}

/** `part-20251017T103000123Z-<instance>-<seq>.parquet`: sorts by publish time. */
export function partFileName(nowMs: number, instanceId: string, sequence: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('.', '');
  return `part-${stamp}-${instanceId}-${String(sequence).padStart(6, '0')}.parquet`;
}

/** Publish time of a part file from its name, or null for a name the collector did not write. */
export function publishedAtFromName(name: string): number | null {
  const match = PART_FILE_NAME.exec(name);
  if (match === null) return null;
  const s = match[1];
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The hidden name a file is written under before it is renamed to `finalPath`. */
export function tempPathFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}${TEMP_SUFFIX}`);
}

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}
