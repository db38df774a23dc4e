/**
 * /healthz, /readyz and /metrics of a collector running against the real broker: what a
 * Kubernetes probe and a Prometheus scrape see over a collector's life.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { counterValue, createTestApp, tempOutputDir } from '../harness/collector';
import { createTopic, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { sampleSum } from '../harness/prometheus';
import { encodeEvent, marketEvent } from '../harness/market-data';
import type { CollectorApp } from '../../src/app';

const PARTITIONS = 3;

function messages(from: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const timestamp = Date.UTC(2025, 9, 17, 12) + n;
    return { partition: n % PARTITIONS, key: String(n), value: encodeEvent(marketEvent(n, timestamp), 'msgpack'), timestamp };
  });
}

interface Probe {
  readonly status: number;
  readonly body: { status: string; failing?: string[]; checks: Array<{ name: string; ok: boolean; detail?: string }> };
}

async function probe(app: CollectorApp, path: '/healthz' | '/readyz'): Promise<Probe> {
  const response = await fetch(`http://127.0.0.1:${app.httpPort}${path}`);
  return { status: response.status, body: (await response.json()) as Probe['body'] };
}

async function scrape(app: CollectorApp): Promise<string> {
  return (await fetch(`http://127.0.0.1:${app.httpPort}/metrics`)).text();
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Swaps the output directory for a plain file (a lost mount, a mistaken `rm -r; touch`), and back. */
function breakOutputDir(dir: string): () => void {
  renameSync(dir, `${dir}.moved`);
  writeFileSync(dir, '');
  return () => {
    rmSync(dir);
    renameSync(`${dir}.moved`, dir);
  };
}

describe('operations endpoints', () => {
  const apps: CollectorApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop('test done').catch(() => undefined)));
  });

  it('is not ready, naming the failing checks, while it cannot reach the broker', async () => {
    const app = createTestApp({ BOOTSTRAP_SERVERS: `127.0.0.1:${await freePort()}`, TOPICS: 'unused', OUTPUT_DIR: tempOutputDir() });
    apps.push(app);
    const starting = app.start();
    starting.catch(() => undefined);
    await waitUntil(() => (app.httpPort ?? 0) > 0, { what: 'the HTTP server' });

    const ready = await probe(app, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not-ready');
    // Not 'kafka-connected': librdkafka's isConnected() is true as soon as the client handle
    // exists, before any broker answered; the group assignment is what proves a live connection.
    expect(ready.body.failing).toContain('group-assignment');
    expect((await probe(app, '/healthz')).status).toBe(200);
    await expect(starting).rejects.toMatchObject({ code: 'KAFKA_CONNECT_FAILED' });
  });

  it('is ready once assigned, exports every metric with values, reports lag, and says 503 when the output goes or the stop starts', async () => {
    const topic = uniqueName('ops');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages(0, 300));
    const outputDir = tempOutputDir();
    const app = createTestApp({ TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: outputDir, BATCH_SIZE: '100', LAG_INTERVAL_MS: '250' });
    apps.push(app);
    const { finished } = await app.start();

    await waitUntil(async () => (await probe(app, '/readyz')).status === 200, { timeoutMs: 60_000, what: 'readiness' });
    expect((await probe(app, '/healthz')).status).toBe(200);
    await waitUntil(async () => (await counterValue(app, 'collector_files_written_total')) === 3, { timeoutMs: 60_000, what: 'three files' });

    // 30 more records stay buffered (below BATCH_SIZE): consumed, not committed, so still lag.
    await produce(topic, messages(300, 30));
    await waitUntil(async () => sampleSum(await scrape(app), 'collector_messages_consumed_total', { topic }) === 330, { timeoutMs: 30_000, what: '330 consumed' });
    await waitUntil(async () => sampleSum(await scrape(app), 'collector_consumer_lag_messages', { topic }) === 30, { timeoutMs: 30_000, what: 'a lag of 30' });
    const text = await scrape(app);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      expect(sampleSum(text, 'collector_consumer_lag_messages', { topic, partition: String(partition) })).toBe(10);
      expect(sampleSum(text, 'collector_committed_offset', { topic, partition: String(partition) })).toBe(100);
    }
    expect(sampleSum(text, 'collector_rows_written_total', { topic })).toBe(300);
    expect(sampleSum(text, 'collector_files_written_total', { topic })).toBe(3);
    expect(sampleSum(text, 'collector_written_bytes_total', { topic })).toBeGreaterThan(0);
    expect(sampleSum(text, 'collector_flush_duration_seconds_count', { topic })).toBe(3);
    expect(sampleSum(text, 'collector_rebalances_total', { type: 'assign' })).toBe(1);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

    const restore = breakOutputDir(outputDir);
    const broken = await probe(app, '/readyz');
    restore();
    expect(broken.status).toBe(503);
    expect(broken.body.failing).toEqual(['output-writable']);
    expect(broken.body.checks.find((check) => check.name === 'output-writable')?.detail).toBe('exists but is not a directory');
    expect((await probe(app, '/readyz')).status).toBe(200);

    const stopping = app.stop('test');
    const duringStop = await probe(app, '/readyz');
    await stopping;
    await finished;
    expect(duringStop.status).toBe(503);
    expect(duringStop.body.failing).toEqual(['not-stopping']);
    const [rows] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n FROM {files}');
    expect(rows.n).toBe(330);
  });

  it('waits for a broken output without failing liveness: not ready, says why, and writes everything once it is back', async () => {
    const topic = uniqueName('wedged');
    await createTopic(topic, 1);
    const outputDir = tempOutputDir();
    // A full memory budget makes the loop wait for writes; with the output gone, writes only retry.
    const app = createTestApp({ TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: outputDir, BATCH_SIZE: '10', MEMORY_BUDGET_BYTES: '1', LIVENESS_MAX_STALL_MS: '1500', LOG_LEVEL: 'fatal' });
    apps.push(app);
    const { finished } = await app.start();
    let ended: unknown = null;
    finished.catch((error: unknown) => {
      ended = error;
    });
    await waitUntil(async () => (await probe(app, '/readyz')).status === 200, { timeoutMs: 60_000, what: 'readiness' });
    expect((await probe(app, '/healthz')).status).toBe(200);

    const restore = breakOutputDir(outputDir);
    await produce(topic, messages(0, 50).map((message) => ({ ...message, partition: 0 })));
    await waitUntil(async () => (await probe(app, '/readyz')).body.failing?.includes('output-writable') === true, { timeoutMs: 30_000, what: 'readiness to report the output' });
    // Well past LIVENESS_MAX_STALL_MS: a restart would not mend the disk, so the process stays up.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const waiting = await probe(app, '/healthz');
    expect(waiting.status).toBe(200);
    expect(ended).toBeNull();
    const output = (await probe(app, '/readyz')).body.checks.find((check: { name: string }) => check.name === 'output-writable');
    expect(output).toMatchObject({ ok: false, detail: expect.any(String) });

    restore();
    await waitUntil(async () => (await probe(app, '/readyz')).status === 200, { timeoutMs: 30_000, what: 'readiness once the output is back' });
    await app.stop('test');
    await finished;
    const [rows] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n, count(DISTINCT kafka_offset)::INTEGER AS d FROM {files}');
    expect(rows).toEqual({ n: 50, d: 50 });
  });
});
