/**
 * LAKE_RETENTION_DAYS in the daemon (two collectors sharing OUTPUT_DIR) and at the end of a one-shot
 * run with two consumer processes (COMPACT_AFTER_ONCE): the closed days are compacted, and the days
 * older than the limit are then removed; younger days stay.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { killRunningCollectors, runCli, startCollector } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, endOffsets, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { dayFolder } from '../../src/lake/layout';

const MS_PER_DAY = 86_400_000;
const PARTITIONS = 2;
const today = Math.floor(Date.now() / MS_PER_DAY);
/** Ten days old (removed), yesterday (closed, compacted, kept), today (open, kept). */
const DAYS = [today - 10, today - 1, today];

function messages(day: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, n) => {
    const timestamp = day * MS_PER_DAY + n * 1000;
    return { partition: n % PARTITIONS, value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
  });
}

afterEach(killRunningCollectors);

it('removes the days older than LAKE_RETENTION_DAYS after compaction and keeps the younger ones', async () => {
  const topic = uniqueName('retention');
  await createTopic(topic, PARTITIONS);
  await produce(topic, DAYS.flatMap((day) => messages(day, 100)));
  const outputDir = tempOutputDir();
  const groupId = uniqueName('group');
  const env = { OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '30', FLUSH_INTERVAL_MS: '500', COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0', LAKE_RETENTION_DAYS: '2' };
  const collectors = [startCollector(env), startCollector(env)];
  const end = await endOffsets(topic);
  const folder = (day: number): string => path.join(outputDir, dayFolder(day));
  await waitUntil(
    async () => {
      const committed = await committedOffsets(groupId, topic);
      const allCommitted = [...end].every(([partition, high]) => committed.get(partition) === high);
      return allCommitted && !existsSync(folder(DAYS[0])) && existsSync(path.join(folder(DAYS[1]), `${topic}.parquet`));
    },
    { timeoutMs: 90_000, what: 'everything committed, the old day removed, yesterday compacted' },
  );
  for (const collector of collectors) collector.signal('SIGTERM');
  for (const collector of collectors) expect((await collector.exited).code).toBe(0);

  const rows = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
  expect(rows).toEqual([{ n: 200, d: 200 }]);
  expect(existsSync(path.join(folder(DAYS[1]), `_SUCCESS.${topic}.json`))).toBe(true);
  expect(existsSync(path.join(folder(DAYS[2]), topic))).toBe(true);
  const expired = collectors.flatMap((collector) => collector.eventsNamed('lake_day_expired'));
  expect(expired.map((event) => event.day)).toContain(`${topic} ${dayFolder(DAYS[0]).replace(/\//g, '-')}`);
  expect(collectors.every((collector) => collector.eventsNamed('lake_retention_failed').length === 0)).toBe(true);
});

it('removes them at the end of a one-shot run with two consumer processes too', async () => {
  const topic = uniqueName('retention-once');
  await createTopic(topic, PARTITIONS);
  await produce(topic, DAYS.flatMap((day) => messages(day, 60)));
  const outputDir = tempOutputDir();
  const result = await runCli(['--once'], {
    BOOTSTRAP_SERVERS: bootstrapServers(),
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: uniqueName('group'),
    MAX_WORKERS: '2',
    COMPACTION_ENABLED: 'true',
    COMPACT_AFTER_ONCE: 'true',
    COMPACTION_GRACE_MS: '0',
    LAKE_RETENTION_DAYS: '2',
  }, 90_000);
  expect(result.code).toBe(0);
  expect(existsSync(path.join(outputDir, dayFolder(DAYS[0])))).toBe(false);
  expect(existsSync(path.join(outputDir, dayFolder(DAYS[1]), `${topic}.parquet`))).toBe(true);
  expect(await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n FROM {files}')).toEqual([{ n: 120 }]);
  expect(result.events.filter((event) => event.event === 'lake_day_expired').length).toBeGreaterThan(0);
});
