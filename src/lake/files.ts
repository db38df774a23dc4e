import { readFooter } from './footer';
import type { Lake } from './lake';
import {
  DEAD_LETTER_FOLDER,
  type OutputKind,
  compactedNameReadings,
  dayFolder,
  dayOfFolder,
  dayOfHiveFolder,
  publishedAtFromName,
  topicOfFolder,
  topicOfHiveFolder,
} from './layout';
import type { StoredObject } from './store/lake-store';

/**
 * Finds the files of the lake without reading their data: part files by the day folders and the
 * publish time encoded in their names (see layout.ts `partFileName`), compacted files by their
 * names beside the day's parts (their footer only when a name could belong to two topics).
 */

export interface LakeFile {
  /** The file's key in the lake's store. */
  readonly key: string;
  readonly kind: OutputKind;
  readonly day: number;
  /** part: a rolling file of an open day; compacted: one of the files of a closed day. */
  readonly form: 'part' | 'compacted';
  /** For a part, the time in its name; for a compacted file, its modification time (the compaction). */
  readonly publishedAtMs: number;
  /** Position of a compacted file in its day (0 for `<topic>.parquet`); 0 for parts. */
  readonly index: number;
  readonly bytes: number;
}

export interface LakeQuery {
  readonly topic: string;
  /** Only files published at or after this time (by their name, or mtime for compacted files). */
  readonly publishedSinceMs?: number;
  /** Inclusive day range (days since the epoch). */
  readonly fromDay?: number;
  readonly toDay?: number;
  /** Only these days, without listing the lake's days; null or absent: every day. */
  readonly days?: readonly number[] | null;
}

const KINDS: readonly OutputKind[] = ['data', 'dead-letter'];

/** Every part and compacted file of a topic (data and dead letters), day by day. */
export async function findTopicFiles(lake: Lake, query: LakeQuery): Promise<LakeFile[]> {
  const found: LakeFile[] = [];
  for (const day of query.days ?? (await listTopicDaysOf(lake, query.topic))) {
    if (query.fromDay !== undefined && day < query.fromDay) continue;
    if (query.toDay !== undefined && day > query.toDay) continue;
    for (const kind of KINDS) {
      const files = await findDayFiles(lake, { topic: query.topic, day, kind }, query.publishedSinceMs);
      found.push(...files.compacted, ...files.parts);
    }
  }
  return found;
}

export interface TopicDay {
  readonly topic: string;
  readonly day: number;
  readonly kind: OutputKind;
}

export interface DayFiles {
  /** Oldest first. */
  readonly parts: LakeFile[];
  /** By index. */
  readonly compacted: LakeFile[];
}

/** The parts and the compacted files of one (topic, day, kind). */
export async function findDayFiles(lake: Lake, target: TopicDay, publishedSinceMs?: number): Promise<DayFiles> {
  const { topic, day, kind } = target;
  const parts = await partsIn(lake, lake.layout.partFolder(topic, day, kind), kind, day, publishedSinceMs);
  const compacted = await compactedIn(lake, lake.layout.dayFileFolder(topic, day, kind), topic, kind, day, publishedSinceMs);
  return { parts, compacted };
}

/** The objects directly in a folder; with a time, a store may skip a folder unchanged since then. */
async function objectsIn(lake: Lake, folder: string, changedSinceMs: number | undefined): Promise<readonly StoredObject[]> {
  return (await lake.store.list(folder, { delimiter: true, changedSinceMs })).objects;
}

/** A key's last segment: the file's name. */
export function nameOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

async function partsIn(lake: Lake, folder: string, kind: OutputKind, day: number, sinceMs: number | undefined): Promise<LakeFile[]> {
  const files: LakeFile[] = [];
  for (const object of await objectsIn(lake, folder, sinceMs)) {
    const publishedAtMs = publishedAtFromName(nameOf(object.key));
    if (publishedAtMs === null) continue;
    if (sinceMs !== undefined && publishedAtMs < sinceMs) continue;
    files.push({ key: object.key, kind, day, form: 'part', publishedAtMs, index: 0, bytes: object.size });
  }
  return files.sort((a, b) => a.publishedAtMs - b.publishedAtMs);
}

