/**
 * One stable, typed schema per topic, on the real broker over five days whose values alone would
 * have given each day other types: whole floats one day, a column all null for days, a column that
 * is an integer, then a float, then text, a column appearing late, JSON beside MessagePack, an
 * unsigned 64-bit integer past int64. Two daemons of one group consume the topic, then two daemons
 * compact its closed days; the whole topic is read across days by DuckDB (no union_by_name),
 * pyarrow datasets and Polars scan_parquet: one type per column, the values produced.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { killRunningCollectors, startCollector, type CliProcess } from '../harness/cli';
import { exactlyOnceFigures } from '../harness/chaos';
import { tempOutputDir } from '../harness/collector';
import { committedOffsets, createTopic, endOffsets, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { float, packWire, type WireValue } from '../harness/msgpack-wire';
import { readWithPython, type Plain } from '../harness/python';

const PARTITIONS = 4;
const DAYS = 5;
const PER_DAY = 40;
const dayStart = (day: number): number => Date.UTC(2025, 9, 16 + day);
const dayFolder = (day: number): string => `2025/10/${16 + day}`;
const UINT64_MAX = 2n ** 64n - 1n;

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
  const env = { OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '7', FLUSH_INTERVAL_MS: '300', LOG_LEVEL: 'info' };

  // Two consumer processes write parts, a day at a time: the parts of a day carry the schema as it
  // was then (day 0's know nothing of text in drift nor of late), and it widens day after day.
  const consumers = [startCollector({ ...env, COMPACTION_ENABLED: 'false' }), startCollector({ ...env, COMPACTION_ENABLED: 'false' })];
  for (const day of days) {
    await produce(
      topic,
      day.map((entry) => entry.message),
    );
    const ends = await endOffsets(topic);
    await waitUntil(async () => {
      const committed = await committedOffsets(groupId, topic);
      return [...ends].every(([partition, end]) => committed.get(partition) === end);
    }, { timeoutMs: 60_000, what: 'the day written and committed' });
  }
  await stop(consumers);
  const widenings = consumers.flatMap((consumer) => consumer.eventsNamed('topic_schema_widened'));
  expect(widenings.length).toBeGreaterThan(0);

  // Then two daemons compact the closed days, each with the topic's schema.
  const compactors = [startCollector({ ...env, COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0' }), startCollector({ ...env, COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0' })];
  const dayFile = (day: number): string => path.join(outputDir, dayFolder(day), `${topic}.parquet`);
  await waitUntil(async () => parquetFiles(outputDir).length === DAYS && Array.from({ length: DAYS }, (_, day) => dayFile(day)).every((file) => parquetFiles(outputDir).includes(file)), {
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

  const files = Array.from({ length: DAYS }, (_, day) => dayFile(day));
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
