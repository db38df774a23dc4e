/**
 * The seed's one-time run from cron, and `--once`: consume to the end offsets seen at start,
 * publish, commit, exit 0. The collector runs as `node dist/main.js` without a terminal.
 */
import net from 'node:net';
import { killRunningCollectors, runCli, startCli, type CliResult } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, endOffsets, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';

const PARTITIONS = 3;

function messages(from: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { partition: n % PARTITIONS, key: String(n), value: encodeEvent(marketEvent(n, Date.UTC(2025, 9, 17) + n), 'msgpack'), timestamp: Date.UTC(2025, 9, 17) + n };
  });
}

async function total(map: Promise<Map<number, number>>): Promise<number> {
  return [...(await map).values()].reduce((a, b) => a + b, 0);
}

function lastProgress(result: CliResult, topic: string): unknown {
  return result.events.filter((entry) => entry.event === 'progress' && entry.topic === topic).pop();
}

afterEach(killRunningCollectors);

describe('one-shot mode from the command line', () => {
  it("runs from a cron line with the seed's variables, then --once with MAX_MESSAGES caps each topic", async () => {
    const topics = [uniqueName('cron-a'), uniqueName('cron-b')];
    for (const topic of topics) await createTopic(topic, PARTITIONS);
    await Promise.all(topics.map((topic) => produce(topic, messages(0, 600))));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    // The daemon on this host holds the HTTP port: a one-shot run must not need it.
    const daemonPort = net.createServer();
    await new Promise<void>((resolve) => daemonPort.listen(0, '127.0.0.1', resolve));
    const seedEnvironment = {
      BOOTSTRAP_SERVERS: bootstrapServers(),
      OUTPUT_DIR: outputDir,
      TOPICS: topics.join(','),
      GROUP_ID: groupId,
      MAX_MESSAGES: '',
      BATCH_SIZE: '250',
      MAX_WORKERS: '2',
      SKIP_EXISTING_CHECK: 'false',
      HTTP_PORT: String((daemonPort.address() as net.AddressInfo).port),
    };
    try {
      const cron = await runCli([], { ...seedEnvironment, RUN_MODE: 'once' });
      expect(cron.stderr).toBe('');
      expect(cron.code).toBe(0);
      for (const topic of topics) {
        expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
        // Without a terminal, progress is logged; the last line says the topic is done.
        expect(lastProgress(cron, topic)).toMatchObject({ done: 600, total: 600 });
      }
      const [all] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
      expect(all).toEqual({ n: 1200, d: 1200 });
      expect(cron.events.some((entry) => entry.event === 'http_listening')).toBe(false);
      expect(cron.events.map((entry) => entry.event)).toContain('shutdown_complete');

      await Promise.all(topics.map((topic) => produce(topic, messages(600, 300))));
      const before = parquetFiles(outputDir);
      const capped = await runCli(['--once'], { ...seedEnvironment, MAX_MESSAGES: '100' });
      expect(capped.code).toBe(0);
      const fresh = parquetFiles(outputDir).filter((file) => !before.includes(file));
      const perTopic = await queryFiles(fresh, 'SELECT kafka_topic AS topic, count(*)::INTEGER AS n, min(seq)::INTEGER AS first_seq FROM {files} GROUP BY ALL ORDER BY topic');
      expect(perTopic).toEqual([...topics].sort().map((topic) => ({ topic, n: 100, first_seq: expect.any(Number) })));
      expect(perTopic.every((row) => Number(row.first_seq) >= 600)).toBe(true);
      for (const topic of topics) {
        expect(await total(committedOffsets(groupId, topic))).toBe(700);
        expect(lastProgress(capped, topic)).toMatchObject({ done: 100, total: 100 });
      }
    } finally {
      daemonPort.close();
    }
  });

  it('stops gracefully on SIGTERM during a one-shot run (exit 0, all it consumed published)', async () => {
    const topic = uniqueName('once-sigterm');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages(0, 3000));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    // Consuming is paced by writing (a one-byte memory budget waits for every file), so the run
    // takes seconds and the signal lands before it has caught up.
    const cli = startCli(['--once'], {
      BOOTSTRAP_SERVERS: bootstrapServers(),
      OUTPUT_DIR: outputDir,
      TOPICS: topic,
      GROUP_ID: groupId,
      BATCH_SIZE: '20',
      CONSUME_BATCH_SIZE: '50',
      MEMORY_BUDGET_BYTES: '1',
    });
    await cli.waitForEvents('file_published', 1);
    cli.signal('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.eventsNamed('signal')).toHaveLength(1);
    const committed = await total(committedOffsets(groupId, topic));
    expect(committed).toBeLessThan(3000);
    const [lake] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
    expect(lake).toEqual({ n: committed, d: committed });
    expect(cli.eventsNamed('shutdown_complete')).toHaveLength(1);
  });
});
