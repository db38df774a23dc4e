import { readdirSync } from 'node:fs';
import { parquetFiles, queryLake } from '../../harness/lake';
import { decodeCommitMetadata } from '../../../src/pipeline/commit-metadata';
import { DEFAULT_INGEST, assign, eventually, messages, testPipeline } from './fakes';

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
});
