/**
 * The collector's own liveness and readiness decisions, with a fake clock and an in-memory group
 * member (test/unit/pipeline/fakes.ts): start-up order, the stalled-loop exit, and a failing disk
 * that is waited for rather than restarted.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CollectorApp } from '../../../src/app';
import { loadConfig } from '../../../src/config/load';
import { CollectorError } from '../../../src/errors';
import type { SourceMessage } from '../../../src/kafka/consumer-port';
import { FakeConsumer, deferred, eventually, messages } from '../pipeline/fakes';

const STALL_LIMIT_MS = 5000;
const EMPTY = path.resolve(__dirname, '..', '..', 'harness', 'empty-config.json');

function buildApp(clock: { now: number }, outputDir: string, consumer?: FakeConsumer, env: Record<string, string> = {}): CollectorApp {
  const { config } = loadConfig({
    file: EMPTY,
    env: { OUTPUT_DIR: outputDir, LIVENESS_MAX_STALL_MS: String(STALL_LIMIT_MS), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', TOPICS: 't', BATCH_SIZE: '5', ...env },
  });
  return new CollectorApp({ config, logger: pino({ level: 'silent' }), now: () => clock.now, consumer });
}

const tempDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'collector-health-'));

describe('collector health', () => {
  const apps: CollectorApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop('test done')));
  });

  it('answers liveness over HTTP while it is still connecting', async () => {
    const consumer = new FakeConsumer();
    consumer.connecting = new Promise(() => undefined);
    const app = buildApp({ now: 0 }, tempDir(), consumer);
    apps.push(app);
    void app.start();
    await eventually(() => app.httpPort !== null && app.httpPort > 0 && consumer.handlers !== null, 'the HTTP server and the connect call');
    const response = await fetch(`http://127.0.0.1:${app.httpPort}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', checks: [{ name: 'consume-loop', ok: true, detail: 'starting' }] });
    expect((await fetch(`http://127.0.0.1:${app.httpPort}/readyz`)).status).toBe(503);
  });

  it('fails liveness past LIVENESS_MAX_STALL_MS of a loop that makes no progress, and ends the run with CONSUME_LOOP_STALLED', async () => {
    const clock = { now: 1_000_000 };
    const consumer = new FakeConsumer();
    const stuck = deferred<SourceMessage[]>();
    consumer.batches.push(stuck.promise);
    const app = buildApp(clock, tempDir(), consumer);
    apps.push(app);
    const { finished } = await app.start();
    const outcome = finished.then(
      () => 'finished',
      (error: unknown) => error,
    );
    clock.now += STALL_LIMIT_MS;
    expect(app.liveness()).toMatchObject({ name: 'consume-loop', ok: true });
    expect((await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)).status).toBe(200);

    clock.now += 1;
    expect(app.liveness()).toEqual({ name: 'consume-loop', ok: false, detail: `no consume iteration for ${STALL_LIMIT_MS + 1} ms` });
    expect((await fetch(`http://127.0.0.1:${app.httpPort}/healthz`)).status).toBe(503);
    const error = await outcome;
    expect(error).toBeInstanceOf(CollectorError);
    expect(error).toMatchObject({ code: 'CONSUME_LOOP_STALLED', retryable: false });
    // The client's call returns in the end, so the stop can run.
    stuck.resolve([]);
  });

  it('waits for a broken output instead of calling it a stall: alive, not ready, and says why', async () => {
    const clock = { now: 1_000_000 };
    const outputDir = tempDir();
    const consumer = new FakeConsumer();
    // A small budget: the files that cannot be written soon fill it, and the loop waits for them.
    const app = buildApp(clock, outputDir, consumer, { MEMORY_BUDGET_BYTES: '4096' });
    apps.push(app);
    const { finished } = await app.start();
    let ended: unknown = null;
    finished.catch((error: unknown) => {
      ended = error;
    });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    // The output folder turns into a file (root passes every permission check): every write fails.
    renameSync(outputDir, `${outputDir}.moved`);
    writeFileSync(outputDir, '');
    consumer.batches.push(messages('t', 0, 0, 100));
    await eventually(() => consumer.calls.includes('pause 1'), 'the loop pausing for the writes');
    const consumeCalls = (): number => consumer.calls.filter((call) => call.startsWith('consume')).length;
    const callsWhileWaiting = consumeCalls();

    clock.now += 3 * STALL_LIMIT_MS;
    await new Promise((resolve) => setTimeout(resolve, 2 * Math.floor(STALL_LIMIT_MS / 4) + 100));
    expect(consumeCalls()).toBe(callsWhileWaiting);
    expect(app.liveness()).toMatchObject({ name: 'consume-loop', ok: true });
    expect(ended).toBeNull();
    const output = (await app.readiness()).find((check) => check.name === 'output-writable');
    expect(output).toMatchObject({ ok: false });
    expect(output?.detail).toBeDefined();

    // The disk comes back: the write lands and the stop can publish and commit.
    rmSync(outputDir);
    renameSync(`${outputDir}.moved`, outputDir);
    await eventually(() => consumer.committedOffset('t', 0) === 100, 'the commit once the output is back', 10_000);
  });

  it('is not ready before connecting, nor when the output directory turns into a file, nor from the moment it stops', async () => {
    const outputDir = tempDir();
    const app = buildApp({ now: 0 }, outputDir);
    apps.push(app);
    const failing = async (): Promise<string[]> => (await app.readiness()).filter((check) => !check.ok).map((check) => check.name);

    expect(await failing()).toEqual(['kafka-connected', 'group-assignment']);

    // Root passes access(W_OK) on anything: only really writing tells a file from a directory.
    renameSync(outputDir, `${outputDir}.moved`);
    writeFileSync(outputDir, '');
    expect(await failing()).toEqual(['kafka-connected', 'group-assignment', 'output-writable']);
    expect((await app.readiness()).find((check) => check.name === 'output-writable')?.detail).toBe('exists but is not a directory');

    const stopping = app.stop('test');
    expect(await failing()).toContain('not-stopping');
    await stopping;
  });
});
