/**
 * A compaction into a bucket stopped at named points, found by a tap in front of the S3 server that
 * holds the chosen request and tells the test. SIGKILL there: in the middle of the multipart upload
 * of a compacted file, and after the compacted file exists but before its parts are removed (a
 * one-shot run with two consumer processes and COMPACT_AFTER_ONCE collects a day large enough for a
 * multipart upload; a second run finishes the compaction). SIGSTOP there: a compactor paused just
 * before it uploads the day's file, past its lease, while another one compacts the day with a late
 * part; resumed, it must not put its older merge in place.
 */
import { randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { killRunningCollectors, runCli, startCli } from '../harness/cli';
import { exactlyOnceFigures, processesWriting, sleep } from '../harness/chaos';
import { bootstrapServers, createTopic, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { readBucketWithPython } from '../harness/python';
import { s3LakeOf, type S3ServerHandle } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';
import { startS3Tap, type S3Trap } from '../harness/s3-tap';

const PARTITIONS = 3;
/** Random text compresses to about three quarters: the day's file is about 11 MiB, over one 8 MiB upload part. */
const MESSAGES = 9000;
const PAYLOAD_CHARS = 1600;
const LEASE_MS = 2000;
/** A killed member's partitions go to the next run once its session ends: short, so the test does not wait 45 s. */
const SHORT_SESSION = { KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }) };

function messages(): TestMessage[] {
  return Array.from({ length: MESSAGES }, (_, n) => {
    const timestamp = Date.UTC(2025, 9, 17, 1) + n * 5000;
    const value = Buffer.from(JSON.stringify({ n, blob: randomBytes((PAYLOAD_CHARS * 3) / 4).toString('base64') }));
    return { partition: n % PARTITIONS, key: String(n), value, timestamp };
  });
}

/** A request on the compacted file of the day, with the query parameter `parameter`. */
function onDayFile(url: string, topic: string, parameter: string): boolean {
  const parsed = new URL(url, 'http://store');
  return parsed.pathname.endsWith(`/2025/10/17/${topic}.parquet`) && parsed.searchParams.has(parameter);
}

const CRASH_POINTS: ReadonlyArray<{ readonly name: string; readonly trap: (topic: string) => S3Trap }> = [
  {
    name: 'in the middle of the multipart upload of the compacted file',
    trap: (topic) => ({ at: 'request', matches: (method, url) => method === 'PUT' && onDayFile(url, topic, 'partNumber') && new URL(url, 'http://store').searchParams.get('partNumber') === '2' }),
  },
  {
    name: 'after the compacted file exists, before its parts are removed',
    trap: (topic) => ({ at: 'answer', matches: (method, url) => method === 'POST' && onDayFile(url, topic, 'uploadId') }),
  },
];

async function openUploads(server: S3ServerHandle, prefix: string): Promise<string[]> {
  const client = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
  try {
    const listing = await client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: `${prefix}/` }));
    return (listing.Uploads ?? []).map((upload) => upload.Key ?? '');
  } finally {
    client.destroy();
  }
}

afterEach(killRunningCollectors);

