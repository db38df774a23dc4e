/**
 * The broker is stopped and started again: the collector reports not-ready, keeps its buffers (or
 * drops them when the group took its partitions meanwhile), reconnects, and loses nothing.
 */
import { mkdtempSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { CollectorApp } from '../../src/app';
import { startBroker, type BrokerHandle } from '../harness/broker';
import { exactlyOnceFigures } from '../harness/chaos';
import { assignedSource, counterValue, runOnce, testConfig } from '../harness/collector';
import { TestKafka, uniqueName, waitUntil } from '../harness/kafka';
import { encodeEvent, marketEvent } from '../harness/market-data';

const DAY = Date.UTC(2025, 9, 17, 6);
interface Outage {
  readonly kafka: TestKafka;
  readonly topic: string;
  readonly outputDir: string;
  readonly groupId: string;
  readonly app: CollectorApp;
  readonly finished: Promise<void>;
  readonly ready: () => Promise<boolean>;
}

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

  /** The collector, started on a topic holding 300 messages, once it consumed them and is ready. */
  async function collectorWith300(prefix: string, kafkaProperties: Record<string, number> = {}): Promise<Outage> {
    const kafka = new TestKafka(broker.bootstrapServers);
    const topic = uniqueName(prefix);
    await kafka.createTopic(topic, 3);
    await kafka.produce(topic, messages(0, 300));
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'outage-'));
    const groupId = uniqueName('group');
    // Buffers stay in memory through the outage: nothing is flushed until the stop.
    const config = testConfig({
      BOOTSTRAP_SERVERS: broker.bootstrapServers,
      OUTPUT_DIR: outputDir,
      TOPICS: topic,
      GROUP_ID: groupId,
      FLUSH_INTERVAL_MS: '600000',
      BATCH_SIZE: '1000000',
      KAFKA_PROPERTIES: JSON.stringify(kafkaProperties),
    });
    // Warnings to the test's output; every event to a file, for a hang to be read afterwards.
    const eventLog = path.join(os.tmpdir(), `${groupId}-events.log`);
    process.stderr.write(`[broker outage] ${prefix}: the collector's events are in ${eventLog}\n`);
    const logger = pino({ level: 'info' }, pino.multistream([{ level: 'warn', stream: process.stdout }, { level: 'info', stream: pino.destination({ dest: eventLog, sync: true }) }]));
    const app = new CollectorApp({ config, logger });
    const { finished } = await app.start();
    const ready = async (): Promise<boolean> => (await app.readiness()).every((check) => check.ok);
    await waitUntil(async () => (await counterValue(app, 'collector_messages_consumed_total')) === 300 && (await ready()), { timeoutMs: 60_000, what: 'consumed and ready' });
    return { kafka, topic, outputDir, groupId, app, finished, ready };
  }

  /**
   * After the broker is back: 300 more messages, all in files once the collector stops, each once.
   * The group may still declare the assignment lost during the stop (the coordinator answers
   * later than the partitions' leader after a restart): the stop then drops what it held, and the
   * next run of the group, a one-shot run here, writes it.
   */
  async function expectNothingLost({ kafka, topic, outputDir, groupId, app, finished }: Outage): Promise<void> {
    await kafka.produce(topic, messages(300, 300));
    // Rows of a lost assignment are consumed twice: dropped, then read again.
    const consumedOnce = async (): Promise<number> => (await counterValue(app, 'collector_messages_consumed_total')) - (await counterValue(app, 'collector_dropped_rows_total'));
    await waitUntil(async () => (await consumedOnce()) >= 600, { timeoutMs: 90_000, what: 'the new messages' });
    const droppedBeforeStop = await counterValue(app, 'collector_dropped_rows_total');
    await app.stop('test');
    await finished;
    if ((await counterValue(app, 'collector_dropped_rows_total')) > droppedBeforeStop) {
      process.stderr.write(`[broker outage] ${groupId}: the assignment was lost during the stop; a one-shot run writes what it dropped\n`);
      await runOnce({ BOOTSTRAP_SERVERS: broker.bootstrapServers, OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });
    }
    expect(await exactlyOnceFigures(outputDir, topic, broker.bootstrapServers)).toEqual({ written: 600, lost: 0, duplicated: 0 });
    expect([...(await kafka.committedOffsets(groupId, topic)).values()].reduce((a, b) => a + b, 0)).toBe(600);
  }

  it('goes not-ready, keeps what it holds, reconnects and loses nothing', async () => {
    const outage = await collectorWith300('outage');
    const { app, ready } = outage;
    await broker.pause();
    await waitUntil(async () => !(await ready()), { timeoutMs: 30_000, what: 'not-ready during the outage' });
    const failing = (await app.readiness()).filter((check) => !check.ok).map((check) => check.name);
    expect(failing).toContain('kafka-connected');
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    expect(await counterValue(app, 'collector_messages_consumed_total')).toBe(300);
    await broker.resume();
    await waitUntil(ready, { timeoutMs: 90_000, what: 'ready again after the outage' });
    // A restart slower than the session (45 s with the 30 s outage) loses the assignment: the next test's case.
    await expectNothingLost(outage);
  }, 300_000);

  it('stops during an outage that outlasts its session: drops what it held, and the next run writes it once', async () => {
    // The stop's files wait for recovery points the broker cannot store; once the client declares
    // the assignment lost, the stop drops them instead of waiting for a group that moved on.
    const outage = await collectorWith300('stop-lost', { 'session.timeout.ms': 6000 });
    const { app, finished, topic, outputDir, groupId, kafka } = outage;
    await broker.pause();
    try {
      await app.stop('test');
      await finished;
      expect(await counterValue(app, 'collector_dropped_rows_total')).toBe(300);
      expect(await counterValue(app, 'collector_files_written_total')).toBe(0);
    } finally {
      await broker.resume();
    }
    await runOnce({ BOOTSTRAP_SERVERS: broker.bootstrapServers, OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });
    expect(await exactlyOnceFigures(outputDir, topic, broker.bootstrapServers)).toEqual({ written: 300, lost: 0, duplicated: 0 });
    expect([...(await kafka.committedOffsets(groupId, topic)).values()].reduce((a, b) => a + b, 0)).toBe(300);
  }, 300_000);

  it('stores a commit made while the broker is down once it is back, whatever the read-backs meanwhile', async () => {
    // The recovery point before a file is such a commit. Before, the first read-back that timed
    // out (the coordinator unreachable, or slow to answer after it came back) failed the whole
    // commit, and the file waited for its next write retry.
    const kafka = new TestKafka(broker.bootstrapServers);
    const topic = uniqueName('commit-outage');
    await kafka.createTopic(topic, 1);
    const groupId = uniqueName('group');
    const source = await assignedSource(testConfig({ BOOTSTRAP_SERVERS: broker.bootstrapServers, TOPICS: topic, GROUP_ID: groupId }), 10_000);
    try {
      await broker.pause();
      let settled = false;
      const commit = source.commit([{ topic, partition: 0, offset: 7, metadata: 'during the outage' }], 180_000).finally(() => {
        settled = true;
      });
      commit.catch(() => undefined);
      await sleep(5_000);
      expect(settled).toBe(false);
      await broker.resume();
      await commit;
      expect([...(await kafka.committedOffsets(groupId, topic)).entries()]).toEqual([[0, 7]]);
    } finally {
      await source.disconnect();
    }
  }, 300_000);

  it('drops what it held when the outage outlasts its session, rejoins, and loses nothing', async () => {
    // Before the lost assignment was handled, the member kept trying to publish and commit its
    // buffers for a group that no longer knew it, and never rejoined.
    const outage = await collectorWith300('lost', { 'session.timeout.ms': 6000 });
    const { app, ready } = outage;
    await broker.pause();
    await waitUntil(async () => (await counterValue(app, 'collector_rebalances_total', { type: 'lost' })) === 1, { timeoutMs: 60_000, what: 'the assignment lost' });
    expect(await counterValue(app, 'collector_dropped_rows_total')).toBe(300);
    await broker.resume();
    await waitUntil(ready, { timeoutMs: 90_000, what: 'ready again after the outage' });
    await expectNothingLost(outage);
  }, 300_000);
});
