import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { compactDay, type CompactionStep } from '../../../../src/lake/compaction/compact-day';
import { localLake } from '../../../harness/local-lake';
import type { Lake } from '../../../../src/lake/lake';
import type { LakeStore } from '../../../../src/lake/store/lake-store';
import { parquetFiles, queryFiles } from '../../../harness/lake';
import { DAY, compactorOptions, records, removeLake, snapshotLake, tempLake, writePart } from './lake-fixture';

const TOPIC = 'trades';
const target = { topic: TOPIC, day: DAY, kind: 'data' as const };
const STEPS: CompactionStep[] = ['locked', 'scanned', 'created', 'marked', 'removed'];
/** 2 partitions × 60 offsets, of which the late parts hold 40-59 and replay 35-39. */
const EXPECTED_ROWS = 120;
/** Each partition's window starts a new file: a pass creates several files, one at a time. */
const SPLIT_EVERY_WINDOW = 1;
/** Far enough ahead that the crashed compactor's lease has run out. */
const AFTER_THE_LEASE = 120_000;

class SimulatedCrash extends Error {}

/** A compacted day (split in several files) and late parts for it, some of them replays. */
async function lakeWithLateParts(): Promise<string> {
  const lake = tempLake();
  for (const partition of [0, 1]) {
    await writePart(lake, TOPIC, records(partition, 0, 19, (o) => ({ v: o })));
    await writePart(lake, TOPIC, records(partition, 20, 39, (o) => ({ v: o, s: `x${o}` })));
  }
  await compactDay(target, compactorOptions(lake, { maxFileBytes: SPLIT_EVERY_WINDOW }));
  for (const partition of [0, 1]) await writePart(lake, TOPIC, records(partition, 35, 59, (o) => ({ v: o + 0.5 })));
  return lake;
}

async function countRows(lake: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await queryFiles(parquetFiles(lake), 'SELECT count(*) AS n, count(DISTINCT (kafka_partition, kafka_offset)) AS d FROM {files}');
  return { rows: Number(row.n), distinct: Number(row.d) };
}

function dayFolder(lake: string): string {
  return path.join(lake, '2025/10/17');
}

/** Runs a compaction that crashes after `crashStep` (its first time); returns a copy of the lake as the crash left it. */
async function crashAt(lake: string, crashStep: CompactionStep): Promise<string> {
  let snapshot: string | null = null;
  const onStep = (step: CompactionStep): void => {
    if (step !== crashStep || snapshot !== null) return;
    snapshot = snapshotLake(lake);
    throw new SimulatedCrash(step);
  };
  await expect(compactDay(target, compactorOptions(lake, { maxFileBytes: SPLIT_EVERY_WINDOW, onStep }))).rejects.toThrow(crashStep);
  if (snapshot === null) throw new Error(`the compaction never reached ${crashStep}`);
  return snapshot;
}

interface PausedCompactor {
  readonly lake: Lake;
  /** Resolves once the compactor waits before the create. */
  readonly paused: Promise<void>;
  readonly resume: () => void;
}

/**
 * The lake at `dir`, through a store whose `create` of keys matching `pattern` waits until resumed:
 * a compactor paused (a stopped container, a long GC) after its lease check, just before it writes.
 */
