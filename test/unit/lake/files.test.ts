import path from 'node:path';
import { localLake } from '../../harness/local-lake';
import { compactDay } from '../../../src/lake/compaction/compact-day';
import { findTopicFiles, listTopicDays, listTopics } from '../../../src/lake/files';
import { hiveLayout, seedLayout } from '../../../src/lake/layout';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from './compaction/lake-fixture';

describe('finding files in a lake mixing compacted days and open parts', () => {
  let lake: string;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => removeLake(lake));

  it.each([seedLayout, hiveLayout])('lists topics and days, and finds both forms of file ($name)', async (layout) => {
    // Topic "x" compacted into two files (x.parquet, x-0001.parquet) beside topic "x-0001", still open.
    await writePart(lake, 'x', records(0, 0, 9), { layout });
    await writePart(lake, 'x', records(1, 0, 9), { layout });
    await compactDay({ topic: 'x', day: DAY, kind: 'data' }, compactorOptions(lake, { lake: localLake(lake, layout), maxFileBytes: 1 }));
    await writePart(lake, 'x-0001', records(0, 0, 4), { layout });
    await writePart(lake, 'x', records(0, 10, 11), { layout, day: DAY + 1 });
    await writePart(lake, 'x', records(0, 12, 12), { layout, day: DAY + 1, kind: 'dead-letter' });

    expect(await listTopics(localLake(lake, layout))).toEqual(['x', 'x-0001']);
    expect(await listTopicDays(localLake(lake, layout))).toEqual([
      { topic: 'x', day: DAY, kind: 'data' },
      { topic: 'x-0001', day: DAY, kind: 'data' },
      { topic: 'x', day: DAY + 1, kind: 'data' },
      { topic: 'x', day: DAY + 1, kind: 'dead-letter' },
    ]);
    const files = await findTopicFiles(localLake(lake, layout), { topic: 'x' });
    expect(files.map((file) => [file.day - DAY, file.kind, file.form, file.index, path.basename(file.key).replace(/^part-.*/, 'part')])).toEqual([
      [0, 'data', 'compacted', 0, 'x.parquet'],
      [0, 'data', 'compacted', 1, 'x-0001.parquet'],
      [1, 'data', 'part', 0, 'part'],
      [1, 'dead-letter', 'part', 0, 'part'],
    ]);
    const other = await findTopicFiles(localLake(lake, layout), { topic: 'x-0001' });
    expect(other.map((file) => file.form)).toEqual(['part']);
  });

  it('finds compacted files for recovery by their compaction time', async () => {
    await writePart(lake, 'x', records(0, 0, 9), { publishedAtMs: Date.UTC(2025, 9, 17, 12) });
    const beforeCompaction = Date.now() - 1000;
    await compactDay({ topic: 'x', day: DAY, kind: 'data' }, compactorOptions(lake));

    const recent = await findTopicFiles(localLake(lake), { topic: 'x', publishedSinceMs: beforeCompaction });
    expect(recent.map((file) => [file.form, path.basename(file.key)])).toEqual([['compacted', 'x.parquet']]);
    expect(await findTopicFiles(localLake(lake), { topic: 'x', publishedSinceMs: Date.now() + 60_000 })).toEqual([]);
  });
});
