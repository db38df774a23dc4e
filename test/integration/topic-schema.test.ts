/**
 * One stable, typed schema per topic, on the real broker over five days whose values alone would
 * have given each day other types: whole floats one day, a column all null for days, a column that
 * is an integer, then a float, then text, a column appearing late, JSON beside MessagePack, an
 * unsigned 64-bit integer past int64. Two daemons of one group consume the topic (one SIGKILLed
 * and replaced while a day that widens is written), then two daemons compact its closed days; the
 * whole topic is read across days by DuckDB (no union_by_name), pyarrow datasets and Polars
 * scan_parquet: one type per column, the values produced, every offset once. Then a declared
 * schema (SCHEMA_FILE, TIMESTAMP_FIELDS) with --once and two consumer processes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { killRunningCollectors, runCli, startCollector, type CliProcess } from '../harness/cli';
import { exactlyOnceFigures } from '../harness/chaos';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, endOffsets, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { float, packWire, type WireValue } from '../harness/msgpack-wire';
import { readWithPython, type Plain } from '../harness/python';

const PARTITIONS = 4;
const DAYS = 5;
const PER_DAY = 40;
const dayStart = (day: number): number => Date.UTC(2025, 9, 16 + day);
const dayFolder = (day: number): string => `2025/10/${16 + day}`;
const UINT64_MAX = 2n ** 64n - 1n;
const dayFile = (outputDir: string, day: number, topic: string): string => path.join(outputDir, dayFolder(day), `${topic}.parquet`);

interface Produced {
  readonly message: TestMessage;
  /** The payload columns as they must read back, by the type rules (a column widened to text holds the values' text). */
  readonly expected: Record<string, Plain>;
}

/** Message `j` of `day`: MessagePack, every fifth of days 1 and 4 JSON. */
function produced(day: number, j: number): Produced {
  const n = day * PER_DAY + j;
  const json = (day === 1 || day === 4) && j % 5 === 0;
  const payload: Record<string, WireValue> = { n };
  const expected: Record<string, Plain> = { n, price: null, maybe: null, drift: null, late: null, big: null };
  // Whole floats on day 0 (written as floats: a double column all the same), fractions after.
  const price = day === 0 || json ? 10 + j : 10 + j + 0.5;
  payload.price = float(price);
  expected.price = price;
  // Null for two days (and in JSON), absent on day 3: no type until day 2 brings whole floats.
  if (day <= 1) payload.maybe = null;
  else if (!json && (day === 2 || day === 4)) {
    const maybe = day === 2 ? j : j + 0.25;
    payload.maybe = float(maybe);
    expected.maybe = maybe;
  }
  // An integer, then a float, then text: text in the end, each value as its text.
  if (day !== 4) {
    const drift: WireValue = day === 1 ? float(j + 0.5) : day === 2 ? `s${j}` : j;
    payload.drift = drift;
    expected.drift = day === 1 ? String(j + 0.5) : day === 2 ? `s${j}` : String(j);
  }
  // A column appearing on day 3.
  if (day >= 3) {
    payload.late = j % 2 === 0;
    expected.late = j % 2 === 0;
  }
  // An integer past int64 on day 4 (in JSON, then in MessagePack as a uint64): the column becomes text.
  const big = day === 4 && j <= 1 ? UINT64_MAX : BigInt(n);
  payload.big = big;
  expected.big = String(big);
  const value = json ? Buffer.from(jsonText(n, price, expected.drift, payload.late, big), 'utf8') : packWire(payload);
  return { message: { partition: n % PARTITIONS, key: String(n), value, timestamp: dayStart(day) + j * 1000 }, expected };
}

/** The JSON form of a message: the price written with a fraction even when whole (`12.0`). */
function jsonText(n: number, price: number, drift: Plain, late: WireValue | undefined, big: bigint): string {
  const fields = [`"n":${n}`, `"price":${Number.isInteger(price) ? `${price}.0` : price}`, `"maybe":null`, `"big":${big}`];
  if (drift !== null) fields.push(`"drift":${JSON.stringify(drift)}`);
  if (late !== undefined) fields.push(`"late":${String(late)}`);
  return `{${fields.join(',')}}`;
}

afterEach(killRunningCollectors);

async function stop(collectors: readonly CliProcess[]): Promise<void> {
  for (const collector of collectors) collector.signal('SIGTERM');
  for (const collector of collectors) expect((await collector.exited).code).toBe(0);
}

