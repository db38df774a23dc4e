/**
 * Every key and file name of the lake, both ways (building and parsing). Keys are relative to the
 * lake's root (see store/lake-store.ts); a folder key ends in '/'. The seed's layout:
 *   OUTPUT_DIR/YYYY/MM/DD/<topic>/part-<publish time>-<instance>-<seq>.parquet        open day: parts
 *   OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet (then <topic>-0001.parquet, …)              closed day: compacted
 *   OUTPUT_DIR/YYYY/MM/DD/_SUCCESS.<topic>.json                                        closed-day marker
 *   OUTPUT_DIR/YYYY/MM/DD/_dead_letter/<topic>/part-….parquet, …/_dead_letter/<topic>.parquet
 *   OUTPUT_DIR/_schema/<topic>/v000001.json, v000002.json, …                          the topic's schema versions
 * The Hive layout (`LAYOUT=hive`) puts parts and compacted files of a day in one partition folder:
 *   OUTPUT_DIR/topic=<topic>/date=YYYY-MM-DD/part-….parquet, …/<topic>.parquet
 *   OUTPUT_DIR/topic=<topic>/_schema/v000001.json, …
 *   OUTPUT_DIR/_dead_letter/topic=<topic>/date=YYYY-MM-DD/…
 * Days are numbers (days since 1970-01-01 of the calendar date, whatever the time zone that cut
 * them); nothing taken from data escapes OUTPUT_DIR.
 */

const MS_PER_DAY = 86_400_000;
const PART_FILE_NAME = /^part-(\d{8}T\d{9})Z-[0-9a-f]+-\d+\.parquet$/;
export const DEAD_LETTER_FOLDER = '_dead_letter';

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

/** A folder key from its segments: `a/b/`. */
function folderKey(segments: readonly string[]): string {
  return segments.map((segment) => `${segment}/`).join('');
}

/**
 * Folder of one (topic, day) output. Dead letters sit beside the good data under `_dead_letter`,
 * which Spark, pyarrow datasets and Hive-style readers skip as a hidden folder.
 */
