/**
 * The lake on S3-compatible object storage, end to end: the built collector (`--once`, two consumer
 * processes, the daemon) with OUTPUT_DIR=s3://bucket/prefix against S3Proxy started by the harness,
 * read back from the bucket by pyarrow and Polars, and compared with the same run into a folder;
 * and the daemon waiting out a frozen store, and throttling and 5xx answers injected by a tap.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { killRunningCollectors, runCli, startCollector } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, endOffsets, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { readBucketWithPython } from '../harness/python';
import { exactlyOnceFigures } from '../harness/chaos';
import { sampleSum } from '../harness/prometheus';
import { s3EnvOf, s3LakeOf, startS3Server, type S3ServerHandle } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';
import { startS3Tap, type S3TapHandle, type TappedRequest } from '../harness/s3-tap';

const PARTITIONS = 3;

const isUndecodable = (n: number): boolean => n % 250 === 7;

/** Two days of market data, whole-number floats included, and every 250th value decodable as neither format. */
function messages(count: number): TestMessage[] {
  return Array.from({ length: count }, (_, n) => {
    const timestamp = Date.UTC(2025, 9, 17, 20) + n * 60_000;
    const value = isUndecodable(n) ? Buffer.from([0xc1, 0xff, n % 256]) : encodeEvent(marketEvent(n, timestamp), n % 4 === 0 ? 'json' : 'msgpack');
    return { partition: n % PARTITIONS, key: String(n), value, timestamp };
  });
}

function dataRows(count: number): number {
  return Array.from({ length: count }, (_, n) => n).filter((n) => !isUndecodable(n)).length;
}

