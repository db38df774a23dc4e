/**
 * The S3 LakeStore against a real S3 server (S3Proxy, see test/harness/s3-server.ts), configured
 * the way production is: credentials, region and endpoint from AWS_* environment variables.
 */
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { tableFromIPC } from 'apache-arrow';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { ParquetFile } from 'parquet-wasm';
import { loadConfig } from '../../src/config/load';
import { CollectorError } from '../../src/errors';
import { S3LakeStore, type S3StoreOptions } from '../../src/lake/store/s3';
import { encodeParquet } from '../../src/parquet/encode';
import { repoRoot } from '../harness/broker';
import { startS3Server, type S3ServerHandle } from '../harness/s3-server';
import { startS3Tap, type S3TapHandle } from '../harness/s3-tap';

const MIB = 1024 * 1024;
const DEFAULT_SETTINGS = loadConfig({ env: {} }).config.s3;
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decoded = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let server: S3ServerHandle;
let store: S3LakeStore;
let prefix: string;
const savedEnv = { ...process.env };
const opened: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  server = await startS3Server();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
    AWS_ENDPOINT_URL_S3: server.endpoint,
  });
  prefix = `lake-${randomBytes(4).toString('hex')}`;
  store = openStore();
}, 90_000);

afterAll(async () => {
  for (const closable of opened) await closable.close();
  process.env = savedEnv;
  await server?.stop();
});

/** A store on the test's lake; `client` overrides only what a test needs to point elsewhere. */
function openStore(options: Partial<S3StoreOptions> = {}): S3LakeStore {
  const opened_ = new S3LakeStore({ url: `s3://${server.bucket}/${prefix}`, settings: DEFAULT_SETTINGS, partSizeBytes: 5 * MIB, ...options });
  opened.push(opened_);
  return opened_;
}

async function tap(target = server.endpoint, options: Parameters<typeof startS3Tap>[1] = {}): Promise<S3TapHandle> {
  const handle = await startS3Tap(target, options);
  opened.push(handle);
  return handle;
}

