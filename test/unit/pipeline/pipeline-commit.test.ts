import { parquetFiles, queryLake } from '../../harness/lake';
import { decodeCommitMetadata } from '../../../src/pipeline/commit-metadata';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FilePublished } from '../../../src/pipeline/events';
import { localLake } from '../../harness/local-lake';
import { DEFAULT_INGEST, assign, eventually, messages, testPipeline, type TestPipeline } from './fakes';

describe('pipeline: commits follow publishes', () => {
  it('commits the recovery point before a partition\'s first file, and an offset only once its records are in a published file', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 10 } });
    const filesAtCommit: number[] = [];
    test.consumer.onCommit = () => filesAtCommit.push(parquetFiles(test.outputDir).length);
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 25));
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.committedOffset('t', 0) === 20, 'the commit of the two full files');
    await test.pipeline.drain();
    await loop;

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
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 5));
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.committedOffset('t', 0) === 5, 'the commit after the retried recovery point');
    await test.pipeline.drain();
    await loop;

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
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 5));
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.committedOffset('t', 0) === 5, 'the commit after the file');
    await test.pipeline.drain();
    await loop;

    expect(test.recorded.named('commitFailed').map(([error, purpose]) => [(error as Error).message.includes('more than 1000 ms after it was sent'), purpose])).toEqual([[true, 'recovery-point']]);
    expect(test.recorded.named('offsetsCommitted').map(([, purpose]) => purpose)).toEqual(['recovery-point', 'fence', 'progress']);
    expect(test.recorded.named('writeFailed')).toEqual([]);
    expect(test.recorded.named('filePublished').map(([event]) => (event as FilePublished).lateForFence)).toEqual([false]);
  });

  it('reports a file created later than its fence holds (the process paused during the upload)', async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-late-'));
    const lake = localLake(outputDir);
    const clock = { advanceOnCreate: 0, test: null as TestPipeline | null };
    const create = lake.store.create.bind(lake.store);
    lake.store.create = async (key, bytes) => {
      if (clock.test !== null) clock.test.clock.now += clock.advanceOnCreate;
      return create(key, bytes);
    };
    const test = testPipeline({ lake, outputDir, ingest: { ...DEFAULT_INGEST, maxRows: 5 }, fenceHoldsMs: 1000 });
    clock.test = test;
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 5));
    clock.advanceOnCreate = 999;
    const loop = test.pipeline.start();
    await eventually(() => test.recorded.named('filePublished').length === 1, 'the first file');
    clock.advanceOnCreate = 1001;
    test.consumer.batches.push(messages('t', 0, 5, 5));
    await eventually(() => test.consumer.committedOffset('t', 0) === 10, 'the commit of both files');
    await test.pipeline.drain();
    await loop;

    expect(test.recorded.named('filePublished').map(([event]) => (event as FilePublished).lateForFence)).toEqual([false, true]);
    expect(await queryLake(outputDir, 'SELECT count(*)::INT AS n FROM {files}')).toEqual([{ n: 10 }]);
  });
});
