import path from 'node:path';
import { compactDay } from '../../../../src/lake/compaction/compact-day';
import { TopicSchemas } from '../../../../src/lake/topic-schema';
import { localLake } from '../../../harness/local-lake';
import { queryFiles } from '../../../harness/lake';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from './lake-fixture';

/** The fixture writes parts as an earlier collector did: a column of only nulls is typed text. */
describe("a closed day's columns: the topic's schema, not text for a column an earlier collector saw only as nulls", () => {
  let lake: string;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => removeLake(lake));

  const target = { topic: 'trades', day: DAY, kind: 'data' as const };
  const dayFile = (): string => path.join(lake, '2025/10/17/trades.parquet');
  const columnTypes = async (): Promise<Record<string, unknown>> =>
    Object.fromEntries((await queryFiles([dayFile()], 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * EXCLUDE (filename) FROM {files})')).map((row) => [row.name, row.type]));

  it('a null-only text column beside doubles is a double column, and text with values stays text', async () => {
    await writePart(lake, 'trades', records(0, 0, 2, () => ({ price: null, note: 'x' })));
    await writePart(lake, 'trades', records(0, 3, 4, (o) => ({ price: o + 0.5, note: null })));
    expect((await compactDay(target, compactorOptions(lake))).status).toBe('compacted');
    expect(await columnTypes()).toMatchObject({ price: 'DOUBLE', note: 'VARCHAR' });
    expect(await queryFiles([dayFile()], 'SELECT price, note FROM {files} ORDER BY kafka_offset')).toEqual([
      { price: null, note: 'x' },
      { price: null, note: 'x' },
      { price: null, note: 'x' },
      { price: 3.5, note: null },
      { price: 4.5, note: null },
    ]);
  });

  it("takes the type the topic's schema knows, and leaves out a column no one has a type for", async () => {
    await new TopicSchemas({ lake: localLake(lake), instanceId: 'writer', now: Date.now }).settle('trades', [['qty', 'int64']]);
    await writePart(lake, 'trades', records(0, 0, 2, () => ({ qty: null, gone: null })));
    await compactDay(target, compactorOptions(lake));
    const types = await columnTypes();
    expect(types).toMatchObject({ qty: 'BIGINT' });
    expect(types).not.toHaveProperty('gone');
  });
});
