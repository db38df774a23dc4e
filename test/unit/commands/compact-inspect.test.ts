import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { compactClosedDays } from '../../../src/commands/compact';
import { runCompactCommand } from '../../../src/commands/compact-cli';
import { inspectLake } from '../../../src/commands/inspect';
import { parseInspectDay, runInspectCommand } from '../../../src/commands/inspect-cli';
import { verifyOutput } from '../../../src/commands/verify';
import { localLake } from '../../harness/local-lake';
import { dayInTimeZone } from '../../../src/lake/day-cut';
import { queryFiles } from '../../harness/lake';
import { DAY, compactorOptions, records, removeLake, tempLake, writePart } from '../lake/compaction/lake-fixture';
import { TopicSchemas } from '../../../src/lake/topic-schema';

async function captureStdout(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await run(), out };
  } finally {
    spy.mockRestore();
  }
}

describe('compact and inspect on a lake mixing compacted days and open parts', () => {
  let lake: string;
  const today = dayInTimeZone(Date.now(), 'UTC');
  beforeEach(async () => {
    lake = tempLake();
    await writePart(lake, 'trades', records(0, 0, 4, (o) => ({ price: o * 10, side: o % 2 === 0 ? 'buy' : null })));
    await writePart(lake, 'trades', records(0, 8, 9, (o) => ({ price: o + 0.5 })));
    await writePart(lake, 'quotes', records(1, 0, 2, (o) => ({ bid: o })), { day: DAY + 1 });
    await writePart(lake, 'trades', records(0, 10, 11), { day: today });
  });
  afterEach(() => removeLake(lake));

  it('compacts every closed day and leaves the open one', async () => {
    const result = await compactClosedDays({ compactor: compactorOptions(lake), topics: [], timeZone: 'UTC', graceMs: 0 });

    expect(result.failures).toEqual([]);
    expect(result.results.map((r) => [r.target.topic, r.target.day - DAY, r.status])).toEqual([
      ['trades', 0, 'compacted'],
      ['quotes', 1, 'compacted'],
    ]);
    const [count] = await queryFiles([path.join(lake, '2025/10/17/*.parquet'), path.join(lake, '2025/10/18/*.parquet')], 'SELECT count(*) AS n FROM {files}');
    expect(count.n).toBe(10n);
    expect((await verifyOutput({ lake: localLake(lake), topics: [] })).failed).toBe(false);
  });

  it('compacts only the topic and day asked for, and refuses an open day', async () => {
    const one = await compactClosedDays({ compactor: compactorOptions(lake), topics: ['quotes'], day: DAY + 1, timeZone: 'UTC', graceMs: 0 });
    expect(one.results.map((r) => r.target.topic)).toEqual(['quotes']);
    const open = await compactClosedDays({ compactor: compactorOptions(lake), topics: [], day: today, timeZone: 'UTC', graceMs: 0 });
    expect(open).toMatchObject({ results: [], dayOpen: true });
  });

  it('runs from the command line and prints JSON', async () => {
    const { code, out } = await captureStdout(() => runCompactCommand(['--output-dir', lake, '--topic', 'trades', '--json']));
    expect(code).toBe(0);
    expect((JSON.parse(out) as { results: unknown[] }).results).toHaveLength(1);
    expect((await captureStdout(() => runCompactCommand(['--day', '2025-13-01', '--output-dir', lake]))).code).toBe(2);
  });

  it("--rewrite writes again, in place and once, the files of a closed day that lack the topic's newest schema; a crash in the middle is finished by the next run", async () => {
    await compactClosedDays({ compactor: compactorOptions(lake), topics: [], timeZone: 'UTC', graceMs: 0 });
    // A widening after the days were compacted: price becomes text, a column appears.
    await new TopicSchemas({ lake: localLake(lake), instanceId: 'other', now: Date.now }).settle('trades', [['price', 'string'], ['late', 'boolean']]);
    const dayFile = path.join(lake, '2025/10/17/trades.parquet');
    const crashed = await compactClosedDays({
      compactor: compactorOptions(lake, {
        onStep: (step) => {
          if (step === 'created') throw new Error('killed after the first file');
        },
      }),
      topics: [],
      timeZone: 'UTC',
      graceMs: 0,
      rewrite: true,
    });
    expect(crashed.failures.map((f) => [f.target.topic, f.error])).toEqual([['trades', expect.stringContaining('killed after the first file')]]);

    const finished = await compactClosedDays({ compactor: compactorOptions(lake), topics: [], timeZone: 'UTC', graceMs: 0, rewrite: true });
    expect(finished.failures).toEqual([]);
    const types = await queryFiles([dayFile], 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT price, late FROM {files})');
    expect(types).toEqual([
      { name: 'price', type: 'VARCHAR' },
      { name: 'late', type: 'BOOLEAN' },
    ]);
    const rows = await queryFiles([dayFile], 'SELECT kafka_offset::INT AS o, price, late FROM {files} ORDER BY o');
    expect(rows).toEqual([0, 1, 2, 3, 4, 8, 9].map((o) => ({ o, price: String(o < 5 ? o * 10 : o + 0.5), late: null })));
    expect((await verifyOutput({ lake: localLake(lake), topics: [] })).failed).toBe(false);
    // The marker lists the day's files as they are after the rewrite.
    const marker = JSON.parse(readFileSync(path.join(lake, '2025/10/17/_SUCCESS.trades.json'), 'utf8')) as { files: Array<{ name: string; rows: number; bytes: number }> };
    expect(marker.files.map(({ name, rows, bytes }) => ({ name, rows, bytes }))).toEqual([{ name: 'trades.parquet', rows: 7, bytes: statSync(dayFile).size }]);
    // Current already: nothing to rewrite.
    expect((await compactClosedDays({ compactor: compactorOptions(lake), topics: [], timeZone: 'UTC', graceMs: 0, rewrite: true })).results).toEqual([]);
  });

  it('inspect lists days and topics, then describes a day: files, columns, nulls, numeric stats, offsets with gaps, first rows', async () => {
    await compactClosedDays({ compactor: compactorOptions(lake), topics: ['quotes'], timeZone: 'UTC', graceMs: 0 });
    const overview = await inspectLake({ lake: localLake(lake), topics: [], firstRows: 3 });
    expect(overview.topics).toEqual(['quotes', 'trades']);
    expect(overview.entries.map((e) => [e.date, e.topic, e.state, e.rows])).toEqual([
      ['2025-10-17', 'trades', 'open', 7],
      ['2025-10-18', 'quotes', 'compacted', 3],
      [expect.any(String), 'trades', 'open', 2],
    ]);

    const day = await inspectLake({ lake: localLake(lake), topics: ['trades'], day: DAY, firstRows: 3 });
    const [entry] = day.entries;
    expect(entry.files.map((f) => f.form)).toEqual(['part', 'part']);
    expect(entry.offsets).toEqual([{ partition: 0, ranges: [[0, 4], [8, 9]], gaps: [[5, 7]] }]);
    const columns = Object.fromEntries((entry.columns ?? []).map((c) => [c.name, c]));
    expect(columns.price).toEqual({ name: 'price', type: 'double', nulls: 0, min: 0, max: 40, mean: (0 + 10 + 20 + 30 + 40 + 8.5 + 9.5) / 7 });
    expect(columns.side).toEqual({ name: 'side', type: 'string', nulls: 4 });
    expect(columns.kafka_timestamp.type).toBe('timestamp_ms');
    expect(entry.firstRows?.[0]).toMatchObject({ kafka_offset: 0, price: 0, side: 'buy', kafka_timestamp: '2025-10-17T00:00:00.000Z' });
    expect(entry.firstRows).toHaveLength(3);
  });

  it('inspect from the command line: a table on a terminal, JSON with --json, today in the collector\'s zone', async () => {
    const table = await captureStdout(() => runInspectCommand(['2025/10/17', '--output-dir', lake]));
    expect(table.code).toBe(0);
    expect(table.out).toContain('== trades 2025-10-17: open, 7 rows in 2 file(s)');
    expect(table.out).toMatch(/0\t0-4,8-9\t5-7/);
    const json = await captureStdout(() => runInspectCommand(['today', '--json', '--output-dir', lake]));
    expect((JSON.parse(json.out) as { entries: Array<{ rows: number }> }).entries.map((e) => e.rows)).toEqual([2]);
    expect(parseInspectDay('today', Date.parse('2025-10-17T23:30:00Z'), 'Europe/Paris')).toBe(DAY + 1);
    expect(() => parseInspectDay('17.10.2025', 0, 'UTC')).toThrow(RangeError);
  });
});

