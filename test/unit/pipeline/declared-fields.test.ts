import { createFlatFields } from '../../../src/pipeline/flatten';
import { fitDeclared, fittedValue, type FieldMisfit } from '../../../src/pipeline/declared-fields';
import type { DeclaredColumn } from '../../../src/lake/declared-schema';
import type { ColumnType } from '../../../src/parquet/batch';
import { WholeFloat } from '../../../src/parquet/schema';
import { parquetFiles, queryFiles } from '../../harness/lake';
import { DEFAULT_INGEST, assign, message, startWithBatch, testPipeline } from './fakes';

const AT = Date.UTC(2025, 9, 17, 10, 30, 0, 5);
const column = (type: ColumnType, onMisfit: DeclaredColumn['onMisfit'] = 'null'): DeclaredColumn => ({ type, onMisfit });

describe('fittedValue', () => {
  it.each<[string, Parameters<typeof fittedValue>[0], ColumnType, unknown]>([
    ['an integer into a double', 3, 'double', 3],
    ['a whole float into a double', new WholeFloat(3), 'double', new WholeFloat(3)],
    ['a whole float into an int64 (no digit lost)', new WholeFloat(3), 'int64', 3],
    ['a fraction into an int64: no', 2.5, 'int64', undefined],
    ['text into a double: no', '2.5', 'double', undefined],
    ['anything into a string', true, 'string', true],
    ['a number into a boolean: no', 1, 'boolean', undefined],
    ['an int64 past int64 into an int64: no', 2n ** 64n, 'int64', undefined],
    ['ISO text into a timestamp', '2025-10-17T10:30:00.005Z', 'timestamp_ms', new Date(AT)],
    ['epoch seconds into a timestamp', 1_760_697_000, 'timestamp_ms', new Date(1_760_697_000_000)],
    ['a whole float of epoch seconds into a timestamp', new WholeFloat(1_760_697_000), 'timestamp_ms', new Date(1_760_697_000_000)],
    ['a word into a timestamp: no', 'soon', 'timestamp_ms', undefined],
  ])('%s', (_what, value, type, expected) => {
    expect(fittedValue(value, type)).toEqual(expected);
  });

  it('fits declared fields in place, leaves the others, nulls and hands back the misfits', () => {
    const fields = createFlatFields();
    fields.names = ['at', 'price', 'other', 'bad', 'missing'];
    fields.values = ['2025-10-17T10:30:00.005Z', 7, 'AAPL', 'soon', null];
    const misfits: FieldMisfit[] = [];
    const declared = new Map([
      ['at', column('timestamp_ms')],
      ['price', column('double')],
      ['bad', column('timestamp_ms')],
      ['missing', column('int64')],
    ]);
    fitDeclared(fields, declared, misfits);
    expect(fields.values).toEqual([new Date(AT), 7, 'AAPL', null, null]);
    expect(misfits).toEqual([{ name: 'bad', declared: column('timestamp_ms') }]);
  });
});

describe('declared columns in the pipeline', () => {
  it('makes TIMESTAMP_FIELDS timestamp columns in the files, nulls and counts what does not fit', async () => {
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, maxRows: 3, timestampFields: ['at', 'meta_ts'] } });
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

  it('writes declared columns in every file with their types; a misfit dead-letters its record or is nulled and counted, as declared', async () => {
    const declared = new Map([
      ['strict', new Map([['qty', column('int64', 'dead-letter')], ['always', column('string', 'dead-letter')]])],
      ['lenient', new Map([['qty', column('int64')], ['price', column('double')]])],
    ]);
    const test = testPipeline({ ingest: { ...DEFAULT_INGEST, declared } });
    await assign(test, [
      { topic: 'strict', partition: 0 },
      { topic: 'lenient', partition: 0 },
    ]);
    const batch = [
      message('strict', 0, 0, { qty: 1 }),
      message('strict', 0, 1, { qty: 2.5 }),
      message('lenient', 0, 0, { qty: 2.5, price: 3 }),
      message('lenient', 0, 1, { qty: 4, price: 'n/a' }),
    ];
    const { loop } = await startWithBatch(test, batch);
    await test.pipeline.drain();
    await loop;
    const files = parquetFiles(test.outputDir);
    const strict = files.filter((file) => file.includes('/strict/'));
    const lenient = files.filter((file) => file.includes('/lenient/'));
    expect(await queryFiles(strict, 'SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT qty, "always" FROM {files})')).toEqual([
      { name: 'qty', type: 'BIGINT' },
      { name: 'always', type: 'VARCHAR' },
    ]);
    expect(await queryFiles(strict, 'SELECT kafka_offset::INT AS o, qty::INT AS qty, "always" FROM {files}')).toEqual([{ o: 0, qty: 1, always: null }]);
    expect(await queryFiles(lenient, 'SELECT kafka_offset::INT AS o, qty::INT AS qty, price FROM {files} ORDER BY o')).toEqual([
      { o: 0, qty: null, price: 3 },
      { o: 1, qty: 4, price: null },
    ]);
    const deadLetters = await queryFiles(parquetFiles(test.outputDir, 'dead-letter'), 'SELECT kafka_topic, kafka_offset::INT AS o, error_stage, error_reason, error_message FROM {files}');
    expect(deadLetters).toEqual([{ kafka_topic: 'strict', o: 1, error_stage: 'schema', error_reason: 'not-a-int64', error_message: 'field qty does not fit its declared type int64' }]);
    expect(test.recorded.named('valuesMisfit')).toEqual([
      [{ topic: 'lenient', column: 'qty', reason: 'not-a-int64', values: 1 }],
      [{ topic: 'lenient', column: 'price', reason: 'not-a-double', values: 1 }],
    ]);
  });
});
