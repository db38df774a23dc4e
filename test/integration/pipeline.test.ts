/**
 * The core pipeline end to end on the real broker: files appear under the right day folders and
 * DuckDB reads back exactly what was produced; offsets are committed only after publishing.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { counterValue, createTestApp, runOnce, tempOutputDir } from '../harness/collector';
import { committedOffsets, createTopic, endOffsets, produce, uniqueName, waitUntil, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';

const DAY_ONE = Date.UTC(2025, 9, 17, 22, 0, 0);
const DAY_TWO = Date.UTC(2025, 9, 18, 1, 0, 0);
const PARTITIONS = 3;

/** Message n of a topic: alternating MessagePack/JSON, timestamps across two UTC days, round-robin partitions. */
function messagesFor(topicIndex: number, from: number, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const timestamp = (n % 2 === 0 ? DAY_ONE : DAY_TWO) + n * 1000;
    const event = marketEvent(n + topicIndex * 1_000_000, timestamp);
    return { partition: n % PARTITIONS, key: event.data.symbol, value: encodeEvent(event, n % 3 === 0 ? 'json' : 'msgpack'), timestamp };
  });
}

async function sum(map: Promise<Map<number, number>>): Promise<number> {
  return [...(await map).values()].reduce((a, b) => a + b, 0);
}

