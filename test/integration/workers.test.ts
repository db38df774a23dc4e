/**
 * MAX_WORKERS consumer processes under one primary, against the real broker: the partitions are
 * shared, /metrics and health come from the primary over all processes, SIGTERM drains them all,
 * a killed process is restarted, and a one-shot run ends when every process reached its goals.
 * Every produced offset is in the lake exactly once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { killRunningCollectors, runCli, startCollector, type CliProcess, type CliResult, type LogEvent } from '../harness/cli';
import { exactlyOnceFigures } from '../harness/chaos';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, createTopic, createTopics, produce, produceToTopics, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { sampleSum } from '../harness/prometheus';

const PARTITIONS = 4;
/** Issue 22: every topic of a broker backed up from cron. */
const MANY_TOPICS = 200;
const PER_TOPIC = 500;
/**
 * How long a one-shot run over MANY_TOPICS may take to end after its last commit. Measured here
 * (2 cores shared with other test runs, load 3 to 20): 0.1 to 0.5 s; 45 s in three runs of four
 * before the end offsets of the other process's partitions were asked for in one request.
 */
const ENDS_AFTER_LAST_COMMIT_MS = 5000;

function messages(from: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const timestamp = Date.UTC(2025, 9, 17, 10) + n;
    return { partition: n % PARTITIONS, key: String(n), value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
  });
}

afterEach(killRunningCollectors);

async function scrape(cli: CliProcess): Promise<{ metrics: string; ready: number; live: number }> {
  const [listening] = await cli.waitForEvents('http_listening', 1);
  const base = String(listening.address);
  const [metrics, ready, live] = await Promise.all([
    fetch(`${base}/metrics`).then((response) => response.text()),
    fetch(`${base}/readyz`).then((response) => response.status),
    fetch(`${base}/healthz`).then((response) => response.status),
  ]);
  return { metrics, ready, live };
}

/** PER_TOPIC small MessagePack records over two UTC days, spread over the partitions. */
function twoDays(): TestMessage[] {
  return Array.from({ length: PER_TOPIC }, (_, n) => {
    const timestamp = Date.UTC(2025, 9, 16) + Math.floor((n * 2 * 86_400_000) / PER_TOPIC);
    return { partition: n % 3, key: String(n), value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
  });
}

function timeOf(entry: LogEvent): number {
  return Date.parse(String(entry.time));
}

/** Rows and distinct (topic, partition, offset) keys in the lake, and the topics they belong to. */
async function lakeFigures(outputDir: string): Promise<unknown> {
  const [figures] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset))::INTEGER AS d, count(DISTINCT kafka_topic)::INTEGER AS topics FROM {files}');
  return figures;
}

function failures(result: CliResult): unknown {
  return { code: result.code, failures: result.events.filter((entry) => Number(entry.level) >= 50) };
}

/** The pids of the consumer processes, from their log lines. */
function workerPids(cli: CliProcess): Map<number, number> {
  const pids = new Map<number, number>();
  for (const entry of cli.events()) if (typeof entry.worker === 'number' && typeof entry.pid === 'number') pids.set(entry.worker, entry.pid);
  return pids;
}

