import { queryLake } from '../../harness/lake';
import { DEFAULT_INGEST, assign, deferred, eventually, messages, startWithBatch, testPipeline } from './fakes';
import type { SourceMessage } from '../../../src/kafka/consumer-port';
import { ANY_DAY, encodeCommitMetadata } from '../../../src/pipeline/commit-metadata';

describe('pipeline: revocation', () => {
  it('publishes and commits what the consume call read ahead returns during a revocation, before the partition leaves', async () => {
    const test = testPipeline();
    await assign(test, [{ topic: 't', partition: 0 }]);
    const readAhead = deferred<SourceMessage[]>();
    test.consumer.batches.push(messages('t', 0, 0, 5), readAhead.promise);
    // The rebalance starts during the second consume call: the one reading ahead.
    test.consumer.holdRebalanceAtConsume = 2;
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.rebalancing, 'the rebalance during the read-ahead');

    const revoked = test.pipeline.onRevoking([{ topic: 't', partition: 0 }]);
    readAhead.resolve(messages('t', 0, 5, 5));
    await revoked;

    expect(test.consumer.committedOffset('t', 0)).toBe(10);
    expect(await queryLake(test.outputDir, 'SELECT count(*)::INT AS n, count(DISTINCT kafka_offset)::INT AS distinct_offsets FROM {files}')).toEqual([{ n: 10, distinct_offsets: 10 }]);
    expect(test.recorded.named('filePublished').map(([event]) => (event as { trigger: string }).trigger)).toEqual(['revoke']);
    test.consumer.releaseRebalance();
    await test.pipeline.drain();
    await loop;
  });

  it('seals only the buffers holding a revoked partition, and waits for their commit', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 100 } });
    await assign(test, [
      { topic: 't', partition: 0 },
      { topic: 'u', partition: 0 },
    ]);
    const { loop } = await startWithBatch(test, [...messages('t', 0, 0, 3), ...messages('u', 0, 0, 4)]);
    await test.pipeline.onRevoking([{ topic: 't', partition: 0 }]);
    expect(test.recorded.named('filePublished').map(([event]) => (event as { topic: string }).topic)).toEqual(['t']);
    expect(test.consumer.committedOffset('t', 0)).toBe(3);
    // u's records are still buffered: its commit stays at its start.
    expect(test.consumer.committedOffset('u', 0) ?? 0).toBe(0);
    await test.pipeline.drain();
    await loop;
    expect(test.consumer.committedOffset('u', 0)).toBe(4);
  });
});

describe('pipeline: a lost assignment', () => {
  it('drops what the lost partitions buffered: nothing of it is published or committed', async () => {
    const test = testPipeline();
    await assign(test, [{ topic: 't', partition: 0 }]);
    const { loop } = await startWithBatch(test, messages('t', 0, 0, 5));

    await test.pipeline.onLost([{ topic: 't', partition: 0 }]);
    test.consumer.assignment = [];
    expect(test.recorded.named('partitionsLost')).toEqual([[[{ topic: 't', partition: 0 }], 5]]);
    await test.pipeline.drain();
    await loop;
    expect(test.recorded.named('filePublished')).toEqual([]);
    expect(test.consumer.commits).toEqual([]);
  });

  it('abandons a write that waits for a recovery point the broker no longer takes', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 4 } });
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.failCommits = Number.MAX_SAFE_INTEGER;
    test.consumer.batches.push(messages('t', 0, 0, 6));
    const loop = test.pipeline.start();
    await eventually(() => test.recorded.named('commitFailed').length >= 2, 'the recovery point refused twice');

    await test.pipeline.onLost([{ topic: 't', partition: 0 }]);
    test.consumer.assignment = [];
    // The sealed four rows and the two still buffered.
    expect(test.recorded.named('partitionsLost')).toEqual([[[{ topic: 't', partition: 0 }], 6]]);
    expect(test.pipeline.isWriteFailing).toBe(false);
    await test.pipeline.drain();
    await loop;
    expect(test.recorded.named('filePublished')).toEqual([]);
    expect(test.consumer.commits).toEqual([]);
  });
});