function pausedBeforeCreate(dir: string, pattern: RegExp): PausedCompactor {
  const lake = localLake(dir);
  let pausedNow: () => void = () => undefined;
  let resume: () => void = () => undefined;
  const paused = new Promise<void>((resolve) => {
    pausedNow = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const store = new Proxy(lake.store, {
    get(inner, property: keyof LakeStore) {
      if (property !== 'create') return (inner[property] as (...args: unknown[]) => unknown).bind(inner);
      return async (key: string, body: Parameters<LakeStore['create']>[1]) => {
        if (pattern.test(key)) {
          pausedNow();
          await gate;
        }
        return inner.create(key, body);
      };
    },
  });
  return { lake: { ...lake, store }, paused, resume };
}

describe('compactDay after a crash at each step, and against a compactor left behind', () => {
  const lakes: string[] = [];
  afterAll(() => lakes.forEach(removeLake));

  it.each(STEPS)('crash after "%s": the next pass leaves every offset exactly once and no part', async (crashStep) => {
    const lake = await lakeWithLateParts();
    const snapshot = await crashAt(lake, crashStep);
    lakes.push(lake, snapshot);
    // Whatever the crash left, nothing a reader of the day's files sees is there twice.
    const dayFiles = readdirSync(dayFolder(snapshot)).filter((name) => name.endsWith('.parquet')).map((name) => path.join(dayFolder(snapshot), name));
    const [visible] = await queryFiles(dayFiles, 'SELECT count(*) AS n, count(DISTINCT (kafka_partition, kafka_offset)) AS d FROM {files}');
    expect(visible.n).toBe(visible.d);

    const result = await compactDay(target, compactorOptions(snapshot, { owner: 'restarted', maxFileBytes: SPLIT_EVERY_WINDOW, now: () => Date.now() + AFTER_THE_LEASE }));

    expect(result.status).toBe(crashStep === 'removed' ? 'nothing' : 'compacted');
    expect(await countRows(snapshot)).toEqual({ rows: EXPECTED_ROWS, distinct: EXPECTED_ROWS });
    expect(existsSync(path.join(dayFolder(snapshot), TOPIC))).toBe(false);
    expect(readdirSync(dayFolder(snapshot)).filter((name) => name.startsWith('.'))).toEqual([]);
    const marker = JSON.parse(readFileSync(path.join(dayFolder(snapshot), `_SUCCESS.${TOPIC}.json`), 'utf8')) as { rows: number; files: unknown[] };
    expect(marker.rows).toBe(EXPECTED_ROWS);
    expect(marker.files).toHaveLength(readdirSync(dayFolder(snapshot)).filter((name) => name.endsWith('.parquet')).length);
  });

  it('a compactor paused past its lease just before it creates a file cannot put back an older merge: its create is refused', async () => {
    const lake = tempLake();
    lakes.push(lake);
    for (const partition of [0, 1]) await writePart(lake, TOPIC, records(partition, 0, 29, (o) => ({ v: o })));
    const left = pausedBeforeCreate(lake, /trades\.parquet$/);
    const leftBehind = compactDay(target, compactorOptions(lake, { owner: 'left-behind', lake: left.lake }));
    await left.paused;

    // Meanwhile: a late part the paused compactor never saw, and another collector that takes the
    // expired lease over and compacts everything, the late part included.
    await writePart(lake, TOPIC, records(0, 30, 39, (o) => ({ v: o, late: true })));
    const survivor = await compactDay(target, compactorOptions(lake, { owner: 'survivor', now: () => Date.now() + AFTER_THE_LEASE }));
    expect(survivor).toMatchObject({ status: 'compacted', rows: 70, partsRemoved: 3 });
    left.resume();

    await expect(leftBehind).resolves.toMatchObject({ status: 'locked', files: [], partsRemoved: 0 });
    expect(await countRows(lake)).toEqual({ rows: 70, distinct: 70 });
    expect(readdirSync(dayFolder(lake)).filter((name) => name.endsWith('.parquet'))).toEqual([`${TOPIC}.parquet`]);
  });

  it('two compactors that saw different files aim at the same next key: the second is refused', async () => {
    const lake = tempLake();
    lakes.push(lake);
    await writePart(lake, TOPIC, records(0, 0, 9));
    await compactDay(target, compactorOptions(lake));
    await writePart(lake, TOPIC, records(0, 10, 19));
    const left = pausedBeforeCreate(lake, /-0001\.parquet$/);
    const leftBehind = compactDay(target, compactorOptions(lake, { owner: 'left-behind', lake: left.lake }));
    await left.paused;
    await writePart(lake, TOPIC, records(0, 20, 29));
    await expect(compactDay(target, compactorOptions(lake, { owner: 'survivor', now: () => Date.now() + AFTER_THE_LEASE }))).resolves.toMatchObject({ status: 'compacted', rows: 20 });
    left.resume();

    await expect(leftBehind).resolves.toMatchObject({ status: 'locked' });
    expect(await countRows(lake)).toEqual({ rows: 30, distinct: 30 });
  });
});