describe('MAX_WORKERS consumer processes', () => {
  it('share the partitions, report through the primary, survive a killed process and stop together on SIGTERM', async () => {
    const topic = uniqueName('workers');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages(0, 2000));
    const outputDir = tempOutputDir();
    const cli = startCollector({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), MAX_WORKERS: '2', BATCH_SIZE: '200', FLUSH_INTERVAL_MS: '500' });

    await waitUntil(async () => sampleSum((await scrape(cli)).metrics, 'collector_messages_consumed_total') >= 2000, { timeoutMs: 60_000, what: '2000 messages counted by the primary' });
    await waitUntil(async () => (await scrape(cli)).ready === 200, { timeoutMs: 30_000, what: 'readiness of every process' });
    expect((await scrape(cli)).live).toBe(200);
    // Both processes own partitions: each logged an assignment.
    const assignedBy = new Set(cli.eventsNamed('partitions_assigned').map((entry) => entry.worker));
    expect(assignedBy).toEqual(new Set([0, 1]));

    // Each process runs with the heap options of its share of the default 256 MiB budget.
    const pids = workerPids(cli);
    for (const pid of pids.values()) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toEqual(expect.arrayContaining(['--max-old-space-size=192', '--max-semi-space-size=4', '--initial-old-space-size=64']));
    }

    // A crashed process is restarted, and picks its partitions up where the commits stand; the
    // primary counts the crash (the crash-looping alert's metric).
    expect((await scrape(cli)).metrics).toMatch(/^collector_consumer_process_crashes_total 0$/m);
    process.kill(pids.get(1) ?? -1, 'SIGKILL');
    await cli.waitForEvents('worker_crashed', 1);
    expect((await scrape(cli)).metrics).toMatch(/^collector_consumer_process_crashes_total 1$/m);
    await produce(topic, messages(2000, 1000));
    await waitUntil(async () => workerPids(cli).get(1) !== pids.get(1), { timeoutMs: 30_000, what: 'the restarted process' });
    await waitUntil(async () => (await scrape(cli)).ready === 200, { timeoutMs: 60_000, what: 'readiness after the restart' });

    cli.signal('SIGTERM');
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.eventsNamed('worker_stopped').map((entry) => entry.code)).toEqual([0, 0]);
    expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: 3000, lost: 0, duplicated: 0 });
  });

  it('in a one-shot run, exits 0 once every process reached its goals', async () => {
    const topic = uniqueName('workers-once');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages(0, 3000));
    const outputDir = tempOutputDir();
    const result = await runCli(['--once'], { BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), MAX_WORKERS: '2', BATCH_SIZE: '500', LOG_LEVEL: 'info' }, 120_000);
    expect({ code: result.code, failures: result.events.filter((entry) => Number(entry.level) >= 50) }).toEqual({ code: 0, failures: [] });
    expect(result.events.filter((entry) => entry.event === 'worker_finished')).toHaveLength(2);
    expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: 3000, lost: 0, duplicated: 0 });
  });

  it('in a one-shot run over 200 topics, ends within seconds of its last commit, and with COMPACT_AFTER_ONCE compacts each closed day once', async () => {
    const prefix = uniqueName('many');
    const topics = Array.from({ length: MANY_TOPICS }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
    await createTopics(topics, 3);
    await produceToTopics(new Map(topics.map((topic) => [topic, twoDays()])));
    const env = { BOOTSTRAP_SERVERS: bootstrapServers(), TOPIC_PATTERN: `^${prefix}-`, MAX_WORKERS: '2', LOG_LEVEL: 'info' };
    const everyRecordOnce = { n: MANY_TOPICS * PER_TOPIC, d: MANY_TOPICS * PER_TOPIC, topics: MANY_TOPICS };

    const outputDir = tempOutputDir();
    const run = await runCli(['--once'], { ...env, OUTPUT_DIR: outputDir, GROUP_ID: uniqueName('group') }, 120_000);
    expect(failures(run)).toEqual({ code: 0, failures: [] });
    const lastCommitMs = Math.max(...run.events.filter((entry) => entry.event === 'offsets_committed').map(timeOf));
    const [end] = run.events.filter((entry) => entry.event === 'shutdown_complete' && entry.worker === undefined);
    expect(timeOf(end) - lastCommitMs).toBeLessThan(ENDS_AFTER_LAST_COMMIT_MS);
    // A process that finished hands its partitions to the other, which must not read their topics' files again.
    const firstFinishedMs = Math.min(...run.events.filter((entry) => entry.event === 'worker_finished').map(timeOf));
    expect(run.events.filter((entry) => entry.event === 'recovery' && timeOf(entry) >= firstFinishedMs)).toEqual([]);
    expect(await lakeFigures(outputDir)).toEqual(everyRecordOnce);

    const compactedDir = tempOutputDir();
    const compacted = await runCli(['--once'], { ...env, OUTPUT_DIR: compactedDir, GROUP_ID: uniqueName('group'), COMPACT_AFTER_ONCE: 'true', COMPACTION_GRACE_MS: '0' }, 180_000);
    expect(failures(compacted)).toEqual({ code: 0, failures: [] });
    const expected = ['2025/10/16', '2025/10/17'].flatMap((day) => topics.map((topic) => path.join(day, `${topic}.parquet`)));
    expect(parquetFiles(compactedDir).map((file) => path.relative(compactedDir, file))).toEqual(expected.sort());
    expect(await lakeFigures(compactedDir)).toEqual(everyRecordOnce);
  }, 300_000);
});
