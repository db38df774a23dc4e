/** Bad input is dead-lettered and counted, never stops the pipeline, and never escapes the output folder. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Packr, pack } from 'msgpackr';
import { counterValue, runOnce, tempOutputDir } from '../harness/collector';
import { committedOffsets, createTopic, endOffsets, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';

const DAY = Date.UTC(2025, 9, 17, 9);
const mapPackr = new Packr({ useRecords: false, mapsAsObjects: false });

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}

const BAD: Array<[label: string, value: Buffer, reason: string]> = [
  ['truncated MessagePack', pack({ symbol: 'AAPL', bid: 1.5 }).subarray(0, 7), 'malformed'],
  ['a MessagePack string that is not UTF-8', Buffer.from([0x81, 0xa6, 0x73, 0x79, 0x6d, 0x62, 0x6f, 0x6c, 0xa2, 0xff, 0xfe]), 'invalid-utf8'],
  ['text that is not UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'malformed'],
  ['a 10 MB message', pack({ blob: 'x'.repeat(10 * 1024 * 1024) }), 'too-large'],
  ['1,000 levels of nesting', pack(nested(1000)), 'too-deep'],
  ['10,000 distinct keys', pack(Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`key${i}`, i]))), 'too-many-fields'],
  ['a MessagePack extension type', Buffer.from([0x81, 0xa1, 0x61, 0xd4, 0x05, 0x01]), 'malformed'],
  ['a top-level MessagePack array', pack([1, 2, 3]), 'not-a-map'],
  ['a bare JSON number', Buffer.from('42'), 'not-a-map'],
  ['binary map keys', mapPackr.pack(new Map([[Buffer.from([1, 2]), 'v']])), 'malformed'],
];

describe('bad input', () => {
  it('dead-letters every kind of bad message with its reason and keeps every good one', async () => {
    const topic = uniqueName('bad.input-topic_x');
    await createTopic(topic, 1);
    const messages: TestMessage[] = [];
    BAD.forEach(([, value], i) => {
      const event = marketEvent(i, DAY + i);
      messages.push({ partition: 0, key: `good-${i}`, value: encodeEvent(event, 'msgpack'), timestamp: DAY + i });
      messages.push({ partition: 0, key: `bad-${i}`, value, timestamp: DAY + i });
    });
    messages.push({ partition: 0, key: Buffer.from([0xff, 0x00, 0xfe]), value: encodeEvent(marketEvent(99, DAY), 'json'), timestamp: DAY });
    await produce(topic, messages);
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    const app = await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });

    const dead = await queryLake(outputDir, 'SELECT kafka_key, error_reason, octet_length(raw_value)::INTEGER AS bytes FROM {files} ORDER BY kafka_offset', 'dead-letter');
    expect(dead.map((row) => [row.kafka_key, row.error_reason])).toEqual(BAD.map(([, , reason], i) => [`bad-${i}`, reason]));
    expect(dead.map((row) => row.bytes)).toEqual(BAD.map(([, value]) => value.length));

    const [good] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows FROM {files}');
    expect(good.rows).toBe(BAD.length + 1);
    // A key that is not UTF-8 is kept exactly beside its readable form.
    const [binaryKey] = await queryLake(outputDir, "SELECT kafka_key_bytes FROM {files} WHERE kafka_key_bytes IS NOT NULL");
    expect(Buffer.from(binaryKey.kafka_key_bytes as Uint8Array)).toEqual(Buffer.from([0xff, 0x00, 0xfe]));

    for (const reason of new Set(BAD.map(([, , r]) => r))) {
      expect(await counterValue(app, 'collector_decode_failures_total', { topic, reason })).toBe(BAD.filter(([, , r]) => r === reason).length);
    }
    expect(await counterValue(app, 'collector_dead_letter_records_total', { topic })).toBe(BAD.length);
    expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));

    // Whatever the payloads said, every file is inside the output folder, under the topic's own name
    // (its schema under _schema/).
    expect(readdirSync(outputDir)).toEqual(['2025', '_schema']);
    expect(readdirSync(path.join(outputDir, '_schema'))).toEqual([topic]);
    for (const file of [...parquetFiles(outputDir), ...parquetFiles(outputDir, 'dead-letter')]) {
      expect(path.relative(outputDir, file).startsWith('..')).toBe(false);
      expect(file).toContain(`${path.sep}2025${path.sep}10${path.sep}17${path.sep}`);
      expect(path.basename(path.dirname(file))).toBe(topic);
    }
  });
});

describe('odd field names', () => {
  it('become columns by the naming rule, with their values, and dead-letter nothing', async () => {
    const topic = uniqueName('odd-names');
    await createTopic(topic, 1);
    const payloads: Array<Record<string, unknown>> = [
      { '': 1, 'a/b': 2, '../../etc/passwd': 3 },
      { 'a\u0000b': 4, 'tab\there': 5, 'prix €': 6, [`${'k'.repeat(300)}`]: 7 },
    ];
    await produce(
      topic,
      payloads.map((payload, i) => ({ partition: 0, key: `odd-${i}`, value: i === 0 ? pack(payload) : Buffer.from(JSON.stringify(payload)), timestamp: DAY + i })),
    );
    const outputDir = tempOutputDir();
    const app = await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group') });
    const rows = await queryLake(outputDir, 'SELECT * EXCLUDE (filename) FROM {files} ORDER BY kafka_offset');
    const values = (name: string): unknown[] => rows.map((row) => (row[name] === null ? null : Number(row[name])));
    expect(values('_')).toEqual([1, null]);
    expect(values('a/b')).toEqual([2, null]);
    expect(values('../../etc/passwd')).toEqual([3, null]);
    expect(values('a%00b')).toEqual([null, 4]);
    expect(values('tab%09here')).toEqual([null, 5]);
    expect(values('prix €')).toEqual([null, 6]);
    const long = Object.keys(rows[0]).filter((name) => name.startsWith('kkkk'));
    expect(long.map((name) => name.length)).toEqual([249]);
    expect(values(long[0])).toEqual([null, 7]);
    expect(parquetFiles(outputDir, 'dead-letter')).toEqual([]);
    expect(await counterValue(app, 'collector_dead_letter_records_total', { topic })).toBe(0);
    // Without DAY_SOURCE_FIELD the Kafka timestamp is the source, not a fallback.
    expect(await counterValue(app, 'collector_day_fallbacks_total', { topic })).toBe(0);
  });
});