describe('a compaction on S3 stopped at named points: killed, or paused past its lease', () => {
  const server = s3ServerForSuite('crash-points');

  it.each(CRASH_POINTS)('$name: the next run finishes it, every offset once, no part and no open upload left', async ({ trap }) => {
    const topic = uniqueName('s3-crash');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messages());
    const prefix = uniqueName('lake');
    const target = s3LakeOf(server(), prefix);
    const tap = await startS3Tap(server().endpoint);
    const env = {
      ...target.env,
      BOOTSTRAP_SERVERS: bootstrapServers(),
      OUTPUT_DIR: target.outputDir,
      TOPICS: topic,
      GROUP_ID: uniqueName('group'),
      MAX_WORKERS: '2',
      COMPACT_AFTER_ONCE: 'true',
      COMPACTION_GRACE_MS: '0',
      COMPACTION_LOCK_LEASE_MS: String(LEASE_MS),
      ...SHORT_SESSION,
    };
    try {
      const { sprung } = tap.trap(trap(topic));
      const first = startCli(['--once'], { ...env, AWS_ENDPOINT_URL: tap.endpoint });
      const outcome = await Promise.race([sprung.then(() => 'trapped' as const), first.exited.then(() => 'exited' as const)]);
      expect(outcome).toBe('trapped');
      first.signal('SIGKILL');
      for (const pid of processesWriting(target.outputDir)) process.kill(pid, 'SIGKILL');
      await first.exited;

      const dayKeys = async (): Promise<string[]> => (await target.lake.store.list(`2025/10/17/`)).objects.map((object) => object.key);
      const compactedKey = `2025/10/17/${topic}.parquet`;
      const partsBefore = (await dayKeys()).filter((key) => key.includes('/part-'));
      expect(partsBefore.length).toBeGreaterThan(0);
      if (trap(topic).at === 'request') {
        // Killed mid-upload: the file is not there, its upload is open.
        expect(await dayKeys()).not.toContain(compactedKey);
        expect(await openUploads(server(), prefix)).toEqual([`${prefix}/${compactedKey}`]);
      } else {
        // Killed after the upload completed: the file and all its parts are there.
        expect(await dayKeys()).toContain(compactedKey);
      }

      // The killed compactor's lease runs out; the next run finds the day as the crash left it.
      await sleep(LEASE_MS);
      const second = await runCli(['--once'], env, 120_000);
      expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
      // The start-up sweep aborts uploads older than ten minutes; the same sweep with no age limit here.
      await target.lake.store.sweepAbandoned(0);

      const keys = await dayKeys();
      expect(keys.filter((key) => key.includes('/part-'))).toEqual([]);
      expect(keys.filter((key) => key.endsWith('.parquet') && !key.includes('/_dead_letter/'))).toEqual([compactedKey]);
      expect(await openUploads(server(), prefix)).toEqual([]);
      expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: MESSAGES, lost: 0, duplicated: 0 });
    } finally {
      await tap.close();
      target.lake.store.close();
    }
  }, 300_000);

  it('a compactor paused past its lease just before it uploads the day file, resumed after another compacted the day and a late part: its upload is refused', async () => {
    const topic = uniqueName('s3-paused');
    await createTopic(topic, PARTITIONS);
    const day = (from: number, count: number): TestMessage[] =>
      Array.from({ length: count }, (_, i) => ({ partition: (from + i) % PARTITIONS, key: String(from + i), value: Buffer.from(JSON.stringify({ n: from + i })), timestamp: Date.UTC(2025, 9, 17, 3) + (from + i) * 1000 }));
    await produce(topic, day(0, 300));
    const target = s3LakeOf(server(), uniqueName('lake'));
    const env = { ...target.env, BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: target.outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), COMPACTION_GRACE_MS: '0', COMPACTION_LOCK_LEASE_MS: String(LEASE_MS) };
    const tap = await startS3Tap(server().endpoint);
    try {
      expect((await runCli(['--once'], env, 120_000)).code).toBe(0);
      const dayFile = `${target.outputDir.replace(/^s3:\/\/[^/]+/, '')}/2025/10/17/${topic}.parquet`;
      const upload = tap.trap({ at: 'request', matches: (method, url) => method === 'PUT' && new URL(url, 'http://store').pathname.endsWith(dayFile) });
      const paused = startCli(['compact', '--json'], { ...env, AWS_ENDPOINT_URL: tap.endpoint });
      await upload.sprung;
      const pausedPids = processesWriting(target.outputDir);
      for (const pid of pausedPids) process.kill(pid, 'SIGSTOP');

      // Meanwhile a late part of the day, and, once the paused one's lease has run out, another compactor.
      await produce(topic, day(300, 40));
      expect((await runCli(['--once'], env, 120_000)).code).toBe(0);
      await sleep(LEASE_MS + 500);
      const other = await runCli(['compact', '--json'], env, 120_000);
      expect(other.code).toBe(0);
      expect((JSON.parse(other.stdout) as { results: Array<{ status: string; rows: number }> }).results.filter((result) => result.rows > 0)).toEqual([expect.objectContaining({ status: 'compacted', rows: 340 })]);

      for (const pid of pausedPids) process.kill(pid, 'SIGCONT');
      upload.release();
      const resumed = await paused.exited;
      expect(resumed.code).toBe(0);
      expect((JSON.parse(paused.stdout) as { results: Array<{ status: string }> }).results.map((result) => result.status)).toContain('locked');

      const keys = (await target.lake.store.list('2025/10/17/')).objects.map((object) => object.key);
      expect(keys.filter((key) => key.endsWith('.parquet'))).toEqual([`2025/10/17/${topic}.parquet`]);
      expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: 340, lost: 0, duplicated: 0 });
    } finally {
      await tap.close();
      target.lake.store.close();
    }
  }, 300_000);

  it("SIGKILL right after a widening of the topic's schema is stored: the next run writes every record once, the day in the widened type", async () => {
    const topic = uniqueName('s3-widening');
    await createTopic(topic, PARTITIONS);
    // Prices are whole numbers (int64) in the first records, then have fractions: a widening to double.
    const records = Array.from({ length: 600 }, (_, n): TestMessage => {
      const price = n < 300 ? n : n + 0.5;
      return { partition: n % PARTITIONS, key: String(n), value: Buffer.from(JSON.stringify({ n, price })), timestamp: Date.UTC(2025, 9, 17, 4) + n * 1000 };
    });
    await produce(topic, records.slice(0, 300));
    const target = s3LakeOf(server(), uniqueName('lake'));
    const env = { ...target.env, BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: target.outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), BATCH_SIZE: '50', COMPACTION_GRACE_MS: '0', ...SHORT_SESSION };
    expect((await runCli(['--once'], env, 120_000)).code).toBe(0);
    await produce(topic, records.slice(300));
    const tap = await startS3Tap(server().endpoint);
    try {
      const widening = tap.trap({ at: 'answer', matches: (method, url) => method === 'PUT' && new URL(url, 'http://store').pathname.endsWith(`/_schema/${topic}/v000002.json`) });
      const killed = startCli(['--once'], { ...env, AWS_ENDPOINT_URL: tap.endpoint });
      const outcome = await Promise.race([widening.sprung.then(() => 'trapped' as const), killed.exited.then(() => 'exited' as const)]);
      expect(outcome).toBe('trapped');
      killed.signal('SIGKILL');
      for (const pid of processesWriting(target.outputDir)) process.kill(pid, 'SIGKILL');
      await killed.exited;

      const again = await runCli(['--once'], { ...env, COMPACT_AFTER_ONCE: 'true' }, 120_000);
      expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
      const versions = (await target.lake.store.list(`_schema/${topic}/`)).objects.map((object) => object.key.slice(object.key.lastIndexOf('/') + 1));
      expect(versions).toEqual(['v000001.json', 'v000002.json']);
      const newest = JSON.parse(Buffer.from((await target.lake.store.read(`_schema/${topic}/v000002.json`)) ?? new Uint8Array()).toString('utf8')) as { columns: Array<{ name: string; type: string }> };
      expect(newest.columns.find((column) => column.name === 'price')?.type).toBe('double');
      expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: 600, lost: 0, duplicated: 0 });
      const read = readBucketWithPython(server(), target.outputDir.replace(/^s3:\/\/[^/]+\//, ''));
      expect(read.keys.filter((key) => key.endsWith('.parquet') && !key.includes('_dead_letter'))).toEqual([`2025/10/17/${topic}.parquet`]);
      expect(read.pyarrow.schema.price).toBe('double');
      expect(read.pyarrow.rows.map((row) => row.price)).toEqual(read.pyarrow.rows.map((row) => (Number(row.n) < 300 ? Number(row.n) : Number(row.n) + 0.5)));
    } finally {
      await tap.close();
      target.lake.store.close();
    }
  }, 300_000);
});
