import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compactDay } from '../../../../src/lake/compaction/compact-day';
import { footerAt, localLake } from '../../../harness/local-lake';
import { hiveLayout, compactionLockName } from '../../../../src/lake/layout';
import { verifyOutput } from '../../../../src/commands/verify';
import { parquetFiles, queryFiles } from '../../../harness/lake';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from './lake-fixture';

const TOPIC = 'market_data';
const dayDir = (lake: string): string => path.join(lake, '2025/10/17');
const target = { topic: TOPIC, day: DAY, kind: 'data' as const };

describe('compactDay', () => {
  let lake: string;
  beforeEach(() => {
    lake = tempLake();
  });
  afterEach(() => removeLake(lake));

  it('merges drifting parts into the seed path, ordered, without duplicates, with merged footer ranges', async () => {
    // Part 1: price is an integer, flag a boolean; part 2: price has fractions, a note column
    // appears and flag disappears; part 3 replays offsets 8-9 of partition 0 (a crash before
    // commit) and has flag as a number (boolean ⊔ int64 = string).
    await writePart(lake, TOPIC, [...records(1, 0, 3, (o) => ({ price: o, flag: o % 2 === 0 })), ...records(0, 0, 4, (o) => ({ price: o, flag: true }))]);
    await writePart(lake, TOPIC, [...records(0, 5, 9, (o) => ({ price: o + 0.5, note: `n${o}` })), ...records(1, 4, 5, (o) => ({ price: o + 0.25 }))]);
    await writePart(lake, TOPIC, records(0, 8, 11, (o) => ({ price: o + 0.5, note: `n${o}`, flag: 1 })));

    const result = await compactDay(target, compactorOptions(lake));

    expect(result).toMatchObject({ status: 'compacted', rows: 18, partsRemoved: 3, duplicatesDropped: 2 });
    const file = path.join(dayDir(lake), `${TOPIC}.parquet`);
    const rows = await queryFiles([file], 'SELECT kafka_partition AS p, kafka_offset AS o, price, note, flag FROM {files}');
    expect(rows.map((row) => [Number(row.p), Number(row.o)])).toEqual([
      ...Array.from({ length: 12 }, (_, o) => [0, o]),
      ...Array.from({ length: 6 }, (_, o) => [1, o]),
    ]);
    expect(rows[0]).toMatchObject({ price: 0, note: null, flag: 'true' });
    expect(rows[6]).toMatchObject({ price: 6.5, note: 'n6', flag: null });
    expect(rows[11]).toMatchObject({ price: 11.5, note: 'n11', flag: '1' });
    expect(rows[16]).toMatchObject({ price: 4.25, flag: null });
    const types = await queryFiles([file], "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {files}) WHERE column_name IN ('price', 'flag', 'kafka_offset', 'kafka_timestamp')");
    expect(Object.fromEntries(types.map((row) => [row.column_name, row.column_type]))).toEqual({
      kafka_offset: 'BIGINT',
      kafka_timestamp: 'TIMESTAMP WITH TIME ZONE',
      price: 'DOUBLE',
      flag: 'VARCHAR',
    });
    const footer = await footerAt(file);
    expect(footer).toMatchObject({ topic: TOPIC, kind: 'data', version: 'test', rows: 18 });
    expect(Object.fromEntries(footer.ranges)).toEqual({ 0: [[0, 11]], 1: [[0, 5]] });
    expect(existsSync(path.join(dayDir(lake), TOPIC))).toBe(false);
    const marker = JSON.parse(readFileSync(path.join(dayDir(lake), `_SUCCESS.${TOPIC}.json`), 'utf8')) as Record<string, unknown>;
    expect(marker).toMatchObject({ topic: TOPIC, date: '2025-10-17', closed: true, rows: 18, partsMerged: 3 });
    expect(readdirSync(dayDir(lake)).filter((name) => name.startsWith('.'))).toEqual([]);
    expect((await verifyOutput({ lake: localLake(lake), topics: [] })).failed).toBe(false);
  });

  it('writes records that came after the day was compacted to the next file, never replacing the day file', async () => {
    await writePart(lake, TOPIC, records(0, 0, 9, (o) => ({ v: o })));
    await compactDay(target, compactorOptions(lake));
    const dayFile = path.join(dayDir(lake), `${TOPIC}.parquet`);
    const before = readFileSync(dayFile);
    // Late records, one of them a replay of an offset already compacted.
    await writePart(lake, TOPIC, [...records(0, 9, 12, (o) => ({ v: o, late: true })), ...records(2, 0, 1, (o) => ({ v: o }))]);
    const verifyMixed = await verifyOutput({ lake: localLake(lake), topics: [] });
    expect(verifyMixed.files).toBe(2);
    expect(verifyMixed.reports.find((r) => r.partition === 0)?.duplicates).toBe(1);

    const result = await compactDay(target, compactorOptions(lake));

    expect(result).toMatchObject({ status: 'compacted', rows: 5, partsRemoved: 1, duplicatesDropped: 1 });
    expect(result.files.map((file) => file.name)).toEqual([`${TOPIC}-0001.parquet`]);
    expect(readFileSync(dayFile).equals(before)).toBe(true);
    const rows = await queryFiles(parquetFiles(lake), 'SELECT kafka_partition AS p, kafka_offset AS o, v, late FROM {files} ORDER BY p, o');
    expect(rows).toHaveLength(15);
    expect(rows[9]).toMatchObject({ o: 9n, v: 9n, late: null });
    expect(rows[12]).toMatchObject({ o: 12n, late: true });
    expect(Object.fromEntries((await footerAt(dayFile)).ranges)).toEqual({ 0: [[0, 9]] });
    expect(Object.fromEntries((await footerAt(path.join(dayDir(lake), `${TOPIC}-0001.parquet`))).ranges)).toEqual({ 0: [[10, 12]], 2: [[0, 1]] });
    const marker = JSON.parse(readFileSync(path.join(dayDir(lake), `_SUCCESS.${TOPIC}.json`), 'utf8')) as { files: Array<{ name: string }>; rows: number };
    expect({ files: marker.files.map((file) => file.name), rows: marker.rows }).toEqual({ files: [`${TOPIC}.parquet`, `${TOPIC}-0001.parquet`], rows: 15 });
    expect((await verifyOutput({ lake: localLake(lake), topics: [] })).failed).toBe(false);
  });

  it('removes a late part whose every offset the day file holds, without a new file', async () => {
    await writePart(lake, TOPIC, records(0, 0, 9));
    await compactDay(target, compactorOptions(lake));
    await writePart(lake, TOPIC, records(0, 2, 5));

    const result = await compactDay(target, compactorOptions(lake));

    expect(result).toMatchObject({ status: 'compacted', files: [], rows: 0, partsRemoved: 1, duplicatesDropped: 4 });
    expect(readdirSync(dayDir(lake)).sort()).toEqual([`_SUCCESS.${TOPIC}.json`, `${TOPIC}.parquet`]);
  });

  it('compacts dead letters into _dead_letter/<topic>.parquet and leaves the data parts alone', async () => {
    await writePart(lake, TOPIC, records(0, 3, 4, () => ({ reason: 'not msgpack', raw: new Uint8Array([1, 2]) })), { kind: 'dead-letter' });
    await writePart(lake, TOPIC, records(0, 0, 2));

    const result = await compactDay({ ...target, kind: 'dead-letter' }, compactorOptions(lake));

    expect(result).toMatchObject({ status: 'compacted', rows: 2 });
    const file = path.join(dayDir(lake), '_dead_letter', `${TOPIC}.parquet`);
    expect(await footerAt(file)).toMatchObject({ kind: 'dead-letter', topic: TOPIC });
    expect(existsSync(path.join(dayDir(lake), TOPIC))).toBe(true);
    expect(existsSync(path.join(dayDir(lake), '_dead_letter', TOPIC))).toBe(false);
  });

  it('compacts in the Hive layout inside the partition folder', async () => {
    await writePart(lake, TOPIC, records(0, 0, 4), { layout: hiveLayout });
    await writePart(lake, TOPIC, records(0, 5, 6), { layout: hiveLayout });

    await compactDay(target, compactorOptions(lake, { lake: localLake(lake, hiveLayout) }));

    const folder = path.join(lake, `topic=${TOPIC}`, 'date=2025-10-17');
    expect(readdirSync(folder).sort()).toEqual([`_SUCCESS.${TOPIC}.json`, `${TOPIC}.parquet`]);
    const glob = path.join(lake, '*/*/*.parquet');
    const rows = await queryFiles([glob], `SELECT count(*) AS n, min(date)::VARCHAR AS d, min(topic) AS t FROM read_parquet('${glob}', hive_partitioning = true)`);
    expect(rows[0]).toEqual({ n: 7n, d: '2025-10-17', t: TOPIC });
  });

  it('compacts a day larger than a small memory bound window by window, split into numbered files', async () => {
    for (let i = 0; i < 40; i++) {
      await writePart(lake, TOPIC, [...records(0, i * 50, i * 50 + 49, (o) => ({ v: o * 2, s: `r${o}` })), ...records(1, i * 50, i * 50 + 49, (o) => ({ v: o * 2 }))]);
    }
    const windows: number[] = [];
    // A budget of a few parts' row groups: 80 row groups need many windows.
    const result = await compactDay(
      target,
      compactorOptions(lake, { memoryBytes: 3 * 2048, maxFileBytes: 4096, encode: { compression: 'zstd', rowGroupSize: 1000 }, onProgress: (p) => windows.push(p.rowsDone) }),
    );

    expect(result.status).toBe('compacted');
    expect(result.windowsOverBudget).toBe(0);
    expect(windows.length).toBeGreaterThan(10);
    expect(result.files.length).toBeGreaterThan(2);
    expect(result.files.map((f) => f.name).slice(0, 3)).toEqual([`${TOPIC}.parquet`, `${TOPIC}-0001.parquet`, `${TOPIC}-0002.parquet`]);
    const glob = path.join(dayDir(lake), '*.parquet');
    const [summary] = await queryFiles([glob], 'SELECT count(*) AS n, count(DISTINCT (kafka_partition, kafka_offset)) AS d, sum(CASE WHEN v = kafka_offset * 2 THEN 1 ELSE 0 END) AS ok FROM {files}');
    expect(summary).toEqual({ n: 4000n, d: 4000n, ok: 4000n });
    let covered = 0;
    for (const file of result.files) {
      const footer = await footerAt(path.join(dayDir(lake), file.name));
      expect(footer.rows).toBe(file.rows);
      for (const ranges of footer.ranges.values()) for (const [first, last] of ranges) covered += last - first + 1;
    }
    expect(covered).toBe(4000);
    expect((await verifyOutput({ lake: localLake(lake), topics: [] })).failed).toBe(false);
  });

  it('refuses to replace another topic\'s file when a split name clashes with a topic name', async () => {
    await writePart(lake, 'x-0001', records(0, 0, 4));
    await compactDay({ ...target, topic: 'x-0001' }, compactorOptions(lake));
    await writePart(lake, 'x', records(0, 0, 4));
    await writePart(lake, 'x', records(1, 0, 4));

    await expect(compactDay({ ...target, topic: 'x' }, compactorOptions(lake, { maxFileBytes: 1 }))).rejects.toMatchObject({ code: 'COMPACTION_INCONSISTENT' });

    expect((await footerAt(path.join(dayDir(lake), 'x-0001.parquet'))).topic).toBe('x-0001');
    expect(readdirSync(path.join(dayDir(lake), 'x'))).toHaveLength(2);
  });

  it('does nothing for a day without parts', async () => {
    await expect(compactDay(target, compactorOptions(lake))).resolves.toMatchObject({ status: 'nothing' });
  });

  it('leaves a day alone while another collector holds its lease, and takes an expired lease over', async () => {
    await writePart(lake, TOPIC, records(0, 0, 4));
    const lockPath = path.join(dayDir(lake), compactionLockName(TOPIC));
    writeFileSync(lockPath, JSON.stringify({ owner: 'other', expiresAtMs: Date.now() + 60_000 }));
    await expect(compactDay(target, compactorOptions(lake))).resolves.toMatchObject({ status: 'locked' });
    writeFileSync(lockPath, JSON.stringify({ owner: 'other', expiresAtMs: Date.now() - 1 }));
    await expect(compactDay(target, compactorOptions(lake))).resolves.toMatchObject({ status: 'compacted' });
    expect(existsSync(lockPath)).toBe(false);
  });

  it('lets only one of two racing compactors compact a day', async () => {
    for (let i = 0; i < 6; i++) await writePart(lake, TOPIC, records(i % 2, i * 10, i * 10 + 9, (o) => ({ v: o })));
    const results = await Promise.all(['a', 'b'].map((owner) => compactDay(target, compactorOptions(lake, { owner }))));

    expect(results.map((r) => r.status).sort()).toEqual(expect.arrayContaining(['compacted']));
    expect(results.filter((r) => r.status === 'compacted')).toHaveLength(1);
    const rows = await queryFiles(parquetFiles(lake), 'SELECT count(*) AS n, count(DISTINCT (kafka_partition, kafka_offset)) AS d FROM {files}');
    expect(rows[0]).toEqual({ n: 60n, d: 60n });
  });
});
