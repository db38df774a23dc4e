import { createFlatFields } from '../../../src/pipeline/flatten';
import { timestampsInPlace } from '../../../src/pipeline/timestamp-fields';
import { WholeFloat } from '../../../src/parquet/schema';
import { parquetFiles, queryFiles } from '../../harness/lake';
import { DEFAULT_INGEST, assign, message, startWithBatch, testPipeline } from './fakes';

const AT = Date.UTC(2025, 9, 17, 10, 30, 0, 5);

describe('timestampsInPlace', () => {
  it('reads ISO text, epoch numbers by magnitude and whole floats as instants, and hands back the fields that are none', () => {
    const fields = createFlatFields();
    fields.names = ['iso', 'seconds', 'ms', 'float', 'other', 'bad', 'missing', 'flag'];
    fields.values = ['2025-10-17T10:30:00.005Z', 1_760_697_000, AT, new WholeFloat(1_760_697_000), 'AAPL', 'soon', null, true];
    const misfits: string[] = [];
    timestampsInPlace(fields, new Set(['iso', 'seconds', 'ms', 'float', 'bad', 'missing', 'flag']), misfits);
    expect(fields.values).toEqual([new Date(AT), new Date(1_760_697_000_000), new Date(AT), new Date(1_760_697_000_000), 'AAPL', null, null, null]);
    expect(misfits).toEqual(['bad', 'flag']);
  });

  it('makes TIMESTAMP_FIELDS timestamp columns in the files, nulls and counts what does not fit', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 3, timestampFields: new Set(['at', 'meta_ts']) } });
    await assign(test, [{ topic: 't', partition: 0 }]);
    const batch = [
      message('t', 0, 0, { at: '2025-10-17T10:30:00.005Z', meta: { ts: AT } }),
      message('t', 0, 1, { at: 1_760_697_000, meta: { ts: 'not a time' } }),
      message('t', 0, 2, { at: 'later', meta: { ts: null } }),
    ];
    const { loop } = await startWithBatch(test, batch);
    await test.pipeline.drain();
    await loop;
    const files = parquetFiles(test.outputDir);
    const types = await queryFiles(files, 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT "at", meta_ts FROM {files})');
    expect(types).toEqual([
      { name: 'at', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: 'meta_ts', type: 'TIMESTAMP WITH TIME ZONE' },
    ]);
    const rows = await queryFiles(files, 'SELECT epoch_ms("at") AS t, epoch_ms(meta_ts) AS ts FROM {files} ORDER BY kafka_offset');
    expect(rows.map((row) => [row.t === null ? null : Number(row.t), row.ts === null ? null : Number(row.ts)])).toEqual([
      [AT, AT],
      [1_760_697_000_000, null],
      [null, null],
    ]);
    expect(test.recorded.named('valuesMisfit')).toEqual([
      [{ topic: 't', column: 'meta_ts', reason: 'not-a-timestamp', values: 1 }],
      [{ topic: 't', column: 'at', reason: 'not-a-timestamp', values: 1 }],
    ]);
  });
});
