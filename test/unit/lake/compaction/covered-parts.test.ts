import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { compactDay } from '../../../../src/lake/compaction/compact-day';
import { compactionPass } from '../../../../src/lake/compaction/pass';
import type { CompactionResult } from '../../../../src/lake/compaction/compact-day';
import { parquetFiles, queryFiles } from '../../../harness/lake';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from './lake-fixture';

const TOPIC = 'trades';
const target = { topic: TOPIC, day: DAY, kind: 'data' as const };

async function pass(lake: string, held: boolean): Promise<CompactionResult[]> {
  const compacted: CompactionResult[] = [];
  await compactionPass({ compactor: compactorOptions(lake), timeZone: 'UTC', graceMs: 0, holds: () => held, onCompacted: (result) => compacted.push(result) });
  return compacted;
}

const dayFolder = (lake: string): string => path.join(lake, '2025/10/17');
const partsOf = (lake: string): string[] => readdirSync(path.join(dayFolder(lake), TOPIC)).sort();

describe('a compaction pass on a day it may not compact yet (held)', () => {
  let lake: string;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => removeLake(lake));

  it('removes the parts its compacted files hold whole, and leaves the rest for the pass that may compact', async () => {
    await writePart(lake, TOPIC, records(0, 0, 19));
    await compactDay(target, compactorOptions(lake));
    // Left by a compaction that stopped before removing its parts, or written by a member paused during its upload.
    const covered = await writePart(lake, TOPIC, records(0, 5, 15));
    const late = await writePart(lake, TOPIC, records(0, 18, 25));

    const removal = await pass(lake, true);
    expect(removal.map(({ status, files, partsRemoved, duplicatesDropped }) => ({ status, files, partsRemoved, duplicatesDropped }))).toEqual([{ status: 'compacted', files: [], partsRemoved: 1, duplicatesDropped: 11 }]);
    expect([existsSync(covered), existsSync(late)]).toEqual([false, true]);
    expect(readdirSync(dayFolder(lake)).filter((name) => name.endsWith('.parquet'))).toEqual([`${TOPIC}.parquet`]);

    expect(await pass(lake, true)).toEqual([]);
    await pass(lake, false);
    expect(readdirSync(dayFolder(lake)).filter((name) => name.endsWith('.parquet')).sort()).toEqual([`${TOPIC}-0001.parquet`, `${TOPIC}.parquet`]);
    const [counts] = await queryFiles(parquetFiles(lake), 'SELECT count(*) AS n, count(DISTINCT kafka_offset) AS d FROM {files}');
    expect([Number(counts.n), Number(counts.d)]).toEqual([26, 26]);
  });

  it('reads nothing of a day never compacted', async () => {
    await writePart(lake, TOPIC, records(0, 0, 9));
    await writePart(lake, TOPIC, records(0, 0, 9));
    expect(await pass(lake, true)).toEqual([]);
    expect(partsOf(lake)).toHaveLength(2);
  });
});