function rawClient(endpoint = server.endpoint): S3Client {
  const client = new S3Client({
    endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  opened.push({ close: () => client.destroy() });
  return client;
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

function refusal(error: unknown): { code: string; retryable: boolean; context: object } {
  if (!(error instanceof CollectorError)) throw error;
  return { code: error.code, retryable: error.retryable, context: error.context };
}

describe('S3LakeStore on S3Proxy', () => {
  it('names its location without secrets and takes the endpoint from AWS_ENDPOINT_URL_S3', () => {
    expect(store.location).toBe(`s3://${server.bucket}/${prefix}`);
    expect(store.endpoint).toBe(server.endpoint);
  });

  describe('create', () => {
    it('creates once: a second create answers false and the first body stays', async () => {
      expect(await store.create('once/a.txt', text('first'))).toBe(true);
      expect(await store.create('once/a.txt', text('second'))).toBe(false);
      expect(decoded(await store.read('once/a.txt'))).toBe('first');
    });

    it('lets exactly one of concurrent creates of a key win, and keeps the winner\'s body', async () => {
      const bodies = Array.from({ length: 8 }, (_, index) => `writer ${index}`);
      const answers = await Promise.all(bodies.map((body) => store.create('race/key.txt', text(body))));
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(decoded(await store.read('race/key.txt'))).toBe(bodies[answers.indexOf(true)]);
    });

    it('streams a 12 MiB body in parts, and refuses a second multipart create of the key without leaving parts behind', async () => {
      const traffic = await tap();
      const tapped = openStore({ client: { endpoint: traffic.endpoint } });
      const first = randomBytes(12 * MIB);
      expect(await tapped.create('big/first.bin', chunks(first, 256 * 1024))).toBe(true);
      const parts = traffic.requests.filter((request) => request.method === 'PUT' && request.url.includes('partNumber='));
      expect(parts).toHaveLength(3);
      expect(sha256((await store.read('big/first.bin')) ?? new Uint8Array())).toBe(sha256(first));

      // The refusal comes from CompleteMultipartUpload: lib-storage passes IfNoneMatch on to it.
      expect(await tapped.create('big/first.bin', chunks(randomBytes(11 * MIB), MIB))).toBe(false);
      expect(sha256((await store.read('big/first.bin')) ?? new Uint8Array())).toBe(sha256(first));
      expect(traffic.requests.filter((request) => request.method === 'POST' && request.url.includes('uploadId=')).map((request) => request.status)).toEqual([200, 412]);
      const uploads = await rawClient().send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: `${prefix}/big/` }));
      expect(uploads.Uploads ?? []).toEqual([]);
    });

    it('asks stillValid just before the request that makes the object visible: false, and nothing is there, no upload left open', async () => {
      const traffic = await tap();
      const tapped = openStore({ client: { endpoint: traffic.endpoint } });
      const refusal = (error: unknown): unknown => (error as { code?: string }).code;
      await expect(tapped.create('fence/small.bin', text('x'), () => false).catch(refusal)).resolves.toBe('PUBLISH_FENCE_EXPIRED');
      expect(traffic.requests.filter((request) => request.method === 'PUT')).toEqual([]);

      // A multipart body: the parts go out while it holds, the CompleteMultipartUpload is not sent.
      let holds = true;
      const body = (async function* () {
        yield* chunks(randomBytes(11 * MIB), MIB);
        holds = false;
      })();
      await expect(tapped.create('fence/big.bin', body, () => holds).catch(refusal)).resolves.toBe('PUBLISH_FENCE_EXPIRED');
      expect(traffic.requests.filter((request) => request.method === 'PUT' && request.url.includes('partNumber=')).length).toBeGreaterThan(0);
      expect(traffic.requests.filter((request) => request.method === 'POST' && request.url.includes('uploadId='))).toEqual([]);
      expect(await store.stat('fence/small.bin')).toBeNull();
      expect(await store.stat('fence/big.bin')).toBeNull();
      expect(await store.sweepAbandoned(0)).toEqual([]);
      expect(await tapped.create('fence/small.bin', text('x'), () => true)).toBe(true);
    });

    it('pulls a streamed body only a few parts ahead of what the server has stored', async () => {
      const traffic = await tap();
      const tapped = openStore({ client: { endpoint: traffic.endpoint } });
      const partSize = 5 * MIB;
      const storedParts = (): number => traffic.requests.filter((request) => request.url.includes('partNumber=') && request.status === 200).length;
      let pulled = 0;
      let mostAhead = 0;
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let index = 0; index < 40; index += 1) {
          mostAhead = Math.max(mostAhead, pulled - storedParts() * partSize);
          pulled += MIB;
          yield new Uint8Array(MIB).fill(index);
        }
      }
      expect(await tapped.create('big/streamed.bin', body())).toBe(true);
      expect(storedParts()).toBe(8);
      // Two parts uploading, one filling, and the chunk that tips it over: never the whole 40 MiB.
      expect(mostAhead).toBeLessThanOrEqual(3 * partSize + MIB);
      expect((await store.stat('big/streamed.bin'))?.size).toBe(40 * MIB);
    });

    it('settles a lost answer by the object\'s write id: the retry\'s 412 is still our create', async () => {
      const lossy = await tap(server.endpoint, { losePutAnswers: 1 });
      const lossyStore = openStore({ client: { endpoint: lossy.endpoint } });
      expect(await lossyStore.create('lost/a.txt', text('mine'))).toBe(true);
      // The SDK resent the PUT after the lost answer, and the server refused it: the key was taken, by us.
      expect(lossy.requests.filter((request) => request.method === 'PUT').map((request) => request.status)).toEqual([200, 412]);
      expect(decoded(await store.read('lost/a.txt'))).toBe('mine');
    });

    it('rides out throttling and 500s by the SDK\'s retries; throttled on every attempt, fails retryable naming SlowDown and writes nothing', async () => {
      const faulty = await tap(server.endpoint, { faults: [{ answer: 'SlowDown', methods: ['PUT'], times: 1 }, { answer: 'InternalError', methods: ['GET'], times: 2 }] });
      const faultyStore = openStore({ client: { endpoint: faulty.endpoint } });
      const answers = (method: string): Array<[number, string | null]> => faulty.requests.filter((request) => request.method === method).map((request) => [request.status, request.injected]);
      expect(await faultyStore.create('faults/a.txt', text('once'))).toBe(true);
      expect(decoded(await faultyStore.read('faults/a.txt'))).toBe('once');
      expect(answers('PUT')).toEqual([[503, 'SlowDown'], [200, null]]);
      expect(answers('GET')).toEqual([[500, 'InternalError'], [500, 'InternalError'], [200, null]]);

      const stop = faulty.inject({ answer: 'SlowDown', methods: ['PUT'] });
      const failure: unknown = await faultyStore.create('faults/b.txt', text('never')).catch((error: unknown) => error);
      stop();
      expect(refusal(failure)).toMatchObject({ code: 'LAKE_STORE_UNAVAILABLE', retryable: true, context: { httpStatus: 503, awsCode: 'SlowDown' } });
      // maxAttempts is 3: three throttled PUTs, none reached the server, and the HEAD that settles the create found nothing.
      expect(answers('PUT').slice(2)).toEqual([[503, 'SlowDown'], [503, 'SlowDown'], [503, 'SlowDown']]);
      expect(await store.stat('faults/b.txt')).toBeNull();
    });

    it('rethrows a failing body as it is, and writes nothing', async () => {
      const broken = new Error('the body broke');
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomBytes(6 * MIB);
        throw broken;
      }
      await expect(store.create('broken/a.bin', failing())).rejects.toBe(broken);
      expect(await store.stat('broken/a.bin')).toBeNull();
    });
  });

  describe('list', () => {
    beforeAll(async () => {
      const keys = ['day/a.parquet', 'day/b.parquet', 'day/c.parquet', 'day/t1/x.parquet', 'day/t1/y.parquet', 'day/t2/z.parquet'];
      for (let index = 0; index < 20; index += 1) keys.push(`day/many/${String(index).padStart(3, '0')}.parquet`);
      await Promise.all(keys.map((key) => store.create(key, text(key))));
    });

    it('lists one level with delimiter: objects in key order and the sub-folders', async () => {
      const listing = await store.list('day/', { delimiter: true });
      expect(listing.objects.map((object) => object.key)).toEqual(['day/a.parquet', 'day/b.parquet', 'day/c.parquet']);
      expect(listing.objects[0]?.size).toBe('day/a.parquet'.length);
      expect(listing.prefixes).toEqual(['day/many/', 'day/t1/', 'day/t2/']);
    });

    it('lists everything below without delimiter, and only keys after startAfter', async () => {
      expect((await store.list('day/t1/')).objects.map((object) => object.key)).toEqual(['day/t1/x.parquet', 'day/t1/y.parquet']);
      const after = await store.list('day/', { startAfter: 'day/many/017.parquet' });
      expect(after.objects.map((object) => object.key)).toEqual([
        'day/many/018.parquet',
        'day/many/019.parquet',
        'day/t1/x.parquet',
        'day/t1/y.parquet',
        'day/t2/z.parquet',
      ]);
    });

    it('follows continuation tokens across pages', async () => {
      const traffic = await tap();
      const paged = openStore({ client: { endpoint: traffic.endpoint }, listPageSize: 7 });
      const listing = await paged.list('day/many/', { startAfter: 'day/many/002.parquet' });
      expect(listing.objects.map((object) => object.key)).toEqual(Array.from({ length: 17 }, (_, index) => `day/many/${String(index + 3).padStart(3, '0')}.parquet`));
      expect(traffic.requests.filter((request) => request.url.includes('list-type=2'))).toHaveLength(3);
    });
  });

  describe('small objects', () => {
    it('stats by the store\'s clock, and answers null for absent keys', async () => {
      await store.create('meta/s.txt', text('12345'));
      const [stat, now] = await Promise.all([store.stat('meta/s.txt'), store.now()]);
      expect(stat).toEqual({ key: 'meta/s.txt', size: 5, modifiedMs: expect.any(Number) });
      expect(Math.abs(now - (stat?.modifiedMs ?? 0))).toBeLessThan(5_000);
      expect(Math.abs(now - Date.now())).toBeLessThan(5_000);
      expect(await store.stat('meta/absent.txt')).toBeNull();
      expect(await store.read('meta/absent.txt')).toBeNull();
    });

    it('replaces metadata objects whole', async () => {
      await store.replace('meta/lease.json', text('{"v":1}'));
      await store.replace('meta/lease.json', text('{"v":2}'));
      expect(decoded(await store.read('meta/lease.json'))).toBe('{"v":2}');
    });

    it('lists and removes more keys than one S3 page or DeleteObjects batch holds (1000)', async () => {
      const keys = Array.from({ length: 1005 }, (_, index) => `bulk/${String(index).padStart(4, '0')}`);
      for (let first = 0; first < keys.length; first += 25) {
        await Promise.all(keys.slice(first, first + 25).map((key) => store.create(key, text(key))));
      }
      expect((await store.list('bulk/')).objects.map((object) => object.key)).toEqual(keys);
      await store.remove(keys.slice(2));
      expect((await store.list('bulk/')).objects.map((object) => object.key)).toEqual(keys.slice(0, 2));
    }, 120_000);

    it('removes objects, absent ones included', async () => {
      await Promise.all(['rm/a', 'rm/b', 'rm/c'].map((key) => store.create(key, text(key))));
      await store.remove(['rm/a', 'rm/c', 'rm/never-there']);
      expect((await store.list('rm/')).objects.map((object) => object.key)).toEqual(['rm/b']);
      await store.remove([]);
    });
  });

  describe('Parquet objects', () => {
    const rows = 30_000;
    let parquet: Uint8Array;

    beforeAll(async () => {
      const labels = Array.from({ length: rows }, () => randomBytes(12).toString('hex'));
      parquet = encodeParquet(
        {
          rowCount: rows,
          columns: [
            { name: 'n', type: 'int64', values: Array.from({ length: rows }, (_, index) => index) },
            { name: 'label', type: 'string', values: labels },
          ],
          metadata: { 'collector.topic': 'trades' },
        },
        { compression: 'zstd', rowGroupSize: 10_000 },
      );
      expect(await store.create('pq/trades.parquet', parquet)).toBe(true);
    });

    it('opens as a lazy Blob: parquet-wasm reads the footer and one row group by ranges', async () => {
      const traffic = await tap();
      const tapped = openStore({ client: { endpoint: traffic.endpoint } });
      const file = await ParquetFile.fromFile(await tapped.open('pq/trades.parquet'));
      try {
        const metadata = file.metadata().fileMetadata();
        expect(Number(metadata.numRows())).toBe(rows);
        expect((metadata.keyValueMetadata() as Map<string, string>).get('collector.topic')).toBe('trades');
        expect(file.metadata().numRowGroups()).toBe(3);
        const footerBytes = sum(traffic.requests.map((request) => request.bytes));
        expect(footerBytes).toBeLessThan(parquet.byteLength / 10);

        const table = tableFromIPC((await file.read({ rowGroups: [1] })).intoIPCStream());
        expect(table.numRows).toBe(10_000);
        expect(Number(table.getChild('n')?.get(0))).toBe(10_000);
        const gets = traffic.requests.filter((request) => request.method === 'GET');
        expect(gets.every((request) => request.range !== undefined && request.status === 206)).toBe(true);
        expect(sum(gets.map((request) => request.bytes))).toBeLessThan(parquet.byteLength / 2);
      } finally {
        file.free();
      }
    });

    it('is read by pyarrow\'s S3FileSystem as the same table', () => {
      const script = [
        'import json, os, sys',
        'import pyarrow.fs as fs, pyarrow.parquet as pq',
        "s3 = fs.S3FileSystem(access_key=os.environ['AWS_ACCESS_KEY_ID'], secret_key=os.environ['AWS_SECRET_ACCESS_KEY'],",
        "                     endpoint_override=os.environ['ENDPOINT'], scheme='http', region=os.environ['AWS_REGION'])",
        'table = pq.read_table(sys.argv[1], filesystem=s3)',
        "print(json.dumps({'rows': table.num_rows, 'sum': sum(table.column('n').to_pylist()), 'groups': pq.ParquetFile(sys.argv[1], filesystem=s3).num_row_groups}))",
      ].join('\n');
      const python = path.join(repoRoot(), '.cache', 'pyenv', 'bin', 'python');
      const output = execFileSync(python, ['-c', script, `${server.bucket}/${prefix}/pq/trades.parquet`], {
        encoding: 'utf8',
        // The secret goes through the environment, never the command line.
        env: { ...process.env, ENDPOINT: new URL(server.endpoint).host },
      });
      expect(JSON.parse(output)).toEqual({ rows, sum: (rows * (rows - 1)) / 2, groups: 3 });
    });

    it('refuses to open an absent key', async () => {
      await expect(store.open('pq/absent.parquet')).rejects.toMatchObject({ code: 'LAKE_OBJECT_MISSING' });
    });
  });

  describe('sweepAbandoned', () => {
    it('aborts incomplete multipart uploads under the prefix once they are old enough', async () => {
      const client = rawClient();
      const started = await client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: `${prefix}/sweep/crashed.parquet` }));
      const outside = await client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: `elsewhere/crashed.parquet` }));
      // S3Proxy (filesystem-nio2) reports every upload as initiated at the moment of the listing, so
      // here ages are ~0: old enough for 0, too young for ten minutes (see isOldEnough's unit test).
      expect(await store.sweepAbandoned(10 * 60_000)).toEqual([]);
      expect(await store.sweepAbandoned(0)).toEqual(['sweep/crashed.parquet']);
      const left = await client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket }));
      expect((left.Uploads ?? []).map((upload) => upload.UploadId)).toEqual([outside.UploadId]);
      expect(started.UploadId).not.toBe(outside.UploadId);
    });
  });

  describe('probe and errors', () => {
    it('accepts the store and removes its probe objects', async () => {
      expect(await store.probe()).toBeNull();
      expect((await store.list('')).objects.filter((object) => object.key.startsWith('_probe'))).toEqual([]);
    });

    it('names a missing bucket and the endpoint', async () => {
      const missing = openStore({ url: `s3://no-such-bucket-${prefix}/lake` });
      expect(await missing.probe()).toBe(`bucket no-such-bucket-${prefix} does not exist at ${server.endpoint}`);
      expect(refusal(await missing.stat('a').catch((error: unknown) => error))).toEqual({
        code: 'LAKE_STORE_REFUSED',
        retryable: false,
        context: expect.objectContaining({ bucket: `no-such-bucket-${prefix}`, endpoint: server.endpoint, httpStatus: 404 }),
      });
    });

    it('refuses wrong credentials without printing any secret', async () => {
      const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
      const wrong = openStore({ client: { credentials: { accessKeyId: server.accessKeyId, secretAccessKey: wrongSecret } } });
      const message = await wrong.probe();
      expect(message).toMatch(/HTTP 403.*access denied/);
      expect(message).toContain(server.bucket);
      const error = await wrong.create('x', text('x')).catch((caught: unknown) => caught);
      expect(refusal(error)).toMatchObject({ code: 'LAKE_STORE_REFUSED', context: { httpStatus: 403 } });
      const printed = `${message} ${String(error)} ${JSON.stringify(refusal(error).context)}`;
      for (const secret of [wrongSecret, server.secretAccessKey]) expect(printed).not.toContain(secret);
    });

    it('refuses a store that ignores If-None-Match', async () => {
      const lax = await startS3Server({ authorization: 'none' });
      try {
        const stripping = await tap(lax.endpoint, { dropHeaders: ['if-none-match'] });
        const laxStore = openStore({ url: `s3://${lax.bucket}/lake`, client: { endpoint: stripping.endpoint } });
        expect(await laxStore.probe()).toMatch(/accepted a second create of one key: the store ignores If-None-Match/);
      } finally {
        await lax.stop();
      }
    }, 90_000);

    it('reports an unreachable or hung store as retryable', async () => {
      const closed = openStore({ client: { endpoint: 'http://127.0.0.1:9' } });
      expect(refusal(await closed.stat('a').catch((error: unknown) => error))).toMatchObject({
        code: 'LAKE_STORE_UNAVAILABLE',
        retryable: true,
        context: { endpoint: 'http://127.0.0.1:9', bucket: server.bucket },
      });
      const impatient = openStore({ idleTimeoutMs: 500 });
      server.freeze();
      try {
        expect(refusal(await impatient.stat('a').catch((error: unknown) => error))).toMatchObject({ code: 'LAKE_STORE_UNAVAILABLE', context: { awsCode: 'TimeoutError' } });
      } finally {
        server.thaw();
      }
      expect(await store.stat('meta/s.txt')).not.toBeNull();
    });

    it('finds its objects again after the server was stopped and resumed', async () => {
      await server.pause();
      expect(refusal(await store.read('meta/s.txt').catch((error: unknown) => error))).toMatchObject({ code: 'LAKE_STORE_UNAVAILABLE', retryable: true });
      await server.resume();
      expect(decoded(await store.read('meta/s.txt'))).toBe('12345');
    }, 90_000);
  });
});

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
