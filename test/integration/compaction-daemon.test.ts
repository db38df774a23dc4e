/**
 * The daemon closes days by itself: two collectors of one group share OUTPUT_DIR, write parts,
 * and compact each closed day once it is quiet; late records land in a part of their compacted day
 * and then in the day's next file. Read back at the seed's paths with DuckDB, pyarrow and Polars.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { killRunningCollectors, startCollector, type CliProcess } from '../harness/cli';
import { exactlyOnceFigures } from '../harness/chaos';
import { tempOutputDir } from '../harness/collector';
import { createTopic, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { duckdbRows, readWithPython } from '../harness/python';

const PARTITIONS = 4;
const dayStart = (i: number): number => Date.UTC(2025, 9, 16 + i);
const DAYS = ['2025/10/16', '2025/10/17'];

function messages(day: number, count: number, from = 0): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const timestamp = dayStart(day) + n * 1000;
    return { partition: n % PARTITIONS, key: String(n), value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
  });
}

afterEach(killRunningCollectors);

/** Rows of the day's compacted files of the topic (`<topic>.parquet`, then `<topic>-0001.parquet`, …). */
async function rowsAt(outputDir: string, day: string, topic: string): Promise<{ n: number; d: number }> {
  const [row] = await queryFiles([path.join(outputDir, day, `${topic}*.parquet`)], 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
  return { n: Number(row.n), d: Number(row.d) };
}

it('two daemons sharing the lake compact each closed day into the seed path, and a late record into the next file', async () => {
  const topic = uniqueName('daemon-compact');
  await createTopic(topic, PARTITIONS);
  await produce(topic, [...messages(0, 120), ...messages(1, 60)]);
  const outputDir = tempOutputDir();
  const env = {
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: uniqueName('group'),
    BATCH_SIZE: '25',
    FLUSH_INTERVAL_MS: '500',
    COMPACTION_ENABLED: 'true',
    COMPACTION_GRACE_MS: '0',
    LOG_LEVEL: 'info',
  };
  const collectors: CliProcess[] = [startCollector(env), startCollector(env)];
  const compactedDays = (): boolean => DAYS.every((day) => existsSync(path.join(outputDir, day, `${topic}.parquet`)) && !existsSync(path.join(outputDir, day, topic)));
  await waitUntil(async () => compactedDays(), { timeoutMs: 90_000, what: 'both days compacted' });
  expect(await rowsAt(outputDir, DAYS[0], topic)).toEqual({ n: 120, d: 120 });
  expect(await rowsAt(outputDir, DAYS[1], topic)).toEqual({ n: 60, d: 60 });
  expect(existsSync(path.join(outputDir, DAYS[0], `_SUCCESS.${topic}.json`))).toBe(true);

  // Late records of the first day: a part of that day first, then the day's next file.
  await produce(topic, messages(0, 8, 120));
  await waitUntil(async () => compactedDays() && (await rowsAt(outputDir, DAYS[0], topic)).n === 128, { timeoutMs: 90_000, what: 'the late records compacted' });

  for (const collector of collectors) collector.signal('SIGTERM');
  for (const collector of collectors) expect((await collector.exited).code).toBe(0);
  expect(await rowsAt(outputDir, DAYS[0], topic)).toEqual({ n: 128, d: 128 });
  // The day's files, read as the seed's users read a day: pyarrow and Polars agree with DuckDB value for value.
  // The late records reach the two members' parts at their own pace: one next file, or two.
  const dayFiles = readdirSync(path.join(outputDir, DAYS[0]))
    .filter((name) => name.startsWith(topic) && name.endsWith('.parquet'))
    .map((name) => path.join(outputDir, DAYS[0], name));
  expect(dayFiles.map((file) => path.basename(file)).sort()).toEqual(expect.arrayContaining([`${topic}-0001.parquet`, `${topic}.parquet`]));
  const duck = await duckdbRows(dayFiles);
  const python = readWithPython('compacted', dayFiles);
  expect(duck).toHaveLength(128);
  expect(python.pyarrow.rows).toEqual(duck);
  expect(python.polars.rows).toEqual(duck);
  expect(parquetFiles(outputDir).filter((file) => path.basename(file).startsWith('part-'))).toEqual([]);
  expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: 188, lost: 0, duplicated: 0 });

  // Both members ran the day closer; a (topic, day) is compacted by one of them at a time.
  const compactions = collectors.flatMap((collector) => collector.eventsNamed('day_compacted'));
  expect(compactions.length).toBeGreaterThanOrEqual(3);
  expect(collectors.every((collector) => collector.eventsNamed('compaction_failed').length === 0)).toBe(true);
});

it('two daemons catching up on a backlog of closed days compact each into one file, once the whole group has read past it', async () => {
  const topic = uniqueName('daemon-backlog');
  await createTopic(topic, 2);
  // Partition 0: a short first day, then two more; partition 1: a long backlog of the first day.
  // The member given partition 0 reaches the later days while the other is still writing the first.
  const stamped = (partition: number, day: number, count: number): TestMessage[] =>
    Array.from({ length: count }, (_, n) => {
      const timestamp = dayStart(day) + n * 1000;
      return { partition, key: String(n), value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
    });
  const LONG_DAY = 6000;
  await produce(topic, [...stamped(0, 0, 100), ...stamped(0, 1, 100), ...stamped(0, 2, 100), ...stamped(1, 0, LONG_DAY), ...stamped(1, 1, 10)]);
  const outputDir = tempOutputDir();
  const days = [...DAYS, '2025/10/18'];
  const env = {
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: uniqueName('group'),
    // Small files and consume calls: the long day takes a while, and each day closer passes every second meanwhile.
    BATCH_SIZE: '10',
    CONSUME_BATCH_SIZE: '10',
    FLUSH_INTERVAL_MS: '200',
    COMPACTION_ENABLED: 'true',
    COMPACTION_GRACE_MS: '0',
    LOG_LEVEL: 'info',
  };
  const collectors = [startCollector(env), startCollector(env)];
  await waitUntil(() => days.every((day) => existsSync(path.join(outputDir, day, `${topic}.parquet`)) && !existsSync(path.join(outputDir, day, topic))), {
    timeoutMs: 120_000,
    what: 'the three days compacted',
  });
  for (const collector of collectors) collector.signal('SIGTERM');
  for (const collector of collectors) expect((await collector.exited).code).toBe(0);

  expect(parquetFiles(outputDir).map((file) => path.relative(outputDir, file))).toEqual(days.map((day) => path.join(day, `${topic}.parquet`)));
  expect(await rowsAt(outputDir, days[0], topic)).toEqual({ n: 100 + LONG_DAY, d: 100 + LONG_DAY });
  const compacted = collectors.flatMap((collector) => collector.eventsNamed('day_compacted')).filter((event) => event.kind === 'data');
  expect(compacted.map((event) => event.files)).toEqual(days.map(() => [`${topic}.parquet`]));
});
