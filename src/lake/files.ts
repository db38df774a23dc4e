import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEAD_LETTER_FOLDER, type OutputKind, dayFolder, dayOfFolder, publishedAtFromName, topicFolder, topicOfFolder } from './layout';

/**
 * Finds published files of a topic in the output tree without reading them: by the day folders
 * and by the publish time encoded in each file name (see layout.ts `partFileName`).
 */

export interface LakeFile {
  readonly path: string;
  readonly kind: OutputKind;
  readonly day: number;
  readonly publishedAtMs: number;
}

export interface LakeQuery {
  readonly outputDir: string;
  readonly topic: string;
  /** Only files published at or after this time (by their name). */
  readonly publishedSinceMs?: number;
  /** Inclusive day range (days since the epoch). */
  readonly fromDay?: number;
  readonly toDay?: number;
}

export async function findTopicFiles(query: LakeQuery): Promise<LakeFile[]> {
  const days = await listDays(query.outputDir);
  const found: LakeFile[] = [];
  for (const day of days) {
    if (query.fromDay !== undefined && day < query.fromDay) continue;
    if (query.toDay !== undefined && day > query.toDay) continue;
    const dayDir = path.join(query.outputDir, dayFolder(day));
    for (const [kind, folder] of [
      ['data', path.join(dayDir, topicFolder(query.topic))],
      ['dead-letter', path.join(dayDir, DEAD_LETTER_FOLDER, topicFolder(query.topic))],
    ] as const) {
      found.push(...(await filesIn(folder, kind, day, query.publishedSinceMs)));
    }
  }
  return found;
}

async function filesIn(folder: string, kind: LakeFile['kind'], day: number, sinceMs: number | undefined): Promise<LakeFile[]> {
  if (sinceMs !== undefined) {
    // A folder gains an entry on every rename into it, so an older folder holds no newer file.
    const stat = await fs.stat(folder).catch(() => null);
    if (stat === null || stat.mtimeMs < sinceMs) return [];
  }
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const files: LakeFile[] = [];
  for (const name of names) {
    const publishedAtMs = publishedAtFromName(name);
    if (publishedAtMs === null) continue;
    if (sinceMs !== undefined && publishedAtMs < sinceMs) continue;
    files.push({ path: path.join(folder, name), kind, day, publishedAtMs });
  }
  return files.sort((a, b) => a.publishedAtMs - b.publishedAtMs);
}

/** Day numbers of the YYYY/MM/DD folders present under the output directory. */
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

/** Topics with a folder under any day folder (data and dead letters). */
export async function listTopics(outputDir: string): Promise<string[]> {
  const topics = new Set<string>();
  const list = async (folder: string): Promise<string[]> => fs.readdir(folder).catch(() => [] as string[]);
  for (const day of await listDays(outputDir)) {
    const dayDir = path.join(outputDir, dayFolder(day));
    for (const name of await list(dayDir)) if (name !== DEAD_LETTER_FOLDER) topics.add(topicOfFolder(name));
    for (const name of await list(path.join(dayDir, DEAD_LETTER_FOLDER))) topics.add(topicOfFolder(name));
  }
  return [...topics].sort();
}
