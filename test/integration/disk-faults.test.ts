/**
 * The output folder turns read-only, then fills up: the collector commits nothing it could not
 * publish, reports not-ready and counts write errors, retries with backoff, never shows a partial
 * file, and recovers when the folder is writable and has room again. Needs root (tmpfs mounts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pack } from 'msgpackr';
import pino from 'pino';
import { CollectorApp } from '../../src/app';
import { exactlyOnceFigures } from '../harness/chaos';
import { counterValue, testConfig } from '../harness/collector';
import { committedOffsets, createTopic, produce, uniqueName, waitUntil } from '../harness/kafka';
import { parquetFiles, queryLake } from '../harness/lake';

const DAY = Date.UTC(2025, 9, 17, 3);
const mount = (...args: string[]): void => {
  execFileSync('mount', args, { stdio: 'pipe' });
};

/** Incompressible payloads, so a few thousand rows outgrow a 1 MiB folder. */
const messages = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    partition: (from + i) % 2,
    value: pack({ event_type: 'blob', data: { seq: from + i, noise: randomBytes(300).toString('hex') } }),
    timestamp: DAY + from + i,
  }));

function sum(map: Map<number, number>): number {
  return [...map.values()].reduce((a, b) => a + b, 0);
}

describe('output folder faults', () => {
  let outputDir: string;
  beforeAll(() => {
    outputDir = mkdtempSync(path.join(os.tmpdir(), 'disk-faults-'));
    mount('-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', outputDir);
  });
  afterAll(() => {
    execFileSync('umount', ['-l', outputDir]);
    rmSync(outputDir, { recursive: true, force: true });
  });

  it('does not commit, goes not-ready, retries and recovers from a read-only and then a full disk', async () => {
    const topic = uniqueName('disk');
    await createTopic(topic, 2);
    const groupId = uniqueName('group');
    const config = testConfig({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '500', FLUSH_INTERVAL_MS: '300' });
    const app = new CollectorApp({ config, logger: pino({ level: 'silent' }) });
    const { finished } = await app.start();
    try {
      await exerciseFaults(app, topic, groupId);
    } finally {
      await app.stop('test');
      await finished;
    }
    expect(await exactlyOnceFigures(outputDir, topic)).toEqual({ written: 21_000, lost: 0, duplicated: 0 });
    expect(sum(await committedOffsets(groupId, topic))).toBe(21_000);
  }, 400_000);

  async function exerciseFaults(app: CollectorApp, topic: string, groupId: string): Promise<void> {
    const outputCheck = async (): Promise<boolean> => (await app.readiness()).find((check) => check.name === 'output-writable')?.ok ?? false;
    const rowsInFiles = async (): Promise<number> => (parquetFiles(outputDir).length === 0 ? 0 : Number((await queryLake(outputDir, 'SELECT count(*) AS n FROM {files}'))[0].n));

    // Read-only: nothing can be published, so nothing is committed past what is on disk.
    mount('-o', 'remount,ro', outputDir);
    await produce(topic, messages(0, 1000));
    await waitUntil(async () => (await counterValue(app, 'collector_write_errors_total')) > 0 && !(await outputCheck()), { timeoutMs: 60_000, what: 'write errors and not-ready' });
    expect(parquetFiles(outputDir)).toEqual([]);
    expect(sum(await committedOffsets(groupId, topic))).toBe(0);

    mount('-o', 'remount,rw', outputDir);
    await waitUntil(async () => (await rowsInFiles()) === 1000 && (await outputCheck()), { timeoutMs: 90_000, what: 'recovery after read-only' });

    // Full: about 300 compressed bytes a row leave room for a few thousand rows in 2 MiB.
    const errorsBefore = await counterValue(app, 'collector_write_errors_total');
    await produce(topic, messages(1000, 20_000));
    await waitUntil(async () => (await counterValue(app, 'collector_write_errors_total')) > errorsBefore && !(await outputCheck()), { timeoutMs: 90_000, what: 'ENOSPC' });
    // Whatever is visible is complete and readable; the commit never passes what it holds.
    const visible = await rowsInFiles();
    expect(sum(await committedOffsets(groupId, topic))).toBeLessThanOrEqual(visible);
    for (const dir of new Set(parquetFiles(outputDir).map((file) => path.dirname(file)))) {
      expect(readdirSync(dir).filter((name) => !name.endsWith('.parquet') && !name.endsWith('.tmp'))).toEqual([]);
    }

    mount('-o', 'remount,size=256m', outputDir);
    await waitUntil(async () => (await rowsInFiles()) === 21_000, { timeoutMs: 120_000, intervalMs: 1000, what: 'recovery after the disk filled up' });
    await waitUntil(outputCheck, { timeoutMs: 30_000, what: 'ready again' });
  }
});