describe('pipeline: one-shot goals and revocation', () => {
  it('leaves a revoked partition\'s goal to its new owner, so the run is not held up by it', async () => {
    const test = testPipeline({ oneShot: { maxMessagesPerTopic: null } });
    test.consumer.high.set('t[0]', 3);
    test.consumer.high.set('t[1]', 5);
    await assign(test, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]);
    test.consumer.batches.push(messages('t', 0, 0, 3));
    const loop = test.pipeline.start();
    await eventually(() => test.pipeline.progress()[0]?.done === 3, 'partition 0 consumed');
    expect(test.pipeline.isCaughtUp()).toBe(false);
    await test.pipeline.onRevoking([{ topic: 't', partition: 1 }]);
    expect(test.pipeline.isCaughtUp()).toBe(true);
    await test.pipeline.drain();
    await loop;
  });
});

describe('pipeline: one-shot goals and recovery', () => {
  it('recovers only the topics with a partition left to read: one a finished member handed over is at its end', async () => {
    const test = testPipeline({ oneShot: { maxMessagesPerTopic: null } });
    const metadata = encodeCommitMetadata({ recoverSinceMs: test.clock.now, recoverDays: ANY_DAY }, 'other-1');
    // t was read to its end by the member that had it; u still has records past its commit.
    await test.consumer.commit([
      { topic: 't', partition: 0, offset: 5, metadata },
      { topic: 't', partition: 1, offset: 3, metadata },
      { topic: 'u', partition: 0, offset: 2, metadata },
    ]);
    test.consumer.high.set('t[0]', 5);
    test.consumer.high.set('t[1]', 3);
    test.consumer.high.set('u[0]', 5);
    await assign(test, [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
      { topic: 'u', partition: 0 },
    ]);
    expect(test.recorded.named('recovered').map(([recovered]) => (recovered as { topic: string }).topic)).toEqual(['u']);
    expect(test.pipeline.progress()).toEqual([
      { topic: 't', done: 0, total: 0 },
      { topic: 'u', done: 0, total: 3 },
    ]);
  });
});

describe('pipeline: a one-shot member is done only when the whole subscription is', () => {
  it('with an empty assignment, waits until the other members committed every partition to its end', async () => {
    const test = testPipeline({ oneShot: { maxMessagesPerTopic: null } });
    test.consumer.subscribed = [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ];
    test.consumer.high.set('t[0]', 10);
    test.consumer.high.set('t[1]', 4);
    await assign(test, []);
    expect(test.pipeline.isCaughtUp()).toBe(true);
    expect(await test.pipeline.isDone()).toBe(false);

    await test.consumer.commit([{ topic: 't', partition: 0, offset: 10, metadata: null }]);
    expect(await test.pipeline.isDone()).toBe(false);
    // Later records do not move the goal: the end offsets are those it saw first.
    test.consumer.high.set('t[1]', 9);
    await test.consumer.commit([{ topic: 't', partition: 1, offset: 4, metadata: null }]);
    expect(await test.pipeline.isDone()).toBe(true);
  });
});

describe('pipeline: a caught-up one-shot member publishes at once', () => {
  it('seals what it holds when it reaches its goals, so members waiting for its commits are not held until FLUSH_INTERVAL_MS', async () => {
    const test = testPipeline({ oneShot: { maxMessagesPerTopic: null } });
    test.consumer.subscribed = [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ];
    test.consumer.high.set('t[0]', 5);
    test.consumer.high.set('t[1]', 5);
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 5));
    const loop = test.pipeline.start();
    await eventually(() => test.pipeline.isCaughtUp(), 'partition 0 consumed');
    expect(await test.pipeline.isDone()).toBe(false);
    await eventually(() => test.consumer.committedOffset('t', 0) === 5, 'partition 0 published and committed');
    expect(test.recorded.named('filePublished').map(([event]) => (event as { trigger: string }).trigger)).toEqual(['caught-up']);
    await test.pipeline.drain();
    await loop;
  });
});