/** Every file below `dir`, as keys relative to it. */
function localKeys(dir: string): string[] {
  const keys: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const entry = path.join(folder, name);
      if (statSync(entry).isDirectory()) walk(entry);
      else keys.push(path.relative(dir, entry).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return keys.sort();
}

/** Requests by what they do to the store. */
function requestKinds(requests: readonly TappedRequest[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const { method, url, range } of requests) {
    const query = new URL(url, 'http://store').searchParams;
    const kind =
      method === 'GET' && query.has('list-type') ? 'list'
      : method === 'GET' && query.has('uploads') ? 'list-uploads'
      : method === 'GET' ? (range === undefined ? 'get' : 'get-range')
      : method === 'POST' && query.has('delete') ? 'delete-batch'
      : method === 'POST' ? 'multipart'
      : method === 'PUT' && query.has('partNumber') ? 'multipart'
      : method.toLowerCase();
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

afterEach(killRunningCollectors);

describe('a lake on S3-compatible object storage', () => {
  const server = s3ServerForSuite('collector-lake');

  const s3Env = (): Record<string, string> => s3EnvOf(server());

  /** A new topic, and the daemon collecting it into a new prefix of the bucket; `extra` is added to its environment. */
  async function daemonOnS3(
    name: string,
    flushIntervalMs: number,
    extra: Record<string, string> = {},
  ): Promise<{ topic: string; groupId: string; target: ReturnType<typeof s3LakeOf>; daemon: ReturnType<typeof startCollector> }> {
    const topic = uniqueName(name);
    const groupId = uniqueName('group');
    await createTopic(topic, PARTITIONS);
    const target = s3LakeOf(server(), uniqueName('lake'));
    const daemon = startCollector({ ...target.env, OUTPUT_DIR: target.outputDir, TOPICS: topic, GROUP_ID: groupId, FLUSH_INTERVAL_MS: String(flushIntervalMs), ...extra });
    return { topic, groupId, target, daemon };
  }

  const readBucket = (prefix: string): ReturnType<typeof readBucketWithPython> => readBucketWithPython(server(), prefix);

  it('--once with two consumer processes and COMPACT_AFTER_ONCE ends with the same lake as on disk, read back by pyarrow and Polars', async () => {
    const topic = uniqueName('s3-once');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages(900));
    const groupId = uniqueName('group');
    const run = (outputDir: string, group: string, extra: Record<string, string> = {}): ReturnType<typeof runCli> =>
      runCli(['--once'], { BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: group, MAX_WORKERS: '2', COMPACT_AFTER_ONCE: 'true', COMPACTION_GRACE_MS: '0', ...extra }, 120_000);

    const local = tempOutputDir();
    const onDisk = await run(local, uniqueName('group'));
    expect(onDisk.code).toBe(0);
    const prefix = uniqueName('lake');
    // Through a recording proxy: what the run cost in requests, by kind (docs/lake.md#object-storage).
    const recorder = await startS3Tap(server().endpoint);
    const onS3 = await run(`s3://${server().bucket}/${prefix}`, groupId, { ...s3Env(), AWS_ENDPOINT_URL: recorder.endpoint }).finally(() => recorder.close());
    expect(onS3.stderr).toBe('');
    expect(onS3.code).toBe(0);
    const costs = requestKinds(recorder.requests);
    process.stderr.write(`[s3-requests] one topic, two days, 3 partitions, 900 messages, --once, MAX_WORKERS=2, COMPACT_AFTER_ONCE: ${JSON.stringify(costs)}\n`);

    const bucket = readBucket(prefix);
    // The same keys: one compacted file and marker per closed day, the dead letters beside them, no parts left.
    expect(bucket.keys).toEqual(localKeys(local));
    expect(bucket.keys.filter((key) => key.includes('/part-'))).toEqual([]);
    const [expected] = await queryLake(local, 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
    expect(expected).toEqual({ n: dataRows(900), d: dataRows(900) });
    for (const reader of [bucket.pyarrow, bucket.polars]) {
      expect(reader.rows).toHaveLength(dataRows(900));
      expect(new Set(reader.rows.map((row) => `${String(row.kafka_partition)}:${String(row.kafka_offset)}`)).size).toBe(dataRows(900));
    }
    expect(bucket.pyarrow.schema.bid).toBe('double');
    expect(bucket.polars.schema.kafka_timestamp).toMatch(/^Datetime/);

    const s3Url = `s3://${server().bucket}/${prefix}`;
    const verify = await runCli(['verify', '--output-dir', s3Url, '--against-broker', '--json'], { BOOTSTRAP_SERVERS: bootstrapServers(), ...s3Env() });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ failed: false, files: 4 });
    const inspect = await runCli(['inspect', '--output-dir', s3Url, '--json'], s3Env());
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ days: ['2025-10-17', '2025-10-18'], topics: [topic] });
    const compact = await runCli(['compact', '--output-dir', s3Url], { ...s3Env(), COMPACTION_GRACE_MS: '0' });
    expect(compact.code).toBe(0);
    expect(compact.stdout).toContain('nothing to compact');
    expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
  }, 240_000);

  it('the daemon publishes parts to the bucket while the day is open, and on SIGTERM publishes the rest and commits', async () => {
    const { topic, groupId, target, daemon } = await daemonOnS3('s3-daemon', 1000);
    target.lake.store.close();
    await daemon.waitForEvents('partitions_assigned', 1);
    await produce(topic, messages(300));
    await daemon.waitForEvents('file_published', 2);
    daemon.signal('SIGTERM');
    expect((await daemon.exited).code).toBe(0);

    const bucket = readBucket(target.outputDir.slice(`s3://${server().bucket}/`.length));
    // Parts only, and the topic's schema.
    expect(bucket.keys.filter((key) => !key.startsWith(`_schema/${topic}/`)).every((key) => /\/part-\d{8}T\d{9}Z-[0-9a-f]+-\d+\.parquet$/.test(key))).toBe(true);
    expect(bucket.keys).toContain(`_schema/${topic}/v000001.json`);
    expect(bucket.pyarrow.rows).toHaveLength(dataRows(300));
    expect(new Set(bucket.polars.rows.map((row) => `${String(row.kafka_partition)}:${String(row.kafka_offset)}`)).size).toBe(dataRows(300));
    expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
  }, 180_000);

  it('waits out a frozen store: alive, not ready naming the bucket, then everything published once when it answers again', async () => {
    const { topic, groupId, target, daemon } = await daemonOnS3('s3-frozen', 500);
    const [listening] = await daemon.waitForEvents('http_listening', 1);
    const base = String(listening.address);
    const probe = async (path: '/healthz' | '/readyz'): Promise<{ status: number; body: { failing?: string[]; checks?: Array<{ name: string; detail?: string }> } }> => {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: (await response.json()) as { failing?: string[]; checks?: Array<{ name: string; detail?: string }> } };
    };
    await daemon.waitForEvents('partitions_assigned', 1);
    await produce(topic, messages(150));
    await daemon.waitForEvents('file_published', 1);
    await waitUntil(async () => (await probe('/readyz')).status === 200, { timeoutMs: 30_000, what: 'ready before the freeze' });

    server().freeze();
    try {
      await produce(topic, messages(300).slice(150));
      await waitUntil(async () => (await probe('/readyz')).body.failing?.includes('output-writable') === true, { timeoutMs: 90_000, what: 'readiness to report the frozen store' });
      const notReady = await probe('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body.checks?.find((check) => check.name === 'output-writable')?.detail).toContain(target.outputDir);
      expect((await probe('/healthz')).status).toBe(200);
    } finally {
      server().thaw();
    }
    await waitUntil(async () => (await probe('/readyz')).status === 200, { timeoutMs: 120_000, what: 'ready again once the store answers' });
    await waitUntil(async () => JSON.stringify([...(await committedOffsets(groupId, topic))]) === JSON.stringify([...(await endOffsets(topic))]), { timeoutMs: 120_000, what: 'every offset committed' });
    daemon.signal('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    // verify counts dead letters as written too: every offset once.
    expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: 300, lost: 0, duplicated: 0 });
    target.lake.store.close();
  }, 360_000);

  it('rides out throttling and 500s: every third PUT answered 503 SlowDown, GETs then all PUTs failing for a while; everything published and compacted once, the failures counted', async () => {
    const tap = await startS3Tap(server().endpoint);
    try {
      // The day closer (grace 0: the test's days are long over) lists, reads and creates while the writer creates parts: every kind of request meets a fault.
      const { topic, groupId, target, daemon } = await daemonOnS3('s3-faults', 500, { AWS_ENDPOINT_URL: tap.endpoint, COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0' });
      const [listening] = await daemon.waitForEvents('http_listening', 1);
      // After start-up: a store that fails the probe is a refusal, tested below.
      await daemon.waitForEvents('partitions_assigned', 1);
      const all = messages(300);
      // Throttling the SDK's retries absorb, for the whole run.
      tap.inject({ answer: 'SlowDown', methods: ['PUT'], every: 3 });
      // Outages they do not: each lasts until a failure has got past the SDK's three attempts to the daemon, which has to wait it out.
      const stopFailingGets = tap.inject({ answer: 'InternalError', methods: ['GET'] });
      await produce(topic, all.slice(0, 150));
      await daemon.waitForEvents('compaction_failed', 1, 60_000);
      await daemon.waitForEvents('file_published', 1, 60_000);
      stopFailingGets();
      const stopThrottlingPuts = tap.inject({ answer: 'SlowDown', methods: ['PUT'] });
      // The writer reads the topic's schema before each file, so the GET outage may have failed a write already.
      const writesFailedBefore = daemon.eventsNamed('write_failed').length;
      await produce(topic, all.slice(150));
      await daemon.waitForEvents('write_failed', writesFailedBefore + 1, 60_000);
      stopThrottlingPuts();

      const parts = async (): Promise<string[]> => (await target.lake.store.list('')).objects.map((object) => object.key).filter((key) => key.includes('/part-'));
      const compacted = async (): Promise<boolean> => (await Promise.all(['2025/10/17', '2025/10/18'].map((day) => target.lake.store.stat(`${day}/${topic}.parquet`)))).every((object) => object !== null);
      await waitUntil(async () => JSON.stringify([...(await committedOffsets(groupId, topic))]) === JSON.stringify([...(await endOffsets(topic))]), { timeoutMs: 120_000, what: 'every offset committed' });
      await waitUntil(async () => (await compacted()) && (await parts()).length === 0, { timeoutMs: 120_000, what: 'both days compacted, no parts left' });
      const metrics = await (await fetch(`${String(listening.address)}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      daemon.signal('SIGTERM');
      expect((await daemon.exited).code).toBe(0);

      expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: 300, lost: 0, duplicated: 0 });
      const injected = (answer: string, method: string): number => tap.requests.filter((request) => request.injected === answer && request.method === method).length;
      // At least one create's three attempts, and one GET's.
      expect(injected('SlowDown', 'PUT')).toBeGreaterThanOrEqual(3);
      expect(injected('InternalError', 'GET')).toBeGreaterThanOrEqual(3);
      // The SDK hides the failures it retried; the ones it gave up on reach the store's metrics by operation, and the run's summary.
      const unavailable = (operations: readonly string[]): number => operations.reduce((sum, operation) => sum + sampleSum(metrics, 'collector_store_requests_total', { operation, result: 'LAKE_STORE_UNAVAILABLE' }), 0);
      const gets = ['list', 'read', 'open', 'stat'];
      expect(unavailable(['create'])).toBeGreaterThanOrEqual(1);
      expect(unavailable(gets)).toBeGreaterThanOrEqual(1);
      const [summary] = daemon.eventsNamed('store_requests');
      const failedAtExit = Object.fromEntries(Object.entries(summary.requests as Record<string, number>).filter(([key]) => key.endsWith(':LAKE_STORE_UNAVAILABLE')));
      expect(failedAtExit['create:LAKE_STORE_UNAVAILABLE']).toBeGreaterThanOrEqual(unavailable(['create']));
      process.stderr.write(`[s3-faults] injected: ${injected('SlowDown', 'PUT')} SlowDown PUTs, ${injected('InternalError', 'GET')} InternalError GETs; failed at the store: ${JSON.stringify(failedAtExit)}\n`);
      target.lake.store.close();
    } finally {
      await tap.close();
    }
  }, 360_000);

  describe('refuses to start, exit 2 before consuming anything, naming the cause', () => {
    let tap: S3TapHandle | null = null;
    let lax: S3ServerHandle | null = null;
    afterEach(async () => {
      await tap?.close();
      await lax?.stop();
      tap = null;
      lax = null;
    });

    const attempt = (env: Record<string, string>): ReturnType<typeof runCli> => runCli(['--once'], { BOOTSTRAP_SERVERS: bootstrapServers(), TOPICS: uniqueName('never-read'), ...env });

    it('a missing bucket', async () => {
      const result = await attempt({ ...s3Env(), OUTPUT_DIR: 's3://no-such-bucket/lake' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no-such-bucket/);
      expect(result.stderr).toContain(server().endpoint);
    });

    it('refused credentials', async () => {
      const result = await attempt({ ...s3Env(), AWS_SECRET_ACCESS_KEY: 'wrong-secret', OUTPUT_DIR: `s3://${server().bucket}/lake` });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/credentials|denied|signature/i);
      expect(result.stderr).not.toContain('wrong-secret');
    });

    it('a store that overwrites an object despite If-None-Match', async () => {
      // Dropping a signed header breaks the signature: the server() behind the tap checks none.
      lax = await startS3Server({ bucket: 'lax-lake', authorization: 'none' });
      tap = await startS3Tap(lax.endpoint, { dropHeaders: ['if-none-match'] });
      const result = await attempt({ ...s3Env(), AWS_ENDPOINT_URL: tap.endpoint, OUTPUT_DIR: `s3://${lax.bucket}/lake` });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/If-None-Match/);
    }, 60_000);
  });
});
