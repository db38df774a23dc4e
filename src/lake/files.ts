import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readFooter } from './footer';
import {
  DEAD_LETTER_FOLDER,
  type LakeLayout,
  type OutputKind,
  compactedNameReadings,
  dayFolder,
  dayOfFolder,
  dayOfHiveFolder,
  publishedAtFromName,
  seedLayout,
  topicOfFolder,
  topicOfHiveFolder,
} from './layout';

/**
 * Finds the files of the lake without reading their data: part files by the day folders and the
 * publish time encoded in their names (see layout.ts `partFileName`), compacted files by their
 * names beside the day's parts (their footer only when a name could belong to two topics).
 */

export interface LakeFile {
  readonly path: string;
  readonly kind: OutputKind;
  readonly day: number;
  /** part: a rolling file of an open day; compacted: one of the files of a closed day. */
  readonly form: 'part' | 'compacted';
  /** For a part, the time in its name; for a compacted file, its modification time (the compaction). */
  readonly publishedAtMs: number;
  /** Position of a compacted file in its day (0 for `<topic>.parquet`); 0 for parts. */
  readonly index: number;
}

export interface LakeQuery {
  readonly outputDir: string;
  readonly topic: string;
  /** Only files published at or after this time (by their name, or mtime for compacted files). */
  readonly publishedSinceMs?: number;
  /** Inclusive day range (days since the epoch). */
  readonly fromDay?: number;
  readonly toDay?: number;
  /** The seed's layout when absent. */
  readonly layout?: LakeLayout;
}

const KINDS: readonly OutputKind[] = ['data', 'dead-letter'];

