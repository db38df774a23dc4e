/**
 * Topic trim on the real broker: the daemon consumes, commits and deletes the records below its
 * commits (DeleteRecords). Each partition's low watermark reaches the committed offset and never
 * passes it, through SIGKILLs between a commit and its trim and during a trim, and the lake holds
 * every produced record exactly once. The last run is two replicas, one with two consumer processes
 * (MAX_WORKERS).
 */
import { verifyOutput } from '../../src/commands/verify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startCollector, killRunningCollectors, type CliProcess } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, endOffsets, produce, startOffsets, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { localLake } from '../harness/local-lake';
import { encodeEvent, marketEvent } from '../harness/market-data';

const BASE = Date.UTC(2025, 9, 17, 12);
const PARTITIONS = 3;

function messages(from: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { partition: n % PARTITIONS, value: encodeEvent(marketEvent(n, BASE + n), 'msgpack'), timestamp: BASE + n };
  });
}

/** Every low watermark seen past its partition's commit. */
const violations: string[] = [];

/** Low watermark first, then the commit: the commit read later is never below the one the trim saw. */
async function observe(topic: string, groupId: string): Promise<{ low: Map<number, number>; committed: Map<number, number> }> {
  const low = await startOffsets(topic);
  const committed = await committedOffsets(groupId, topic);
  for (const [partition, offset] of low) if (offset > (committed.get(partition) ?? 0)) violations.push(`partition ${partition}: low watermark ${offset}, committed ${committed.get(partition)}`);
  return { low, committed };
}

afterEach(killRunningCollectors);

it('trims each partition to its commit and never past it, through crashes, and writes every record once', async () => {
  const topic = uniqueName('trim');
  await createTopic(topic, PARTITIONS);
  await produce(topic, messages(0, 3000));
  const outputDir = tempOutputDir();
  const groupId = uniqueName('group');
  const env = {
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: groupId,
    BATCH_SIZE: '200',
    FLUSH_INTERVAL_MS: '1000',
    TOPIC_TRIM_ENABLED: 'true',
    TOPIC_TRIM_INTERVAL_MS: '300',
    // A short session: the next run is given the partitions soon after the killed member's session ends.
    KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': 6000 }),
  };

  // Killed at its first trim that has something to delete: after the commit, before the request; then while the request is in flight.
  for (const stage of ['before', 'during']) {
    const crashing: CliProcess = startCollector({ ...env, COLLECTOR_TEST_ONLY_CRASH_IN_TRIM: stage });
    const { signal } = await crashing.exited;
    expect({ stage, signal }).toEqual({ stage, signal: 'SIGKILL' });
    const { committed } = await observe(topic, groupId);
    expect([...committed.values()].some((offset) => offset > 0)).toBe(true);
  }

  await produce(topic, messages(3000, 1500));
  // Two replicas, one of them with two consumer processes: each member trims the partitions it owns.
  const daemons = [startCollector({ ...env, MAX_WORKERS: '2' }), startCollector(env)];
  const end = await endOffsets(topic);
  await waitUntil(
    async () => {
      const { low, committed } = await observe(topic, groupId);
      return [...end].every(([partition, high]) => committed.get(partition) === high && low.get(partition) === high);
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'every partition committed and trimmed to its end' },
  );
  expect(violations).toEqual([]);
  expect(daemons.flatMap((daemon) => daemon.eventsNamed('topic_trimmed')).length).toBeGreaterThan(0);
  for (const daemon of daemons) daemon.signal('SIGTERM');
  for (const daemon of daemons) expect(await daemon.exited).toEqual({ code: 0, signal: null });

  const [summary] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS distinct_rows FROM {files}');
  expect(summary).toEqual({ rows: 4500, distinct_rows: 4500 });
  const ranges = await queryLake(outputDir, 'SELECT kafka_partition::INTEGER AS partition, min(kafka_offset)::INTEGER AS first, max(kafka_offset)::INTEGER AS last FROM {files} GROUP BY 1 ORDER BY 1');
  expect(ranges).toEqual([...end].sort(([a], [b]) => a - b).map(([partition, high]) => ({ partition, first: 0, last: high - 1 })));

  // verify against the broker: everything below the low watermark is gone from the broker, and that is no gap.
  const verified = await verifyOutput({ lake: localLake(outputDir), topics: [topic], broker: { properties: { 'bootstrap.servers': bootstrapServers() }, timeoutMs: 10_000 } });
  expect(verified.failed).toBe(false);
  expect(verified.reports.map((report) => ({ gaps: report.gaps, behind: report.behind }))).toEqual(Array.from({ length: PARTITIONS }, () => ({ gaps: [], behind: 0 })));
});

it('with TOPIC_TRIM_AFTER_COMPACTION, trims a day only once it is compacted, and keeps the open day', async () => {
  const topic = uniqueName('trim-compacted');
  await createTopic(topic, PARTITIONS);
  // 100 records a partition of a closed day (offsets 0-99), then 20 of today (100-119).
  const today = Date.now();
  const todays: TestMessage[] = Array.from({ length: 20 * PARTITIONS }, (_, i) => ({ partition: i % PARTITIONS, value: encodeEvent(marketEvent(i, today), 'msgpack'), timestamp: today }));
  await produce(topic, [...messages(0, 100 * PARTITIONS), ...todays]);
  const outputDir = tempOutputDir();
  const groupId = uniqueName('group');
  const daemon = startCollector({
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: groupId,
    BATCH_SIZE: '40',
    FLUSH_INTERVAL_MS: '500',
    COMPACTION_ENABLED: 'true',
    COMPACTION_GRACE_MS: '0',
    TOPIC_TRIM_ENABLED: 'true',
    TOPIC_TRIM_AFTER_COMPACTION: 'true',
    TOPIC_TRIM_INTERVAL_MS: '300',
  });
  const compacted = path.join(outputDir, '2025', '10', '17', `${topic}.parquet`);
  // The low watermark is read before the file is looked for: a trim seen here came before the compaction.
  let trimmedBeforeCompaction = false;
  await waitUntil(
    async () => {
      const { low, committed } = await observe(topic, groupId);
      if (!existsSync(compacted) && [...low.values()].some((offset) => offset > 0)) trimmedBeforeCompaction = true;
      return existsSync(compacted) && [...committed.values()].every((offset) => offset === 120) && [...low.values()].every((offset) => offset === 100);
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'the closed day compacted and trimmed, today committed' },
  );
  // Today's records are committed, in parts, and stay on the broker: through more trims and the stop's.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  daemon.signal('SIGTERM');
  expect(await daemon.exited).toEqual({ code: 0, signal: null });
  expect([...(await startOffsets(topic)).values()]).toEqual(Array.from({ length: PARTITIONS }, () => 100));
  expect({ violations, trimmedBeforeCompaction }).toEqual({ violations: [], trimmedBeforeCompaction: false });
  expect(await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}')).toEqual([{ n: 120 * PARTITIONS, d: 120 * PARTITIONS }]);
});