describe('core pipeline', () => {
  it('writes 10,000 messages of two topics exactly once, under the right UTC day folders, with the seed columns', async () => {
    const topics = [uniqueName('trades'), uniqueName('quotes')];
    for (const topic of topics) await createTopic(topic, PARTITIONS);
    await Promise.all(topics.map((topic, t) => produce(topic, messagesFor(t, 0, 5000))));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    const app = await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topics.join(','), GROUP_ID: groupId, BATCH_SIZE: '2000' });

    const [summary] = await queryLake(outputDir, `SELECT count(*)::INTEGER AS rows, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset))::INTEGER AS distinct_rows FROM {files}`);
    expect(summary).toEqual({ rows: 10000, distinct_rows: 10000 });

    // Each file's folder is the UTC day of its rows' Kafka timestamps, and the topic's folder.
    const misplaced = await queryLake(
      outputDir,
      `SELECT filename, kafka_topic, strftime(kafka_timestamp AT TIME ZONE 'UTC', '%Y/%m/%d') AS day FROM {files}
       WHERE NOT contains(filename, '/' || strftime(kafka_timestamp AT TIME ZONE 'UTC', '%Y/%m/%d') || '/' || kafka_topic || '/') LIMIT 5`,
    );
    expect(misplaced).toEqual([]);
    expect(readdirSync(path.join(outputDir, '2025', '10')).sort()).toEqual(['17', '18']);

    const columns = await queryLake(outputDir, `SELECT column_name, column_type FROM (DESCRIBE SELECT * EXCLUDE (filename) FROM {files})`);
    expect(Object.fromEntries(columns.map((c) => [c.column_name, c.column_type]))).toEqual({
      kafka_topic: 'VARCHAR',
      kafka_partition: 'BIGINT',
      kafka_offset: 'BIGINT',
      kafka_timestamp: 'TIMESTAMP WITH TIME ZONE',
      kafka_key: 'VARCHAR',
      event_type: 'VARCHAR',
      source: 'VARCHAR',
      symbol: 'VARCHAR',
      bid: 'DOUBLE',
      ask: 'DOUBLE',
      volume: 'BIGINT',
      seq: 'BIGINT',
      metadata_exchange: 'VARCHAR',
      metadata_timestamp: 'VARCHAR',
    });

    // Every row holds the values of the message it came from.
    const rows = await queryLake(outputDir, `SELECT kafka_topic, kafka_partition, kafka_key, epoch_ms(kafka_timestamp) AS ts, event_type, source, symbol, bid, ask, volume, seq, metadata_exchange, metadata_timestamp FROM {files}`);
    let checked = 0;
    for (const row of rows) {
      const topicIndex = topics.indexOf(String(row.kafka_topic));
      const n = Number(row.seq) - topicIndex * 1_000_000;
      const timestamp = (n % 2 === 0 ? DAY_ONE : DAY_TWO) + n * 1000;
      const expected = marketEvent(n + topicIndex * 1_000_000, timestamp);
      expect({
        partition: Number(row.kafka_partition),
        key: row.kafka_key,
        ts: Number(row.ts),
        event_type: row.event_type,
        source: row.source,
        symbol: row.symbol,
        bid: row.bid,
        ask: row.ask,
        volume: Number(row.volume),
        exchange: row.metadata_exchange,
        metadataTimestamp: row.metadata_timestamp,
      }).toEqual({
        partition: n % PARTITIONS,
        key: expected.data.symbol,
        ts: timestamp,
        event_type: 'market_data',
        source: 'ibkr',
        symbol: expected.data.symbol,
        bid: expected.data.bid,
        ask: expected.data.ask,
        volume: expected.data.volume,
        exchange: expected.metadata.exchange,
        metadataTimestamp: expected.metadata.timestamp,
      });
      checked++;
    }
    expect(checked).toBe(10000);

    // Rows within each file are ordered by partition, then offset.
    for (const file of parquetFiles(outputDir)) {
      const [order] = await queryFiles([file], `SELECT bool_and(ordered)::BOOLEAN AS ordered FROM (SELECT (kafka_partition, kafka_offset) >= lag((kafka_partition, kafka_offset)) OVER () OR lag(kafka_offset) OVER () IS NULL AS ordered FROM {files})`);
      expect(order.ordered).toBe(true);
    }

    for (const topic of topics) expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
    expect(await counterValue(app, 'collector_rows_written_total', { kind: 'data' })).toBe(10000);
  });

  it('subscribes by regular expression (TOPIC_PATTERN) and leaves other topics alone', async () => {
    const stem = uniqueName('pattern');
    const [matchA, matchB, other] = [`${stem}-a`, `${stem}-b`, `${stem}x-c`];
    for (const topic of [matchA, matchB, other]) {
      await createTopic(topic, 1);
      await produce(topic, messagesFor(0, 0, 20).map((m) => ({ ...m, partition: 0 })));
    }
    const outputDir = tempOutputDir();
    await runOnce({ OUTPUT_DIR: outputDir, TOPIC_PATTERN: `${stem}-.*`, GROUP_ID: uniqueName('group') });
    const topics = await queryLake(outputDir, 'SELECT kafka_topic, count(*)::INTEGER AS rows FROM {files} GROUP BY ALL ORDER BY ALL');
    expect(topics).toEqual([
      { kafka_topic: matchA, rows: 20 },
      { kafka_topic: matchB, rows: 20 },
    ]);
  });

  it('commits nothing before a file is published, and the end offsets once it is', async () => {
    const topic = uniqueName('held');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messagesFor(0, 0, 900));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    // Thresholds far away: everything stays buffered until the stop.
    const app = createTestApp({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '1000000', FLUSH_INTERVAL_MS: '600000' });
    const { finished } = await app.start();
    await waitUntil(async () => (await counterValue(app, 'collector_messages_consumed_total')) === 900, { timeoutMs: 60_000, what: '900 messages consumed' });
    expect(parquetFiles(outputDir)).toEqual([]);
    expect(await committedOffsets(groupId, topic)).toEqual(new Map());

    await app.stop('test');
    await finished;
    const [summary] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows FROM {files}');
    expect(summary.rows).toBe(900);
    expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
  });

  it('never commits past a record still held in another day buffer (the low-watermark rule)', async () => {
    const topic = uniqueName('watermark');
    await createTopic(topic, 1);
    const lateDay = messagesFor(0, 0, 10).map((m) => ({ ...m, partition: 0, timestamp: DAY_TWO }));
    const earlyDay = messagesFor(0, 10, 100).map((m) => ({ ...m, partition: 0, timestamp: DAY_ONE }));
    await produce(topic, [...lateDay, ...earlyDay]);
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    // Offsets 10..109 fill the DAY_ONE buffer and publish; offsets 0..9 stay buffered under DAY_TWO.
    const app = createTestApp({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '100', FLUSH_INTERVAL_MS: '600000' });
    const { finished } = await app.start();
    await waitUntil(async () => (await counterValue(app, 'collector_files_written_total')) === 1, { timeoutMs: 60_000, what: 'the first file' });
    await waitUntil(async () => (await counterValue(app, 'collector_messages_consumed_total')) >= 110, { timeoutMs: 10_000 });
    // Before its first file the partition gets a recovery point at its start offset, claiming no record.
    expect(await committedOffsets(groupId, topic)).toEqual(new Map([[0, 0]]));
    await app.stop('test');
    await finished;
    expect(await committedOffsets(groupId, topic)).toEqual(new Map([[0, 110]]));
  });

  it('dead-letters a malformed message in the middle of a partition, counts it, and writes every message after it', async () => {
    const topic = uniqueName('poison');
    await createTopic(topic, 1);
    const good = messagesFor(0, 0, 100).map((message) => ({ ...message, partition: 0 }));
    const garbage = Buffer.from([0xc1, 0xff, 0x00, 0x7b]);
    await produce(topic, [...good.slice(0, 50), { partition: 0, key: 'bad', value: garbage, timestamp: DAY_ONE }, ...good.slice(50)]);
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    const app = await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });

    const [data] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows, min(kafka_offset)::INTEGER AS first, max(kafka_offset)::INTEGER AS last FROM {files}');
    expect(data).toEqual({ rows: 100, first: 0, last: 100 });
    const dead = await queryLake(outputDir, 'SELECT kafka_offset::INTEGER AS kafka_offset, kafka_key, raw_value, error_stage, error_reason, error_message FROM {files}', 'dead-letter');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ kafka_offset: 50, kafka_key: 'bad', error_stage: 'decode', error_reason: 'malformed' });
    expect(Buffer.from(dead[0].raw_value as Uint8Array)).toEqual(garbage);
    expect(String(dead[0].error_message)).toMatch(/MessagePack/);
    expect(parquetFiles(outputDir, 'dead-letter')[0]).toContain(`${path.sep}_dead_letter${path.sep}${topic}${path.sep}`);
    expect(await counterValue(app, 'collector_decode_failures_total', { topic, reason: 'malformed' })).toBe(1);
    expect(await counterValue(app, 'collector_dead_letter_records_total', { topic })).toBe(1);
    expect(await committedOffsets(groupId, topic)).toEqual(new Map([[0, 101]]));
  });

  it('keeps a tombstone as a row with null payload columns', async () => {
    const topic = uniqueName('tombstone');
    await createTopic(topic, 1);
    await produce(topic, [...messagesFor(0, 0, 2).map((m) => ({ ...m, partition: 0 })), { partition: 0, key: 'gone', value: null, timestamp: DAY_ONE }]);
    const outputDir = tempOutputDir();
    await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group') });
    const rows = await queryLake(outputDir, 'SELECT kafka_offset::INTEGER AS o, kafka_key, symbol FROM {files} ORDER BY kafka_offset');
    expect(rows.map((r) => [r.o, r.kafka_key, r.symbol])).toEqual([
      [0, 'AAPL', 'AAPL'],
      [1, 'MSFT', 'MSFT'],
      [2, 'gone', null],
    ]);
  });

  it('continues from the committed offsets after a restart: only new messages land in new files', async () => {
    const topic = uniqueName('resume');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messagesFor(0, 0, 600));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });
    const firstFiles = parquetFiles(outputDir);
    expect(firstFiles.length).toBeGreaterThan(0);

    await produce(topic, messagesFor(0, 600, 300));
    await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId });
    const newFiles = parquetFiles(outputDir).filter((file) => !firstFiles.includes(file));
    const [fresh] = await queryFiles(newFiles, 'SELECT count(*)::INTEGER AS rows, min(seq)::INTEGER AS first_seq FROM {files}');
    expect(fresh).toEqual({ rows: 300, first_seq: 600 });
    const [all] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS distinct_rows FROM {files}');
    expect(all).toEqual({ rows: 900, distinct_rows: 900 });
    expect(await sum(committedOffsets(groupId, topic))).toBe(900);
  });

  it('seals buffers early when their rows pass half of MEMORY_BUDGET_BYTES, and still writes every row once', async () => {
    const topic = uniqueName('budget');
    await createTopic(topic, PARTITIONS);
    await produce(topic, messagesFor(0, 0, 3000));
    const filesPerRun = async (budget: string): Promise<Array<Record<string, unknown>>> => {
      const outputDir = tempOutputDir();
      await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), BATCH_SIZE: '100000', MEMORY_BUDGET_BYTES: budget });
      const [all] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS distinct_rows FROM {files}');
      expect(all).toEqual({ rows: 3000, distinct_rows: 3000 });
      return queryLake(outputDir, 'SELECT filename, count(*)::INTEGER AS rows FROM {files} GROUP BY filename');
    };
    // The default budget holds both days whole: one file per day.
    expect(await filesPerRun(String(256 * 1024 * 1024))).toHaveLength(2);
    // 200 KB: buffered rows may hold 100 KB (a few hundred rows of this shape) before the largest is sealed.
    const small = await filesPerRun('200000');
    expect(small.length).toBeGreaterThan(4);
    expect(Math.max(...small.map((file) => Number(file.rows)))).toBeLessThan(1000);
  });
});