const PAYLOAD_COLUMNS = ['n', 'price', 'maybe', 'drift', 'late', 'big'];

function payloadRows(rows: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  return rows.map((row) => Object.fromEntries(PAYLOAD_COLUMNS.map((name) => [name, typeof row[name] === 'bigint' ? Number(row[name]) : row[name]]))).sort((a, b) => Number(a.n) - Number(b.n));
}

it('writes every day of a topic with one schema, learned in the lake and shared by two daemons, read across days without merging schemas', async () => {
  const topic = uniqueName('schema');
  await createTopic(topic, PARTITIONS);
  const days = Array.from({ length: DAYS }, (_, day) => Array.from({ length: PER_DAY }, (__, j) => produced(day, j)));
  const all = days.flat();
  const outputDir = tempOutputDir();
  const groupId = uniqueName('group');
  // A short session, so the SIGKILLed member's partitions move on soon.
  const env = { OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '7', FLUSH_INTERVAL_MS: '300', LOG_LEVEL: 'info', KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': 6000 }) };

  // Two consumer processes write parts, a day at a time: the parts of a day carry the schema as it
  // was then (day 0's know nothing of text in drift nor of late), and it widens day after day. One
  // is SIGKILLed while day 2, which widens drift to text, is being written, and replaced.
  const startConsumer = (): CliProcess => startCollector({ ...env, COMPACTION_ENABLED: 'false' });
  const consumers = [startConsumer(), startConsumer()];
  for (const [index, day] of days.entries()) {
    await produce(
      topic,
      day.map((entry) => entry.message),
    );
    if (index === 2) {
      consumers[1].signal('SIGKILL');
      await consumers[1].exited;
      consumers.push(startConsumer());
    }
    const ends = await endOffsets(topic);
    await waitUntil(async () => {
      const committed = await committedOffsets(groupId, topic);
      return [...ends].every(([partition, end]) => committed.get(partition) === end);
    }, { timeoutMs: 60_000, what: 'the day written and committed' });
  }
  await stop(consumers.filter((_, index) => index !== 1));
  const widenings = consumers.flatMap((consumer) => consumer.eventsNamed('topic_schema_widened'));
  expect(widenings.length).toBeGreaterThan(0);

  // Then two daemons compact the closed days, each with the topic's schema.
  const compactors = [startCollector({ ...env, COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0' }), startCollector({ ...env, COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0' })];
  const compactedDay = (day: number): string => dayFile(outputDir, day, topic);
  await waitUntil(async () => parquetFiles(outputDir).length === DAYS && Array.from({ length: DAYS }, (_, day) => compactedDay(day)).every((file) => parquetFiles(outputDir).includes(file)), {
    timeoutMs: 90_000,
    what: 'every day compacted',
  });
  await stop(compactors);

  // The schema in the lake: versions only widened, the last one with every column at its join.
  const schemaFolder = path.join(outputDir, '_schema', topic);
  const versions = readdirSync(schemaFolder).sort();
  const newest = JSON.parse(readFileSync(path.join(schemaFolder, versions[versions.length - 1]), 'utf8')) as { version: number; columns: Array<{ name: string; type: string }> };
  expect(newest.version).toBe(versions.length);
  expect(Object.fromEntries(newest.columns.map((column) => [column.name, column.type]))).toEqual({
    kafka_topic: 'string',
    kafka_partition: 'int64',
    kafka_offset: 'int64',
    kafka_timestamp: 'timestamp_ms',
    kafka_key: 'string',
    n: 'int64',
    price: 'double',
    maybe: 'double',
    drift: 'string',
    late: 'boolean',
    big: 'string',
  });

  const files = Array.from({ length: DAYS }, (_, day) => compactedDay(day));
  const expected = all.map((entry) => entry.expected);
  // DuckDB without union_by_name: the files agree, one type per column.
  const types = await queryFiles(files, 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * EXCLUDE (filename) FROM {files})', { unionByName: false });
  expect(Object.fromEntries(types.map((row) => [row.name, row.type]))).toMatchObject({ n: 'BIGINT', price: 'DOUBLE', maybe: 'DOUBLE', drift: 'VARCHAR', late: 'BOOLEAN', big: 'VARCHAR', kafka_timestamp: 'TIMESTAMP WITH TIME ZONE' });
  expect(payloadRows(await queryFiles(files, 'SELECT * FROM {files}', { unionByName: false }))).toEqual(expected);

  // pyarrow datasets and Polars scan_parquet, with no schema merging.
  const python = readWithPython('topic', files);
  expect(python.pyarrow.schema).toMatchObject({ n: 'int64', price: 'double', maybe: 'double', drift: 'string', late: 'bool', big: 'string' });
  expect(python.polars.schema).toMatchObject({ n: 'Int64', price: 'Float64', maybe: 'Float64', drift: 'String', late: 'Boolean', big: 'String' });
  expect(payloadRows(python.pyarrow.rows)).toEqual(expected);
  expect(payloadRows(python.polars.rows)).toEqual(expected);
  expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: DAYS * PER_DAY, lost: 0, duplicated: 0 });
});

