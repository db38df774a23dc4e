/**
 * A lake with days on both sides of a retention limit, written through the Lake (a folder or a
 * bucket alike) by the project's own encoder and compactor: for the lake retention tests.
 */
import { compactDay } from '../../src/lake/compaction/compact-day';
import type { TopicDay } from '../../src/lake/files';
import type { Lake } from '../../src/lake/lake';
import { SCHEMA_FOLDER, closedMarkerName, partFileName } from '../../src/lake/layout';
import { encodeParquet } from '../../src/parquet/encode';
import { DAY, batchOf, compactorOptions, records } from '../unit/lake/compaction/lake-fixture';

const MS_PER_DAY = 86_400_000;
/** Noon of the day after DAY: with RETENTION_DAYS, days before DAY - 2 are expired. */
export const NOW_MS = (DAY + 1) * MS_PER_DAY + 12 * 3_600_000;
export const RETENTION_DAYS = 3;

/** Expired: a compacted day split in two files, its dead letters, and a day of parts never compacted. */
export const EXPIRED: readonly TopicDay[] = [
  { topic: 'trades', day: DAY - 10, kind: 'data' },
  { topic: 'trades', day: DAY - 10, kind: 'dead-letter' },
  { topic: 'quotes', day: DAY - 9, kind: 'data' },
];
/** Kept: the first day kept (compacted), and the open day (parts). */
export const KEPT: readonly TopicDay[] = [
  { topic: 'trades', day: DAY - 2, kind: 'data' },
  { topic: 'trades', day: DAY, kind: 'data' },
];
const COMPACTED = new Set([EXPIRED[0], EXPIRED[1], KEPT[0]]);

let sequence = 0;

async function writePart(lake: Lake, { topic, day, kind }: TopicDay, from: number): Promise<void> {
  const key = `${lake.layout.partFolder(topic, day, kind)}${partFileName(day * MS_PER_DAY + ++sequence, 'abcd1234', sequence)}`;
  const batch = batchOf(topic, [...records(0, from, from + 9), ...records(1, from, from + 9)], kind);
  await lake.store.create(key, encodeParquet(batch, { compression: 'zstd', rowGroupSize: 1000 }));
}

export async function buildExpiringLake(lake: Lake): Promise<void> {
  for (const target of [...EXPIRED, ...KEPT]) {
    await writePart(lake, target, 0);
    await writePart(lake, target, 10);
    if (!COMPACTED.has(target)) continue;
    // One file per merge window: the day is split in several compacted files.
    const result = await compactDay(target, { ...compactorOptions('unused'), lake, maxFileBytes: 1 });
    if (result.status !== 'compacted') throw new Error(`could not compact ${target.topic} ${target.day}: ${result.status}`);
  }
}

/** Every key of the lake, in order. */
/** Every key of the lake's days: the topics' schema versions belong to no day (retention keeps them) and are left out. */
export async function allKeys(lake: Lake): Promise<string[]> {
  return (await schemaAndDayKeys(lake)).filter((key) => !isSchemaKey(key));
}

/** The keys of the topics' schema versions (`_schema/…`). */
export async function schemaKeys(lake: Lake): Promise<string[]> {
  return (await schemaAndDayKeys(lake)).filter(isSchemaKey);
}

async function schemaAndDayKeys(lake: Lake): Promise<string[]> {
  return (await lake.store.list('')).objects.map((object) => object.key).sort();
}

function isSchemaKey(key: string): boolean {
  return key.split('/').includes(SCHEMA_FOLDER);
}

/**
 * What a reader that goes through the closed-day markers would find wrong: a marker whose files
 * are not all there. Empty when every marked day is whole.
 */
export async function partlyRemovedDays(lake: Lake, targets: readonly TopicDay[]): Promise<string[]> {
  const found: string[] = [];
  for (const { topic, day, kind } of targets) {
    const folder = lake.layout.dayFileFolder(topic, day, kind);
    const marker = await lake.store.read(`${folder}${closedMarkerName(topic)}`);
    if (marker === null) continue;
    const { files } = JSON.parse(Buffer.from(marker).toString('utf8')) as { files: Array<{ name: string }> };
    for (const { name } of files) if ((await lake.store.stat(`${folder}${name}`)) === null) found.push(`${folder}${name}`);
  }
  return found;
}
