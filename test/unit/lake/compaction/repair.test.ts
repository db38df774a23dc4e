import { existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { compactDay, type CompactionStep, type CompactorOptions } from '../../../../src/lake/compaction/compact-day';
import { repairLake } from '../../../../src/lake/compaction/repair';
import { footerAt, localLake } from '../../../harness/local-lake';
import { compactionJournalName } from '../../../../src/lake/layout';
import { readJournal } from '../../../../src/lake/compaction/journal';
import { parquetFiles, queryFiles } from '../../../harness/lake';
import { DAY, compactorOptions, records, removeLake, snapshotLake, tempLake, writePart } from './lake-fixture';

const TOPIC = 'trades';
const target = { topic: TOPIC, day: DAY, kind: 'data' as const };
const STEPS: CompactionStep[] = ['locked', 'scanned', 'written', 'committed', 'renamed', 'removed', 'marked'];
/** 2 partitions × 60 offsets, of which the late parts hold 40-59 and replay 35-39. */
const EXPECTED_ROWS = 120;
/** Late parts replay offsets 35-39 of both partitions: duplicates until compaction merges them. */
const ROWS_BEFORE_COMPACTION = 130;
/** Each partition's window starts a new file: the day is split, so renames come in several. */
const SPLIT_EVERY_WINDOW = 1;

class SimulatedCrash extends Error {}

/** A compacted day (split in several files by a small size limit) and late parts for it. */
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

async function expectExactlyOnce(lake: string): Promise<void> {
  expect(await countRows(lake)).toEqual({ rows: EXPECTED_ROWS, distinct: EXPECTED_ROWS });
}

/** Runs a compaction that crashes after `crashStep`; returns a copy of the lake as the crash left it. */
async function crashAt(lake: string, crashStep: CompactionStep, overrides: Partial<CompactorOptions> = {}): Promise<string> {
  let snapshot: string | null = null;
  const onStep = (step: CompactionStep): void => {
    if (step !== crashStep) return;
    snapshot = snapshotLake(lake);
    throw new SimulatedCrash(step);
  };
  await expect(compactDay(target, compactorOptions(lake, { ...overrides, onStep }))).rejects.toThrow(crashStep);
  if (snapshot === null) throw new Error(`the compaction never reached ${crashStep}`);
  return snapshot;
}

function hiddenFiles(lake: string): string[] {
  return readdirSync(path.join(lake, '2025/10/17')).filter((name) => name.startsWith('.'));
}

describe('repairLake after a crash at each step of a compaction', () => {
  const lakes: string[] = [];
  afterAll(() => lakes.forEach(removeLake));

  it.each(STEPS)('crash after "%s": repair leaves every offset exactly once, the next pass compacts', async (crashStep) => {
    const lake = await lakeWithLateParts();
    const snapshot = await crashAt(lake, crashStep, { maxFileBytes: SPLIT_EVERY_WINDOW });
    lakes.push(lake, snapshot);

    // A restarted collector: the crashed one's lease has run out by then.
    const report = await repairLake({ lake: localLake(snapshot), owner: 'restarted', leaseMs: 30_000, now: () => Date.now() + 120_000 });

    // Undone before the commit (the lake as before, late replays included), finished after it.
    const committed = STEPS.indexOf(crashStep) >= STEPS.indexOf('committed');
    expect(report.finished.length).toBe(committed ? 1 : 0);
    expect(hiddenFiles(snapshot)).toEqual([]);
    expect(await countRows(snapshot)).toEqual({ rows: committed ? EXPECTED_ROWS : ROWS_BEFORE_COMPACTION, distinct: EXPECTED_ROWS });
    await compactDay(target, compactorOptions(snapshot, { maxFileBytes: SPLIT_EVERY_WINDOW }));
    await expectExactlyOnce(snapshot);
    expect(existsSync(path.join(snapshot, '2025/10/17', TOPIC))).toBe(false);
  });

  it('finishes a compaction that crashed between two renames', async () => {
    const lake = await lakeWithLateParts();
    const snapshot = await crashAt(lake, 'committed', { maxFileBytes: SPLIT_EVERY_WINDOW });
    lakes.push(lake, snapshot);
    const journal = await readJournal(localLake(snapshot).store, `2025/10/17/${compactionJournalName(TOPIC)}`);
    expect(journal?.outputs.length).toBeGreaterThan(1);
    const first = journal?.outputs[0];
    if (first !== undefined) renameSync(path.join(snapshot, first.temp), path.join(snapshot, first.final));

    await repairLake({ lake: localLake(snapshot), owner: 'restarted', leaseMs: 30_000, now: () => Date.now() + 120_000 });

    await expectExactlyOnce(snapshot);
    expect(existsSync(path.join(snapshot, '2025/10/17', TOPIC))).toBe(false);
  });

  it('removes parts whose offsets a compacted file already covers, and keeps the others', async () => {
    const lake = tempLake();
    lakes.push(lake);
    await writePart(lake, TOPIC, records(0, 0, 9));
    await compactDay(target, compactorOptions(lake));
    // As if a crash had left a part behind after its compacted file appeared, plus a genuinely late one.
    const covered = await writePart(lake, TOPIC, records(0, 2, 5));
    const late = await writePart(lake, TOPIC, records(0, 8, 12));

    const report = await repairLake({ lake: localLake(lake), owner: 'restarted', leaseMs: 30_000, now: Date.now });

    expect(report.coveredPartsRemoved).toEqual([path.relative(lake, covered)]);
    expect(existsSync(late)).toBe(true);
    expect(Object.fromEntries((await footerAt(path.join(lake, '2025/10/17', `${TOPIC}.parquet`))).ranges)).toEqual({ 0: [[0, 9]] });
  });

  it('leaves a day whose lock a live collector holds', async () => {
    const lake = await lakeWithLateParts();
    const snapshot = await crashAt(lake, 'written');
    lakes.push(lake, snapshot);

    const report = await repairLake({ lake: localLake(snapshot), owner: 'other', leaseMs: 30_000, now: Date.now });

    expect(report.skippedLocked).toEqual([target]);
    expect(hiddenFiles(snapshot).some((name) => name.endsWith('.compacting'))).toBe(true);
  });
});
