/**
 * Two collectors in one group on one output folder: a rebalance when the second joins (the first
 * publishes and commits what it holds before giving partitions away) and when one is killed (the
 * other recovers from the dead one's files). Still exactly once.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exactlyOnceFigures, startContinuousProducer } from '../harness/chaos';
import { createTopic, uniqueName, waitUntil } from '../harness/kafka';
import { parquetFiles } from '../harness/lake';
import { startCollector } from '../harness/cli';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('scale-out: two collectors in one group', () => {
  it('stays exactly once through a join and a SIGKILL', async () => {
    const topic = uniqueName('scale');
    await createTopic(topic, 6);
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'scale-out-'));
    const env = {
      OUTPUT_DIR: outputDir,
      TOPICS: topic,
      GROUP_ID: uniqueName('scale-group'),
      BATCH_SIZE: '300',
      FLUSH_INTERVAL_MS: '700',
      LOG_LEVEL: 'info',
      KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }),
    };
    const producer = startContinuousProducer(topic, 6, 100);
    const first = startCollector(env);
    await waitUntil(() => parquetFiles(outputDir).length > 0, { timeoutMs: 60_000, what: 'the first collector publishing' });
    const second = startCollector(env);
    // The join: the first member's revoke hand-off publishes and commits before the move.
    await waitUntil(() => first.eventsNamed('partitions_revoked').length > 0 && second.eventsNamed('partitions_assigned').length > 0, {
      timeoutMs: 60_000,
      what: 'a rebalance onto the second collector',
    });
    await sleep(2000);
    first.signal('SIGKILL');
    await first.exited;
    // The survivor takes every partition once the dead member's session expires.
    await waitUntil(() => second.eventsNamed('partitions_assigned').length >= 2, { timeoutMs: 60_000, what: 'the survivor taking over' });
    await sleep(2000);
    const produced = await producer.stop();
    await sleep(3000);
    second.signal('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const catchUp = startCollector({ ...env, RUN_MODE: 'once' });
    expect((await catchUp.exited).code).toBe(0);
    const figures = await exactlyOnceFigures(outputDir, topic);
    expect(figures).toEqual({ written: produced, lost: 0, duplicated: 0 });
  }, 300_000);
});
