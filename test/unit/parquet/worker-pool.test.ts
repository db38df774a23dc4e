import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EncodeOptions, SealedBatch } from '../../../src/parquet/batch';
import { CollectorError } from '../../../src/errors';
import { EncoderPool, resolveWorkerScript } from '../../../src/parquet/worker-pool';
import { sourcesIn, suiteBuildDir, transpileSources } from '../../harness/transpile';
import { openReadBack, type ReadBack } from './read-back';

const BUILD = suiteBuildDir('worker-pool-test');
/** What the worker imports: src/parquet and the error table beside it. */
const WORKER_SOURCES = ['parquet', '.'];
const OPTIONS: EncodeOptions = { compression: 'zstd', rowGroupSize: 1000 };

/** This suite hands the pool its own transpiled copy of the worker (see harness/transpile.ts). */
function compileWorker(): string {
  transpileSources(BUILD, sourcesIn(WORKER_SOURCES));
  return path.join(BUILD, 'parquet', 'encode-worker.js');
}

/** A worker that dies when asked to encode a batch whose metadata says so. */
function writeCrashingWorker(workerScript: string): string {
  const script = path.join(BUILD, 'crashing-worker.js');
  writeFileSync(
    script,
    [
      "const { parentPort } = require('node:worker_threads');",
      "parentPort.on('message', (request) => { if (request.metadata.crash === 'yes') process.exit(3); });",
      `require(${JSON.stringify(workerScript)});`,
    ].join('\n'),
  );
  return script;
}

/** A stand-in worker that answers each request the way its metadata `reply` asks. */
function writeScriptedWorker(): string {
  const script = path.join(BUILD, 'scripted-worker.js');
  writeFileSync(
    script,
    [
      "const { parentPort } = require('node:worker_threads');",
      'parentPort.on(\'message\', ({ id, metadata }) => {',
      "  if (metadata.reply === 'garbage') return parentPort.postMessage({ hello: 'world' });",
      "  const code = metadata.reply === 'coded' ? 'ENCODE_FAILED' : null;",
      "  parentPort.postMessage({ id, ok: false, code, message: 'wasm said no', stack: 'Error: wasm said no\\n    at scripted-worker' });",
      '});',
    ].join('\n'),
  );
  return script;
}

function batch(rows: number, tag: string, metadata: Record<string, string> = {}): SealedBatch {
  return {
    rowCount: rows,
    columns: [
      { name: 'idx', type: 'int64', values: Array.from({ length: rows }, (_, i) => i) },
      { name: 'tag', type: 'string', values: Array.from({ length: rows }, () => tag) },
    ],
    metadata,
  };
}

const invalidBatch: SealedBatch = {
  rowCount: 1,
  columns: [{ name: 'idx', type: 'int64', values: ['not a number'] }],
  metadata: {},
};

async function rejection(promise: Promise<unknown>): Promise<CollectorError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (reason: unknown) => reason,
  );
  if (!(error instanceof CollectorError)) throw error;
  return error;
}

let workerScript: string;
let db: ReadBack;
beforeAll(async () => {
  workerScript = compileWorker();
  db = await openReadBack();
});
afterAll(() => {
  db.close();
  rmSync(BUILD, { recursive: true, force: true });
});

