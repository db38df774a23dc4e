/**
 * The collector's own liveness and readiness decisions, with a fake clock and no broker: the app
 * is built but never started, which is exactly "the consume loop is not iterating".
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CollectorApp } from '../../../src/app';
import { loadConfig } from '../../../src/config/load';
import { HttpServer } from '../../../src/http/server';

const STALL_LIMIT_MS = 5000;
const EMPTY = path.resolve(__dirname, '..', '..', 'harness', 'empty-config.json');

function buildApp(clock: { now: number }, outputDir: string): CollectorApp {
  const { config } = loadConfig({
    file: EMPTY,
    env: { OUTPUT_DIR: outputDir, LIVENESS_MAX_STALL_MS: String(STALL_LIMIT_MS), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', TOPICS: 'unused' },
  });
  return new CollectorApp({ config, logger: pino({ level: 'silent' }), now: () => clock.now });
}

describe('collector health', () => {
  const apps: CollectorApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop('test done')));
  });

  it('fails liveness once the consume loop has not iterated for longer than LIVENESS_MAX_STALL_MS, and /healthz says 503', async () => {
    const clock = { now: 1_000_000 };
    const app = buildApp(clock, mkdtempSync(path.join(os.tmpdir(), 'collector-health-')));
    apps.push(app);
    const server = new HttpServer({ host: '127.0.0.1', port: 0 }, app, app.metrics.registry);
    await server.start();
    try {
      const healthz = (): Promise<Response> => fetch(`http://127.0.0.1:${server.port}/healthz`);
      clock.now += STALL_LIMIT_MS;
      expect(app.liveness()).toMatchObject({ name: 'consume-loop', ok: true });
      expect((await healthz()).status).toBe(200);

      clock.now += 1;
      expect(app.liveness()).toEqual({ name: 'consume-loop', ok: false, detail: `no consume iteration for ${STALL_LIMIT_MS + 1} ms` });
      const response = await healthz();
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'failing' });
    } finally {
      await server.stop();
    }
  });

  it('is not ready before connecting, nor when the output directory turns into a file, nor from the moment it stops', async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'collector-health-'));
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
