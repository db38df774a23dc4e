import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CollectorError } from '../../../src/errors';
import { seedLayout } from '../../../src/lake/layout';
import type { Body } from '../../../src/lake/store/lake-store';
import { LocalStore } from '../../../src/lake/store/local';
import { footerAt } from '../../harness/local-lake';
import { encodeParquet } from '../../../src/parquet/encode';
import type { SealedBatch } from '../../../src/parquet/batch';
import { parquetFiles, queryFiles, queryLake } from '../../harness/lake';
import { assign, message, messages, startWithBatch, testPipeline } from './fakes';

/** The real encoder, except that it rejects for good any batch holding a row whose `poison` field is true. */
async function encodeRejectingPoison(batch: SealedBatch): Promise<Uint8Array> {
  const poison = batch.columns.find((column) => column.name === 'poison');
  if (poison?.values.some((value) => value === true)) throw new CollectorError('ENCODE_FAILED', 'parquet-wasm failed: poison');
  return encodeParquet(batch, { compression: 'zstd', rowGroupSize: 1000 });
}

describe('writer', () => {
  it('writes a batch the encoder rejects for good without the rows at fault, which go to a dead-letter file with the reason', async () => {
    const test = testPipeline({ encode: encodeRejectingPoison });
    await assign(test, [{ topic: 't', partition: 0 }]);
    const batch = messages('t', 0, 0, 10).map((entry) => (entry.offset === 3 || entry.offset === 7 ? message('t', 0, entry.offset, { poison: true, n: entry.offset }) : entry));
    const { loop } = await startWithBatch(test, batch);
    await test.pipeline.drain();
    await loop;

    expect(test.consumer.committedOffset('t', 0)).toBe(10);
    expect(await queryLake(test.outputDir, 'SELECT kafka_offset::INT AS o FROM {files} ORDER BY o')).toEqual([0, 1, 2, 4, 5, 6, 8, 9].map((o) => ({ o })));
    const deadLetters = await queryLake(test.outputDir, "SELECT kafka_offset::INT AS o, error_stage, error_reason, error_message, decode(raw_value) AS raw FROM {files} ORDER BY o", 'dead-letter');
    expect(deadLetters).toEqual([3, 7].map((o) => ({ o, error_stage: 'encode', error_reason: 'rejected-by-encoder', error_message: 'parquet-wasm failed: poison', raw: `{"n":${o},"poison":true}` })));
    const [dataFile] = parquetFiles(test.outputDir);
    expect((await footerAt(dataFile)).ranges).toEqual(new Map([[0, [[0, 2], [4, 6], [8, 9]]]]));
    const [deadLetterFile] = parquetFiles(test.outputDir, 'dead-letter');
    expect((await footerAt(deadLetterFile)).ranges).toEqual(new Map([[0, [[3, 3], [7, 7]]]]));
    expect(test.recorded.named('rowsRejectedByEncoder')).toHaveLength(1);
    expect(test.recorded.named('writeFailed')).toEqual([]);
  });

  it('retries a retryable failure with the same batch and reports it as a write failure', async () => {
    let failures = 1;
    const test = testPipeline({
      encode: async (batch) => {
        if (failures-- > 0) throw new CollectorError('WORKER_FAILED', 'encoder worker exited');
        return encodeParquet(batch, { compression: 'zstd', rowGroupSize: 1000 });
      },
    });
    await assign(test, [{ topic: 't', partition: 0 }]);
    const { loop } = await startWithBatch(test, messages('t', 0, 0, 4));
    await test.pipeline.drain();
    await loop;
    expect(test.recorded.named('writeFailed')).toHaveLength(1);
    expect(test.recorded.named('rowsRejectedByEncoder')).toEqual([]);
    expect(parquetFiles(test.outputDir, 'dead-letter')).toEqual([]);
    expect(await queryLake(test.outputDir, 'SELECT count(*)::INT AS n FROM {files}')).toEqual([{ n: 4 }]);
    expect(test.pipeline.isWriteFailing).toBe(false);
  });

  it('settles a create whose answer was lost by finding the object, instead of writing the file again under a new key', async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-pipeline-'));
    /** Creates the object, then loses the answer once: what a timeout after an upload looks like. */
    class LosingFirstAnswer extends LocalStore {
      lost = 0;
      override async create(key: string, body: Body): Promise<boolean> {
        const created = await super.create(key, body);
        if (this.lost++ === 0) throw new CollectorError('PUBLISH_FAILED', 'connection reset after the upload');
        return created;
      }
    }
    const store = new LosingFirstAnswer(outputDir);
    const test = testPipeline({ outputDir, lake: { store, layout: seedLayout } });
    await assign(test, [{ topic: 't', partition: 0 }]);
    const { loop } = await startWithBatch(test, messages('t', 0, 0, 4));
    await test.pipeline.drain();
    await loop;

    expect(test.recorded.named('writeFailed')).toHaveLength(1);
    expect(parquetFiles(outputDir)).toHaveLength(1);
    expect(await queryLake(outputDir, 'SELECT count(*)::INT AS n FROM {files}')).toEqual([{ n: 4 }]);
    expect(test.consumer.committedOffset('t', 0)).toBe(4);
  });

  it("writes a file with the topic's schema as another replica widened it: its types, its columns, even those this batch lacks", async () => {
    const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-pipeline-'));
    const widening = testPipeline({ outputDir });
    const other = testPipeline({ outputDir, instanceId: 'ef567890' });
    await assign(widening, [{ topic: 't', partition: 0 }]);
    await assign(other, [{ topic: 't', partition: 1 }]);
    const first = await startWithBatch(widening, [message('t', 0, 0, { x: 1.5, y: 'only here' })]);
    await widening.pipeline.drain();
    await first.loop;
    const second = await startWithBatch(other, [message('t', 1, 0, { x: 2 }), message('t', 1, 1, { x: null })]);
    await other.pipeline.drain();
    await second.loop;

    // One file each, both with the widened x and with y, which the second replica's batch never had.
    const files = parquetFiles(outputDir);
    expect(files).toHaveLength(2);
    for (const file of files) {
      expect(await queryFiles([file], 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT x, y FROM {files})', { unionByName: false })).toEqual([
        { name: 'x', type: 'DOUBLE' },
        { name: 'y', type: 'VARCHAR' },
      ]);
    }
    expect(await queryFiles(files, 'SELECT kafka_partition::INT AS p, x, y FROM {files} ORDER BY p, kafka_offset', { unionByName: false })).toEqual([
      { p: 0, x: 1.5, y: 'only here' },
      { p: 1, x: 2, y: null },
      { p: 1, x: null, y: null },
    ]);
  });
});