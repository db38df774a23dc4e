/**
 * MAX_WORKERS consumer processes under one primary, against the real broker: the partitions are
 * shared, /metrics and health come from the primary over all processes, SIGTERM drains them all,
 * a killed process is restarted, and a one-shot run ends when every process reached its goals.
 * Every produced offset is in the lake exactly once.
 */
import { readFileSync } from 'node:fs';
import { killRunningCollectors, runCli, startCollector, type CliProcess } from '../harness/cli';
import { exactlyOnceFigures } from '../harness/chaos';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, createTopic, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { sampleSum } from '../harness/prometheus';

const PARTITIONS = 4;

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
});