it('a declared schema: declared columns in every file, a value that does not fit dead-lettered or nulled and counted, nothing lost', async () => {
  const topic = uniqueName('declared');
  await createTopic(topic, PARTITIONS);
  const outputDir = tempOutputDir();
  const schemaFile = path.join(outputDir, '..', `${topic}.schema.json`);
  writeFileSync(schemaFile, JSON.stringify({ [topic]: { onMisfit: 'dead-letter', columns: { price: 'double', qty: 'int64', note: 'string' } } }));
  // Two days; every seventh qty is a fraction (dead-lettered), every fifth seen_at is no time (nulled).
  const count = 60;
  const messages: TestMessage[] = Array.from({ length: count }, (_, n) => {
    const day = n < count / 2 ? 0 : 1;
    const payload = { n, price: n % 2 === 0 ? n : float(n + 0.5), qty: n % 7 === 3 ? float(n + 0.5) : n, seen_at: n % 5 === 1 ? 'soon' : `2025-10-${16 + day}T08:00:${String(n % 60).padStart(2, '0')}Z` };
    return { partition: n % PARTITIONS, key: String(n), value: packWire(payload), timestamp: dayStart(day) + n * 1000 };
  });
  await produce(topic, messages);
  const run = await runCli(['--once'], {
    BOOTSTRAP_SERVERS: bootstrapServers(),
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: uniqueName('group'),
    MAX_WORKERS: '2',
    SCHEMA_FILE: schemaFile,
    TIMESTAMP_FIELDS: 'seen_at',
    COMPACT_AFTER_ONCE: 'true',
    COMPACTION_GRACE_MS: '0',
    LOG_LEVEL: 'info',
  }, 120_000);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);

  const deadLettered = messages.filter((_, n) => n % 7 === 3).length;
  const nulled = messages.filter((_, n) => n % 7 !== 3 && n % 5 === 1).length;
  const files = [dayFile(outputDir, 0, topic), dayFile(outputDir, 1, topic)];
  const types = await queryFiles(files, 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * EXCLUDE (filename) FROM {files})', { unionByName: false });
  expect(Object.fromEntries(types.map((row) => [row.name, row.type]))).toMatchObject({ n: 'BIGINT', price: 'DOUBLE', qty: 'BIGINT', note: 'VARCHAR', seen_at: 'TIMESTAMP WITH TIME ZONE' });
  const rows = await queryFiles(files, 'SELECT n::INT AS n, price, qty::INT AS qty, note, epoch_ms(seen_at) AS seen_at FROM {files} ORDER BY n', { unionByName: false });
  const kept = Array.from({ length: count }, (_, n) => n).filter((n) => n % 7 !== 3);
  expect(rows.map((row) => ({ ...row, seen_at: row.seen_at === null ? null : Number(row.seen_at) }))).toEqual(
    kept.map((n) => ({ n, price: n % 2 === 0 ? n : n + 0.5, qty: n, note: null, seen_at: n % 5 === 1 ? null : Date.UTC(2025, 9, n < count / 2 ? 16 : 17, 8, 0, n % 60) })),
  );
  const deadLetters = await queryFiles(parquetFiles(outputDir, 'dead-letter'), 'SELECT error_stage, error_reason, count(*)::INT AS n FROM {files} GROUP BY ALL');
  expect(deadLetters).toEqual([{ error_stage: 'schema', error_reason: 'not-a-int64', n: deadLettered }]);
  const misfits = run.events.filter((entry) => entry.event === 'values_misfit');
  expect(misfits.every((entry) => entry.column === 'seen_at' && entry.reason === 'not-a-timestamp')).toBe(true);
  expect(misfits.reduce((sum, entry) => sum + Number(entry.values), 0)).toBe(nulled);
  // verify counts dead letters as written: every offset once.
  expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: count, lost: 0, duplicated: 0 });
});