export function outputFolder(topic: string, day: number, kind: OutputKind): string {
  return folderKey([dayFolder(day), ...(kind === 'dead-letter' ? [DEAD_LETTER_FOLDER] : []), topicFolder(topic)]);
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

export const LAYOUT_NAMES = ['seed', 'hive'] as const;
export type LayoutName = (typeof LAYOUT_NAMES)[number];

/** Where one layout puts the files of a (topic, day): parts while open, compacted files once closed. */
export interface LakeLayout {
  readonly name: LayoutName;
  /** Folder key of the rolling part files. */
  partFolder(topic: string, day: number, kind: OutputKind): string;
  /** Folder key of the compacted files, with their compaction lock and closed-day marker. */
  dayFileFolder(topic: string, day: number, kind: OutputKind): string;
}

/** `YYYY-MM-DD` of a day number. */
export function isoDate(day: number): string {
  return dayFolder(day).replace(/\//g, '-');
}

/** The day number of `YYYY-MM-DD`, or null when it is not a calendar date. */
export function dayOfIsoDate(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return null;
  const day = dayOfFolder(match[1], match[2], match[3]);
  return Number.isInteger(day) && isoDate(day) === text ? day : null;
}

export const seedLayout: LakeLayout = {
  name: 'seed',
  partFolder: outputFolder,
  dayFileFolder(_topic, day, kind) {
    return folderKey([dayFolder(day), ...(kind === 'dead-letter' ? [DEAD_LETTER_FOLDER] : [])]);
  },
};

const HIVE_TOPIC_PREFIX = 'topic=';
const HIVE_DATE_PREFIX = 'date=';

function hiveFolder(topic: string, day: number, kind: OutputKind): string {
  return folderKey([...(kind === 'dead-letter' ? [DEAD_LETTER_FOLDER] : []), `${HIVE_TOPIC_PREFIX}${topicFolder(topic)}`, `${HIVE_DATE_PREFIX}${isoDate(day)}`]);
}

/** Spark, Trino and DuckDB (`hive_partitioning`) prune by `topic=` and `date=` folders. */
export const hiveLayout: LakeLayout = { name: 'hive', partFolder: hiveFolder, dayFileFolder: hiveFolder };

export function layoutFor(name: LayoutName): LakeLayout {
  return name === 'hive' ? hiveLayout : seedLayout;
}

/** The topic of a `topic=<topic>` folder, or null for any other name. */
export function topicOfHiveFolder(name: string): string | null {
  return name.startsWith(HIVE_TOPIC_PREFIX) ? topicOfFolder(name.slice(HIVE_TOPIC_PREFIX.length)) : null;
}

/** The day of a `date=YYYY-MM-DD` folder, or null for any other name. */
export function dayOfHiveFolder(name: string): number | null {
  return name.startsWith(HIVE_DATE_PREFIX) ? dayOfIsoDate(name.slice(HIVE_DATE_PREFIX.length)) : null;
}

const COMPACTED_INDEX_DIGITS = 4;

/** `<topic>.parquet` for the first compacted file of a day, `<topic>-0001.parquet` for the next. */
export function compactedFileName(topic: string, index: number): string {
  const suffix = index === 0 ? '' : `-${String(index).padStart(COMPACTED_INDEX_DIGITS, '0')}`;
  return `${topicFolder(topic)}${suffix}.parquet`;
}

/**
 * What a compacted file's name can say: the topic it would be the first file of, and, for a
 * `-NNNN` name, the topic and index it would be a continuation of. Both readings stand for
 * `x-0001.parquet` (topic `x-0001`, or file 1 of topic `x`): the footer's topic decides.
 */
export function compactedNameReadings(name: string): Array<{ topic: string; index: number }> {
  if (!name.endsWith('.parquet') || name.startsWith('.') || name.startsWith('_') || PART_FILE_NAME.test(name)) return [];
  const stem = name.slice(0, -'.parquet'.length);
  const readings = [{ topic: topicOfFolder(stem), index: 0 }];
  const match = new RegExp(`^(.+)-(\\d{${COMPACTED_INDEX_DIGITS}})$`).exec(stem);
  if (match !== null && Number(match[2]) > 0) readings.push({ topic: topicOfFolder(match[1]), index: Number(match[2]) });
  return readings;
}

/** A hidden name beside the compacted files: never matched by `*.parquet` globs nor swept as a temp file. */
export function compactionLockName(topic: string): string {
  return `.${topicFolder(topic)}.compact.lock`;
}

/** The closed-day marker of a topic: a small JSON manifest (`_` hides it from Spark and Hive readers). */
export function closedMarkerName(topic: string): string {
  return `_SUCCESS.${topicFolder(topic)}.json`;
}

export const SCHEMA_FOLDER = '_schema';
const SCHEMA_VERSION_NAME = /^v(\d{6,})\.json$/;

/**
 * Folder of a topic's schema versions (lake/topic-schema.ts), beside its data: under the topic's
 * folder in the Hive layout, under `_schema/` in the seed's (whose topic folders are per day).
 * `_` hides it from Spark, Hive and pyarrow readers, and it holds no `.parquet` for globs to match.
 */
export function topicSchemaFolder(layout: LayoutName, topic: string): string {
  return layout === 'hive' ? folderKey([`${HIVE_TOPIC_PREFIX}${topicFolder(topic)}`, SCHEMA_FOLDER]) : folderKey([SCHEMA_FOLDER, topicFolder(topic)]);
}

/** `v000001.json`: versions sort by name. */
export function schemaVersionName(version: number): string {
  return `v${String(version).padStart(6, '0')}.json`;
}

/** The version of a `vNNNNNN.json` name, or null for any other name. */
export function versionOfSchemaName(name: string): number | null {
  const match = SCHEMA_VERSION_NAME.exec(name);
  return match === null ? null : Number(match[1]);
}
