/**
 * The broker is stopped for 30 s and started again: the collector reports not-ready, keeps its
 * buffers, reconnects, and loses nothing.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CollectorApp } from '../../src/app';
import { startBroker, type BrokerHandle } from '../harness/broker';
import { exactlyOnceFigures } from '../harness/chaos';
import { counterValue, testConfig } from '../harness/collector';
import { TestKafka, uniqueName, waitUntil } from '../harness/kafka';
import { encodeEvent, marketEvent } from '../harness/market-data';

const DAY = Date.UTC(2025, 9, 17, 6);
const messages = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ partition: (from + i) % 3, value: encodeEvent(marketEvent(from + i, DAY + from + i), 'msgpack'), timestamp: DAY + from + i }));

describe('broker outage', () => {
  let broker: BrokerHandle;
  beforeAll(async () => {
    broker = await startBroker();
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  it('goes not-ready, keeps what it holds, reconnects and loses nothing', async () => {
    const kafka = new TestKafka(broker.bootstrapServers);
    const topic = uniqueName('outage');
    await kafka.createTopic(topic, 3);
    await kafka.produce(topic, messages(0, 300));
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'outage-'));
    const groupId = uniqueName('group');
    // Buffers stay in memory through the outage: nothing is flushed until the stop.
    const config = testConfig({ BOOTSTRAP_SERVERS: broker.bootstrapServers, OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, FLUSH_INTERVAL_MS: '600000', BATCH_SIZE: '1000000' });
    const app = new CollectorApp({ config, logger: pino({ level: 'warn' }) });
    const { finished } = await app.start();
    const ready = async (): Promise<boolean> => (await app.readiness()).every((check) => check.ok);
    await waitUntil(async () => (await counterValue(app, 'collector_messages_consumed_total')) === 300 && (await ready()), { timeoutMs: 60_000, what: 'consumed and ready' });

    await broker.pause();
    await waitUntil(async () => !(await ready()), { timeoutMs: 30_000, what: 'not-ready during the outage' });
    const failing = (await app.readiness()).filter((check) => !check.ok).map((check) => check.name);
    expect(failing).toContain('kafka-connected');
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    expect(await counterValue(app, 'collector_messages_consumed_total')).toBe(300);
    await broker.resume();

    await waitUntil(ready, { timeoutMs: 90_000, what: 'ready again after the outage' });
    await kafka.produce(topic, messages(300, 300));
    await waitUntil(async () => (await counterValue(app, 'collector_messages_consumed_total')) >= 600, { timeoutMs: 90_000, what: 'the new messages' });
    await app.stop('test');
    await finished;
    expect(await exactlyOnceFigures(outputDir, topic, broker.bootstrapServers)).toEqual({ written: 600, lost: 0, duplicated: 0 });
    expect([...(await kafka.committedOffsets(groupId, topic)).values()].reduce((a, b) => a + b, 0)).toBe(600);
  }, 300_000);
});
