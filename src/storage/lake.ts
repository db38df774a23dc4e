import { promises as fs } from 'node:fs';
import path from 'node:path';
import { dayFolder, topicFolder } from '../pipeline/route';

/**
 * Finds published files of a topic in the output tree without reading them: by the day folders
 * and by the publish time encoded in each file name (see publish.ts `dataFileName`).
 */

const MS_PER_DAY = 86_400_000;
const FILE_NAME = /^part-(\d{8}T\d{9})Z-[0-9a-f]+-\d+\.parquet$/;

export interface LakeFile {
  readonly path: string;
  readonly kind: 'data' | 'dead-letter';
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

/** Publish time of a file from its name, or null for a name the collector did not write. */
export function publishedAtFromName(name: string): number | null {
  const match = FILE_NAME.exec(name);
  if (match === null) return null;
  const s = match[1];
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
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
      ['dead-letter', path.join(dayDir, '_dead_letter', topicFolder(query.topic))],
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
        days.push(Date.UTC(Number(year), Number(month) - 1, Number(day)) / MS_PER_DAY);
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
