import { RecordBuffer, partitionRuns, type RecordMetadata } from '../../../src/pipeline/buffer';
import type { SealedBatch } from '../../../src/parquet/batch';
import { WholeFloat, type RawValue } from '../../../src/parquet/schema';

const key = { topic: 'trades', day: 20000, kind: 'data' as const };
const meta = (partition: number, offset: number, previousOffset = offset - 1, keyBytes: Uint8Array | null = null): RecordMetadata => ({
  partition,
  offset,
  previousOffset,
  timestampMs: 1_700_000_000_000 + offset,
  key: keyBytes,
});

const FOOTER = { version: 'test', topic: 't', kind: 'data' };

/** Seal once, then look columns up: sealing hands the values over and empties the buffer. */
function columnsOf(buffer: RecordBuffer): (name: string) => { type: string; values: unknown[] } | undefined {
  const sealed = buffer.seal(FOOTER);
  return (name) => column(sealed, name);
}

function column(sealed: SealedBatch, name: string): { type: string; values: unknown[] } | undefined {
  const found = sealed.columns.find((c) => c.name === name);
  return found === undefined ? undefined : { type: found.type, values: found.values };
}

function row(buffer: RecordBuffer, record: RecordMetadata, fields: Array<[string, RawValue]>): void {
  buffer.beginRow(record);
  for (const [name, value] of fields) buffer.setField(name, value);
}