/** Every part and compacted file of a topic (data and dead letters), day by day. */
export async function findTopicFiles(query: LakeQuery): Promise<LakeFile[]> {
  const layout = query.layout ?? seedLayout;
  const found: LakeFile[] = [];
  for (const day of await listTopicDaysOf(query.outputDir, layout, query.topic)) {
    if (query.fromDay !== undefined && day < query.fromDay) continue;
    if (query.toDay !== undefined && day > query.toDay) continue;
    for (const kind of KINDS) {
      const files = await findDayFiles({ outputDir: query.outputDir, layout, topic: query.topic, day, kind }, query.publishedSinceMs);
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

export interface DayFilesQuery extends TopicDay {
  readonly outputDir: string;
  readonly layout: LakeLayout;
}

export interface DayFiles {
  /** Oldest first. */
  readonly parts: LakeFile[];
  /** By index. */
  readonly compacted: LakeFile[];
}

/** The parts and the compacted files of one (topic, day, kind). */
export async function findDayFiles(query: DayFilesQuery, publishedSinceMs?: number): Promise<DayFiles> {
  const { outputDir, layout, topic, day, kind } = query;
  const parts = await partsIn(layout.partFolder(outputDir, topic, day, kind), kind, day, publishedSinceMs);
  const compacted = await compactedIn(layout.dayFileFolder(outputDir, topic, day, kind), topic, kind, day, publishedSinceMs);
  return { parts, compacted };
}

/** Whether a folder may hold files published since `sinceMs` (always, without a time). */
async function changedSince(folder: string, sinceMs: number | undefined): Promise<boolean> {
  if (sinceMs === undefined) return true;
  // A folder gains an entry on every rename into it, so an older folder holds no newer file.
  const stat = await fs.stat(folder).catch(() => null);
  return stat !== null && stat.mtimeMs >= sinceMs;
}

async function partsIn(folder: string, kind: OutputKind, day: number, sinceMs: number | undefined): Promise<LakeFile[]> {
  if (!(await changedSince(folder, sinceMs))) return [];
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const files: LakeFile[] = [];
  for (const name of names) {
    const publishedAtMs = publishedAtFromName(name);
    if (publishedAtMs === null) continue;
    if (sinceMs !== undefined && publishedAtMs < sinceMs) continue;
    files.push({ path: path.join(folder, name), kind, day, form: 'part', publishedAtMs, index: 0 });
  }
  return files.sort((a, b) => a.publishedAtMs - b.publishedAtMs);
}

async function compactedIn(folder: string, topic: string, kind: OutputKind, day: number, sinceMs: number | undefined): Promise<LakeFile[]> {
  if (!(await changedSince(folder, sinceMs))) return [];
  const files: LakeFile[] = [];
  for (const name of await fs.readdir(folder).catch(() => [] as string[])) {
    const filePath = path.join(folder, name);
    const index = await compactedIndexFor(filePath, name, topic);
    if (index === null) continue;
    const stat = await fs.stat(filePath).catch(() => null);
    if (stat === null || !stat.isFile()) continue;
    if (sinceMs !== undefined && stat.mtimeMs < sinceMs) continue;
    files.push({ path: filePath, kind, day, form: 'compacted', publishedAtMs: stat.mtimeMs, index });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** The index of `name` as a compacted file of `topic`, or null when it is not one. */
async function compactedIndexFor(filePath: string, name: string, topic: string): Promise<number | null> {
  const readings = compactedNameReadings(name);
  const mine = readings.filter((reading) => reading.topic === topic);
  if (mine.length === 0) return null;
  if (readings.length === 1) return mine[0].index;
  const footerTopic = await footerTopicOf(filePath);
  return footerTopic === topic ? mine[0].index : null;
}

async function footerTopicOf(filePath: string): Promise<string | null> {
  return readFooter(filePath).then(
    (footer) => footer.topic,
    () => null,
  );
}

/** Day numbers of the YYYY/MM/DD folders present under the output directory (seed layout). */
export async function listDays(outputDir: string): Promise<number[]> {
  const days: number[] = [];
  for (const year of await numericEntries(outputDir, 4)) {
    for (const month of await numericEntries(path.join(outputDir, year), 2)) {
      for (const day of await numericEntries(path.join(outputDir, year, month), 2)) {
        days.push(dayOfFolder(year, month, day));
      }
    }
  }
  return days.sort((a, b) => a - b);
}

async function numericEntries(folder: string, digits: number): Promise<string[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const pattern = new RegExp(`^\\d{${digits}}$`);
  return names.filter((name) => pattern.test(name));
}

/** Topics with parts or compacted files on any day (data and dead letters). */
export async function listTopics(outputDir: string, layout: LakeLayout = seedLayout): Promise<string[]> {
  return [...new Set((await listTopicDays(outputDir, layout)).map((entry) => entry.topic))].sort();
}

/** Every (topic, day, kind) that has parts or compacted files, by day then topic. */
export async function listTopicDays(outputDir: string, layout: LakeLayout = seedLayout): Promise<TopicDay[]> {
  const found = layout.name === 'hive' ? await hiveTopicDays(outputDir) : await seedTopicDays(outputDir);
  const unique = new Map(found.map((entry) => [`${entry.day}\u0000${entry.kind}\u0000${entry.topic}`, entry]));
  return [...unique.values()].sort((a, b) => a.day - b.day || a.topic.localeCompare(b.topic) || a.kind.localeCompare(b.kind));
}

async function seedTopicDays(outputDir: string): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  for (const day of await listDays(outputDir)) {
    const dayDir = path.join(outputDir, dayFolder(day));
    found.push(...(await seedTopicsIn(dayDir, day, 'data')), ...(await seedTopicsIn(path.join(dayDir, DEAD_LETTER_FOLDER), day, 'dead-letter')));
  }
  return found;
}

async function seedTopicsIn(folder: string, day: number, kind: OutputKind): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  for (const entry of await fs.readdir(folder, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) {
      if (entry.name !== DEAD_LETTER_FOLDER && !entry.name.startsWith('.')) found.push({ topic: topicOfFolder(entry.name), day, kind });
      continue;
    }
    const readings = compactedNameReadings(entry.name);
    if (readings.length === 0) continue;
    const topic = readings.length === 1 ? readings[0].topic : await footerTopicOf(path.join(folder, entry.name));
    if (topic !== null) found.push({ topic, day, kind });
  }
  return found;
}

async function hiveTopicDays(outputDir: string): Promise<TopicDay[]> {
  const found: TopicDay[] = [];
  for (const [root, kind] of [
    [outputDir, 'data'],
    [path.join(outputDir, DEAD_LETTER_FOLDER), 'dead-letter'],
  ] as const) {
    for (const topicName of await fs.readdir(root).catch(() => [] as string[])) {
      const topic = topicOfHiveFolder(topicName);
      if (topic === null) continue;
      for (const dateName of await fs.readdir(path.join(root, topicName)).catch(() => [] as string[])) {
        const day = dayOfHiveFolder(dateName);
        if (day !== null) found.push({ topic, day, kind });
      }
    }
  }
  return found;
}

/** The days on which a topic may have files: every day folder (seed), the topic's date folders (Hive). */
async function listTopicDaysOf(outputDir: string, layout: LakeLayout, topic: string): Promise<number[]> {
  if (layout.name !== 'hive') return listDays(outputDir);
  const days = (await hiveTopicDays(outputDir)).filter((entry) => entry.topic === topic).map((entry) => entry.day);
  return [...new Set(days)].sort((a, b) => a - b);
}