async function compactedIn(lake: Lake, folder: string, topic: string, kind: OutputKind, day: number, sinceMs: number | undefined): Promise<LakeFile[]> {
  const files: LakeFile[] = [];
  for (const object of await objectsIn(lake, folder, sinceMs)) {
    const index = await compactedIndexFor(lake, object.key, topic);
    if (index === null) continue;
    if (sinceMs !== undefined && object.modifiedMs < sinceMs) continue;
    files.push({ key: object.key, kind, day, form: 'compacted', publishedAtMs: object.modifiedMs, index, bytes: object.size });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** The index of the file at `key` as a compacted file of `topic`, or null when it is not one. */
async function compactedIndexFor(lake: Lake, key: string, topic: string): Promise<number | null> {
  const readings = compactedNameReadings(nameOf(key));
  const mine = readings.filter((reading) => reading.topic === topic);
  if (mine.length === 0) return null;
  if (readings.length === 1) return mine[0].index;
  const footerTopic = await footerTopicOf(lake, key);
  return footerTopic === topic ? mine[0].index : null;
}

async function footerTopicOf(lake: Lake, key: string): Promise<string | null> {
  return readFooter(lake.store, key).then(
    (footer) => footer.topic,
    () => null,
  );
}

/** The sub-folders of a folder whose names `parse` accepts, with what it made of them. */
async function subFolders<T>(lake: Lake, folder: string, parse: (name: string) => T | null): Promise<Array<{ key: string; value: T }>> {
  const found: Array<{ key: string; value: T }> = [];
  for (const prefix of (await lake.store.list(folder, { delimiter: true })).prefixes) {
    const value = parse(prefix.slice(folder.length, -1));
    if (value !== null) found.push({ key: prefix, value });
  }
  return found;
}

function digits(count: number): (name: string) => string | null {
  const pattern = new RegExp(`^\\d{${count}}$`);
  return (name) => (pattern.test(name) ? name : null);
}

/** Day numbers of the YYYY/MM/DD folders present in the lake (seed layout). */
export async function listDays(lake: Lake): Promise<number[]> {
  const days: number[] = [];
  for (const year of await subFolders(lake, '', digits(4))) {
    for (const month of await subFolders(lake, year.key, digits(2))) {
      for (const day of await subFolders(lake, month.key, digits(2))) days.push(dayOfFolder(year.value, month.value, day.value));
    }
  }
  return days.sort((a, b) => a - b);
}

/** Topics with parts or compacted files on any day (data and dead letters). */
export async function listTopics(lake: Lake): Promise<string[]> {
  return [...new Set((await listTopicDays(lake)).map((entry) => entry.topic))].sort();
}

/** Every (topic, day, kind) that has parts or compacted files, by day then topic. */
export async function listTopicDays(lake: Lake): Promise<TopicDay[]> {
  const found = lake.layout.name === 'hive' ? await hiveTopicDays(lake) : await seedTopicDays(lake);
  const unique = new Map(found.map((entry) => [`${entry.day}\u0000${entry.kind}\u0000${entry.topic}`, entry]));
  return [...unique.values()].sort((a, b) => a.day - b.day || a.topic.localeCompare(b.topic) || a.kind.localeCompare(b.kind));
}

async function seedTopicDays(lake: Lake): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  for (const day of await listDays(lake)) {
    const dayKey = `${dayFolder(day)}/`;
    found.push(...(await seedTopicsIn(lake, dayKey, day, 'data')), ...(await seedTopicsIn(lake, `${dayKey}${DEAD_LETTER_FOLDER}/`, day, 'dead-letter')));
  }
  return found;
}

async function seedTopicsIn(lake: Lake, folder: string, day: number, kind: OutputKind): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  const listing = await lake.store.list(folder, { delimiter: true });
  for (const prefix of listing.prefixes) {
    const name = prefix.slice(folder.length, -1);
    if (name !== DEAD_LETTER_FOLDER && !name.startsWith('.')) found.push({ topic: topicOfFolder(name), day, kind });
  }
  for (const object of listing.objects) {
    const readings = compactedNameReadings(nameOf(object.key));
    if (readings.length === 0) continue;
    const topic = readings.length === 1 ? readings[0].topic : await footerTopicOf(lake, object.key);
    if (topic !== null) found.push({ topic, day, kind });
  }
  return found;
}

async function hiveTopicDays(lake: Lake): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  for (const [root, kind] of [
    ['', 'data'],
    [`${DEAD_LETTER_FOLDER}/`, 'dead-letter'],
  ] as const) {
    for (const topic of await subFolders(lake, root, topicOfHiveFolder)) {
      for (const date of await subFolders(lake, topic.key, dayOfHiveFolder)) found.push({ topic: topic.value, day: date.value, kind });
    }
  }
  return found;
}

/** The days on which a topic may have files: every day folder (seed), the topic's date folders (Hive). */
async function listTopicDaysOf(lake: Lake, topic: string): Promise<number[]> {
  if (lake.layout.name !== 'hive') return listDays(lake);
  const days = (await hiveTopicDays(lake)).filter((entry) => entry.topic === topic).map((entry) => entry.day);
  return [...new Set(days)].sort((a, b) => a - b);
}
