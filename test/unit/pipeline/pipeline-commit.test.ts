import { parquetFiles, queryLake } from '../../harness/lake';
import { decodeCommitMetadata } from '../../../src/pipeline/commit-metadata';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SourceMessage } from '../../../src/kafka/consumer-port';
import type { FilePublished } from '../../../src/pipeline/events';
import { localLake } from '../../harness/local-lake';
import { DEFAULT_INGEST, assign, eventually, messages, testPipeline, type TestPipeline } from './fakes';

/** Assigns t[0] and runs the pipeline over `batch` until `done`, then drains it. */
async function runOver(test: TestPipeline, batch: SourceMessage[], done: () => boolean, what: string): Promise<void> {
  await assign(test, [{ topic: 't', partition: 0 }]);
  test.consumer.batches.push(batch);
  const loop = test.pipeline.start();
  await eventually(done, what);
  await test.pipeline.drain();
  await loop;
}

describe('pipeline: commits follow publishes', () => {
  it('commits the recovery point before a partition\'s first file, and an offset only once its records are in a published file', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 10 } });
    const filesAtCommit: number[] = [];
    test.consumer.onCommit = () => filesAtCommit.push(parquetFiles(test.outputDir).length);
    await runOver(test, messages('t', 0, 0, 25), () => test.consumer.committedOffset('t', 0) === 20, 'the commit of the two full files');

    const [first, ...rest] = test.consumer.commits.flat();
    expect(first).toMatchObject({ topic: 't', partition: 0, offset: 0 });
    expect(decodeCommitMetadata(first.metadata)).not.toBeNull();
    expect(filesAtCommit[0]).toBe(0);
    // Every later commit stands at the end of what published files hold.
    const offsets = rest.map((entry) => entry.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets[offsets.length - 1]).toBe(25);
    const rows = await queryLake(test.outputDir, 'SELECT count(*)::INT AS n, max(kafka_offset)::INT AS last FROM {files}');
    expect(rows).toEqual([{ n: 25, last: 24 }]);
  });

  it('treats a failed recovery-point commit as a commit failure: the file waits, the output is not reported unwritable', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 5 } });
    test.consumer.failCommits = 2;
    const writeFailingSeen: boolean[] = [];
    test.consumer.onCommit = () => writeFailingSeen.push(test.pipeline.isWriteFailing);
    await runOver(test, messages('t', 0, 0, 5), () => test.consumer.committedOffset('t', 0) === 5, 'the commit after the retried recovery point');

    expect(test.recorded.named('commitFailed').map(([, purpose]) => purpose)).toEqual(['recovery-point', 'recovery-point']);
    expect(test.recorded.named('writeFailed')).toEqual([]);
    expect(writeFailingSeen.every((failing) => !failing)).toBe(true);
    expect(readdirSync(test.outputDir).length).toBeGreaterThan(0);
    expect(test.recorded.named('filePublished')).toHaveLength(1);
  });

  it('takes a fence stored later than it holds (the process paused while it waited) for a failed one: the file waits for a fresh fence', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 5 }, fenceHoldsMs: 1000 });
    let pauses = 1;
    test.consumer.onCommit = () => {
      if (pauses-- > 0) test.clock.now += 1001;
    };
    await runOver(test, messages('t', 0, 0, 5), () => test.consumer.committedOffset('t', 0) === 5, 'the commit after the file');

    expect(test.recorded.named('commitFailed').map(([error, purpose]) => [(error as Error).message.includes('more than 1000 ms after it was sent'), purpose])).toEqual([[true, 'recovery-point']]);
    expect(test.recorded.named('offsetsCommitted').map(([, purpose]) => purpose)).toEqual(['recovery-point', 'fence', 'progress']);
    expect(test.recorded.named('writeFailed')).toEqual([]);
    expect(test.recorded.named('filePublished').map(([event]) => (event as FilePublished).lateForFence)).toEqual([false]);
  });

  /** A pipeline whose data-file creates move its clock: `before` the store asks stillValid (a pause before the upload), `after` the object appeared. */
  function pausingCreates(): { test: TestPipeline; outputDir: string; pause: { before: number; after: number } } {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-late-'));
    const lake = localLake(outputDir);
    const pause = { before: 0, after: 0 };
    const create = lake.store.create.bind(lake.store);
    const test = testPipeline({ lake, outputDir, ingest: { ...DEFAULT_INGEST, maxRows: 5 }, fenceHoldsMs: 1000 });
    lake.store.create = async (key, bytes, stillValid) => {
      // Only the data files: the topic's schema is created through the store too.
      if (!key.endsWith('.parquet')) return create(key, bytes, stillValid);
      test.clock.now += pause.before;
      pause.before = 0;
      const created = await create(key, bytes, stillValid);
      test.clock.now += pause.after;
      pause.after = 0;
      return created;
    };
    return { test, outputDir, pause };
  }

  it('calls off a create that would appear later than its fence holds (a pause before the upload): fenced again, published once', async () => {
    const { test, outputDir, pause } = pausingCreates();
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 5));
    pause.before = 999;
    const loop = test.pipeline.start();
    await eventually(() => test.recorded.named('filePublished').length === 1, 'the first file');
    pause.before = 1001;
    test.consumer.batches.push(messages('t', 0, 5, 5));
    await eventually(() => test.consumer.committedOffset('t', 0) === 10, 'the commit of both files');
    await test.pipeline.drain();
    await loop;

    expect(test.recorded.named('commitFailed').map(([error, purpose]) => [(error as { code?: string }).code, purpose])).toEqual([['PUBLISH_FENCE_EXPIRED', 'fence']]);
    expect(test.recorded.named('writeFailed')).toEqual([]);
    expect(test.recorded.named('filePublished').map(([event]) => (event as FilePublished).lateForFence)).toEqual([false, false]);
    expect(await queryLake(outputDir, 'SELECT count(*)::INT AS n, count(DISTINCT kafka_offset)::INT AS offsets FROM {files}')).toEqual([{ n: 10, offsets: 10 }]);
  });

  it('reports a file whose create answered later than its fence holds (a pause once the object was there)', async () => {
    const { test, outputDir, pause } = pausingCreates();
    pause.after = 1001;
    await runOver(test, messages('t', 0, 0, 5), () => test.consumer.committedOffset('t', 0) === 5, 'the commit of the file');

    expect(test.recorded.named('filePublished').map(([event]) => (event as FilePublished).lateForFence)).toEqual([true]);
    expect(await queryLake(outputDir, 'SELECT count(*)::INT AS n FROM {files}')).toEqual([{ n: 5 }]);
  });
});