describe('inspect --schema', () => {
  let lake: string;
  beforeEach(async () => {
    lake = tempLake();
    const schemas = new TopicSchemas({ lake: localLake(lake), instanceId: 'abc123', now: () => Date.UTC(2026, 0, 2) });
    await schemas.settle('trades', [['price', 'int64'], ['side', null]]);
    await schemas.settle('trades', [['price', 'double'], ['side', 'string']]);
  });
  afterEach(() => removeLake(lake));

  it("prints a topic's columns and each widening, as a table and as JSON", async () => {
    const table = await captureStdout(() => runInspectCommand(['--schema', '--topic', 'trades', '--topic', 'other', '--output-dir', lake]));
    expect(table.code).toBe(0);
    expect(table.out).toContain('== trades: schema version 2\n  column\ttype\n  price\tdouble\n  side\tstring\n');
    expect(table.out).toContain('  v1\t2026-01-02T00:00:00.000Z\tabc123\t+price int64\n  v2\t2026-01-02T00:00:00.000Z\tabc123\tprice int64 -> double, +side string');
    expect(table.out).toContain('== other: no schema yet');
    const json = await captureStdout(() => runInspectCommand(['--schema', '--json', '--topic', 'trades', '--output-dir', lake]));
    expect((JSON.parse(json.out) as Array<{ versions: Array<{ version: number }> }>)[0].versions.map((v) => v.version)).toEqual([1, 2]);
    expect((await captureStdout(() => runInspectCommand(['--schema', 'today', '--output-dir', lake]))).code).toBe(2);
  });
});