describe('RecordBuffer', () => {
  it('stores metadata columns first and payload columns in order of first appearance', () => {
    const buffer = new RecordBuffer(key, 0);
    row(buffer, meta(0, 1), [['symbol', 'AAPL'], ['bid', 1.5]]);
    row(buffer, meta(0, 2), [['volume', 10]]);
    const sealed = buffer.seal(FOOTER);
    expect(sealed.columns.map((c) => c.name)).toEqual(['kafka_topic', 'kafka_partition', 'kafka_offset', 'kafka_timestamp', 'kafka_key', 'symbol', 'bid', 'volume']);
    expect(column(sealed, 'volume')?.values).toEqual([null, 10]);
    expect(column(sealed, 'symbol')?.values).toEqual(['AAPL', null]);
  });

  it.each<[string, RawValue[], string, unknown[]]>([
    ['integers', [1, 2], 'int64', [1, 2]],
    ['integers and doubles widen to double', [1, 2.5], 'double', [1, 2.5]],
    ['numbers and strings widen to string', [1, 'x'], 'string', ['1', 'x']],
    ['booleans', [true, false], 'boolean', [true, false]],
    ['whole floats of the wire as double', [new WholeFloat(10), 2], 'double', [10, 2]],
  ])('infers %s', (_label, values, type, expected) => {
    const buffer = new RecordBuffer(key, 0);
    values.forEach((value, i) => row(buffer, meta(0, i), [['v', value]]));
    expect(columnsOf(buffer)('v')).toEqual({ type, values: expected });
  });

  it('invents no type for a column of only nulls: it is left out, the metadata columns keep theirs', () => {
    const buffer = new RecordBuffer(key, 0);
    buffer.beginRow({ ...meta(0, 1), timestampMs: -1 });
    buffer.setField('v', null);
    expect(buffer.columnTypes()).toEqual(
      new Map([
        ['kafka_topic', 'string'],
        ['kafka_partition', 'int64'],
        ['kafka_offset', 'int64'],
        ['kafka_timestamp', 'timestamp_ms'],
        ['kafka_key', 'string'],
        ['v', null],
      ]),
    );
    const sealed = buffer.seal(FOOTER);
    expect(sealed.columns.map((c) => [c.name, c.type])).toEqual([
      ['kafka_topic', 'string'],
      ['kafka_partition', 'int64'],
      ['kafka_offset', 'int64'],
      ['kafka_timestamp', 'timestamp_ms'],
      ['kafka_key', 'string'],
    ]);
  });

  it('seals with the known columns first, in their order and types, the missing ones as nulls', () => {
    const buffer = new RecordBuffer(key, 0);
    row(buffer, meta(0, 1), [['extra', 'x'], ['price', 10], ['gone', null]]);
    const known = [
      { name: 'kafka_topic', type: 'string' as const },
      { name: 'price', type: 'double' as const },
      { name: 'gone', type: 'boolean' as const },
      { name: 'later', type: 'string' as const },
    ];
    const sealed = buffer.seal(FOOTER, known);
    expect(sealed.columns.map((c) => [c.name, c.type, c.values])).toEqual([
      ['kafka_topic', 'string', ['trades']],
      ['price', 'double', [10]],
      ['gone', 'boolean', [null]],
      ['later', 'string', [null]],
      ['kafka_partition', 'int64', [0]],
      ['kafka_offset', 'int64', [1]],
      ['kafka_timestamp', 'timestamp_ms', [1_700_000_000_001]],
      ['kafka_key', 'string', [null]],
      ['extra', 'string', ['x']],
    ]);
  });

  it('resolves collisions: metadata wins, the last payload field keeps the name, shadowed values get __dupN', () => {
    const buffer = new RecordBuffer(key, 0);
    row(buffer, meta(0, 7), [
      ['symbol', 'top'],
      ['symbol', 'data'],
      ['kafka_offset', 'payload offset'],
      ['symbol', 'third'],
    ]);
    const sealed = columnsOf(buffer);
    expect(sealed('kafka_offset')?.values).toEqual([7]);
    expect(sealed('kafka_offset__dup1')?.values).toEqual(['payload offset']);
    expect(sealed('symbol')?.values).toEqual(['third']);
    expect(sealed('symbol__dup1')?.values).toEqual(['top']);
    expect(sealed('symbol__dup2')?.values).toEqual(['data']);
  });

  it('keeps a key that is not UTF-8 exactly, in kafka_key_bytes', () => {
    const buffer = new RecordBuffer(key, 0);
    const badKey = Uint8Array.from([0xff, 0x61]);
    row(buffer, meta(0, 1, 0, Buffer.from('good')), []);
    row(buffer, meta(0, 2, 1, badKey), []);
    const sealed = columnsOf(buffer);
    expect(sealed('kafka_key')?.values).toEqual(['good', '\ufffda']);
    expect(sealed('kafka_key_bytes')?.values).toEqual([null, badKey]);
  });

  it('orders rows by partition, then offset, and records offset ranges per partition', () => {
    const buffer = new RecordBuffer(key, 0);
    row(buffer, meta(2, 10, -1), []);
    row(buffer, meta(0, 5, -1), []);
    row(buffer, meta(2, 11, 10), []);
    row(buffer, meta(0, 8, 7), []); // 6 and 7 went to another buffer: a new range starts
    const sealed = buffer.seal(FOOTER);
    const offsets = sealed.columns.find((c) => c.name === 'kafka_offset')?.values;
    const partitions = sealed.columns.find((c) => c.name === 'kafka_partition')?.values;
    expect(partitions).toEqual([0, 0, 2, 2]);
    expect(offsets).toEqual([5, 8, 10, 11]);
    expect(JSON.parse(sealed.metadata['collector.offsets'])).toEqual({ '0': [[5, 5], [8, 8]], '2': [[10, 11]] });
    expect(sealed.metadata['collector.topic']).toBe('t');
    expect(buffer.lowestOffsets()).toEqual(new Map([[2, 10], [0, 5]]));
  });
});

describe('partitionRuns', () => {
  it.each<[number[], number[] | null]>([
    [[0, 0, 1, 1], null],
    [[1, 0, 1, 0], [1, 1, 3, 1, 0, 1, 2, 1]],
    [[3, 1, 2], [1, 1, 2, 1, 0, 1]],
    [[2, 2, 2, 0, 0, 2, 1, 1], [3, 2, 6, 2, 0, 3, 5, 1]],
  ])('orders %j as runs %j', (partitions, expected) => {
    const runs = partitionRuns(partitions);
    expect(runs === null ? null : [...runs]).toEqual(expected);
  });
});