describe('EncoderPool', () => {
  test('encodes concurrent batches, more than it has workers, into readable files', async () => {
    const pool = new EncoderPool({ size: 2, options: OPTIONS, workerScript });
    try {
      const sizes = [500, 1, 2500, 10, 1200, 3];
      const encodes = sizes.map((rows, i) => pool.encode(batch(rows, `batch-${i}`)));
      expect(pool.pending).toBe(sizes.length);
      const results = await Promise.all(encodes);
      expect(pool.pending).toBe(0);
      for (const [i, bytes] of results.entries()) {
        expect(bytes).toBeInstanceOf(Uint8Array);
        const file = db.file(`pool-${i}.parquet`, bytes);
        const [row] = await db.query(
          `SELECT count(*) AS n, min(tag) AS tag, sum(idx) AS total FROM read_parquet('${file}')`,
        );
        const rows = sizes[i];
        expect(row).toEqual({ n: BigInt(rows), tag: `batch-${i}`, total: BigInt((rows * (rows - 1)) / 2) });
      }
    } finally {
      await pool.close();
    }
  });

  test('uses per-call options over the pool defaults', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript });
    try {
      const file = db.file('pool-snappy.parquet', await pool.encode(batch(10, 'x'), { ...OPTIONS, compression: 'snappy' }));
      const codecs = await db.query(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
      expect(codecs).toEqual([{ compression: 'SNAPPY' }]);
    } finally {
      await pool.close();
    }
  });

  test('rejects an invalid batch with the encoder error and keeps working', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript });
    try {
      const error = await rejection(pool.encode(invalidBatch));
      expect(error).toMatchObject({ code: 'INVALID_BATCH', retryable: false });
      expect(error.message).toMatch(/column "idx" row 0/);
      expect(await rejection(pool.encode(batch(1, 'x'), { ...OPTIONS, rowGroupSize: 0 }))).toMatchObject({
        code: 'INVALID_BATCH',
      });
      const [{ n }] = await db.query(
        `SELECT count(*) AS n FROM read_parquet('${db.file('after-invalid.parquet', await pool.encode(batch(7, 'ok')))}')`,
      );
      expect(n).toBe(7n);
    } finally {
      await pool.close();
    }
  });

  test('sends only cloneable data: function-valued metadata or options never reach postMessage', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript });
    try {
      const badMetadata = batch(1, 'x', { note: (() => 'x') as unknown as string });
      expect(await rejection(pool.encode(badMetadata))).toMatchObject({ code: 'INVALID_BATCH' });
      const extraOptions = { ...OPTIONS, onDone: () => undefined } as EncodeOptions;
      expect((await pool.encode(batch(2, 'x'), extraOptions)).byteLength).toBeGreaterThan(0);
      expect((await pool.encode(batch(3, 'ok'))).byteLength).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });

  test('turns a dead worker into a retryable WORKER_FAILED and replaces it', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript: writeCrashingWorker(workerScript) });
    try {
      const crashed = pool.encode(batch(5, 'boom', { crash: 'yes' }));
      const queued = pool.encode(batch(5, 'after'));
      expect(await rejection(crashed)).toMatchObject({ code: 'WORKER_FAILED', retryable: true });
      const [{ tag }] = await db.query(
        `SELECT min(tag) AS tag FROM read_parquet('${db.file('after-crash.parquet', await queued)}')`,
      );
      expect(tag).toBe('after');
    } finally {
      await pool.close();
    }
  });

  test('rebuilds a worker-side error as a CollectorError with the worker stack as cause', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript: writeScriptedWorker() });
    try {
      for (const reply of ['coded', 'uncoded']) {
        const error = await rejection(pool.encode(batch(1, 'x', { reply })));
        expect(error).toMatchObject({ code: 'ENCODE_FAILED', message: 'wasm said no', retryable: false });
        expect((error.cause as Error).stack).toContain('at scripted-worker');
      }
      expect(await rejection(pool.encode(batch(1, 'x', { reply: 'garbage' })))).toMatchObject({
        code: 'WORKER_FAILED',
        message: expect.stringContaining('out of protocol'),
      });
      expect(await rejection(pool.encode(batch(1, 'x', { reply: 'coded' })))).toMatchObject({ code: 'ENCODE_FAILED' });
    } finally {
      await pool.close();
    }
  });

  test('close lets accepted batches finish, then refuses new ones', async () => {
    const pool = new EncoderPool({ size: 1, options: OPTIONS, workerScript });
    const accepted = [pool.encode(batch(2000, 'a')), pool.encode(batch(2000, 'b'))];
    const closed = pool.close();
    expect(await rejection(pool.encode(batch(1, 'late')))).toMatchObject({ code: 'POOL_CLOSED' });
    const results = await Promise.all(accepted);
    await closed;
    expect(results.every((bytes) => bytes.byteLength > 0)).toBe(true);
    expect(pool.pending).toBe(0);
    await expect(pool.close()).resolves.toBeUndefined();
  });

  test('fails at construction when the worker script is missing', () => {
    const missing = path.join(BUILD, 'nope', 'encode-worker.js');
    expect(() => new EncoderPool({ size: 1, options: OPTIONS, workerScript: missing })).toThrow(
      expect.objectContaining({ code: 'WORKER_SCRIPT_MISSING', message: expect.stringContaining('npm run build') }),
    );
  });

  test.each([0, -1, 1.5, Number.NaN])('refuses size %p', (size) => {
    expect(() => new EncoderPool({ size, options: OPTIONS, workerScript })).toThrow(RangeError);
  });
});

describe('resolveWorkerScript', () => {
  test.each([
    ['/app/dist/parquet/worker-pool.js', '/app/dist/parquet/encode-worker.js'],
    ['/repo/src/parquet/worker-pool.ts', '/repo/dist/parquet/encode-worker.js'],
    ['/repo/.cache/build/src/parquet/worker-pool.js', '/repo/.cache/build/src/parquet/encode-worker.js'],
  ])('%s loads %s', (moduleFile, expected) => {
    expect(resolveWorkerScript(moduleFile)).toBe(expected);
  });
});
