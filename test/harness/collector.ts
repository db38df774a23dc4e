/** Runs the real collector in the test process against the harness's broker. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CollectorApp } from '../../src/app';
import { consumerProperties, subscription } from '../../src/config/kafka-properties';
import { loadConfig } from '../../src/config/load';
import { KafkaSource } from '../../src/kafka/kafka-source';
import type { CollectorConfig } from '../../src/config/schema';
import { bootstrapServers, waitUntil } from './kafka';

export function tempOutputDir(prefix = 'collector-out-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A validated config from environment-style settings, on the test broker, with a free HTTP port.
 * The daemon's compaction is off unless a test turns it on: most suites look at the parts.
 */
export function testConfig(env: Readonly<Record<string, string>>): CollectorConfig {
  return loadConfig({
    env: { BOOTSTRAP_SERVERS: bootstrapServers(), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', MAX_WORKERS: '1', COMPACTION_ENABLED: 'false', ...env },
    file: path.join(__dirname, 'empty-config.json'),
  }).config;
}

export function createTestApp(env: Readonly<Record<string, string>>): CollectorApp {
  const config = testConfig(env);
  return new CollectorApp({ config, logger: pino({ level: config.log.level }) });
}

/** One-shot run: consume to the end offsets, publish, commit, stop. */
export async function runOnce(env: Readonly<Record<string, string>>): Promise<CollectorApp> {
  const app = createTestApp({ ...env, RUN_MODE: 'once' });
  await app.runOnce();
  return app;
}

/** Sum of a counter of the app's registry over all label sets matching `labels`. */
export async function counterValue(app: CollectorApp, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric(name)?.get();
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return metric.values
    .filter((sample) => Object.entries(labels).every(([key, value]) => String(sample.labels[key]) === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * The consumer side alone: a KafkaSource of `config`'s group and topics, connected with hand-offs
 * that do nothing, once the group gave it its partitions. The caller disconnects it.
 */
export async function assignedSource(config: CollectorConfig, timeoutMs: number): Promise<KafkaSource> {
  const source = new KafkaSource({ properties: consumerProperties(config), subscription: subscription(config), consumeTimeoutMs: 100 });
  await source.connect({ onAssigned: () => Promise.resolve(), onRevoking: () => Promise.resolve(), onLost: () => Promise.resolve(), onRebalanceError: () => undefined }, timeoutMs);
  try {
    await waitUntil(async () => (await source.consume(10)).length === 0 && source.hasAssignment, { timeoutMs: 60_000, what: 'the assignment' });
  } catch (error) {
    await source.disconnect();
    throw error;
  }
  return source;
}
