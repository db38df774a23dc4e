/**
 * Demo step: creates the topic and produces market data of the seed's example shape, spread over
 * yesterday and today (UTC) so the output has two day folders, three quarters MessagePack and one
 * quarter JSON, plus a few payloads that are neither, which the collector must dead-letter.
 *
 *   node .cache/demo/scripts/demo/produce-sample.js --bootstrap 127.0.0.1:9092 \
 *     [--topic market_data] [--partitions 3] [--messages 20000] [--summary FILE]
 *
 * --summary writes what was produced as JSON, for show-output to check the files against.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TestKafka, type TestMessage } from '../../test/harness/kafka';
import { encodeEvent, marketEvent } from '../../test/harness/market-data';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Values that are neither MessagePack maps nor JSON objects: they go to _dead_letter files. */
const POISON: readonly { label: string; value: Buffer }[] = [
  { label: 'truncated JSON', value: Buffer.from('{"event_type": "market_data", "data": {"symbol": "AAPL", "bid": 1') },
  { label: 'plain text', value: Buffer.from('not a market event') },
  { label: 'random bytes', value: Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]) },
];

export interface ProducedSummary {
  topic: string;
  partitions: number;
  /** Every message produced, poison included. */
  messages: number;
  deadLetters: number;
  /** Good messages per UTC day, YYYY-MM-DD. */
  perDay: Record<string, number>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bootstrap: { type: 'string' },
      topic: { type: 'string', default: 'market_data' },
      partitions: { type: 'string', default: '3' },
      messages: { type: 'string', default: '20000' },
      summary: { type: 'string' },
    },
    strict: true,
  });
  const bootstrap = values.bootstrap ?? process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (!bootstrap) throw new Error('--bootstrap (or KAFKA_BOOTSTRAP_SERVERS) is required');
  const topic = values.topic;
  const partitions = positiveInteger(values.partitions, '--partitions');
  const count = positiveInteger(values.messages, '--messages');
  const kafka = new TestKafka(bootstrap);

  if ((await kafka.listTopics()).includes(topic)) {
    process.stdout.write(`topic ${topic} exists already: appending to it\n`);
  } else {
    await kafka.createTopic(topic, partitions);
    process.stdout.write(`created topic ${topic} with ${partitions} partitions\n`);
  }

  // Good messages: the first half yesterday, the second today, evenly spaced up to now.
  const now = Date.now();
  const startOfToday = Math.floor(now / DAY_MS) * DAY_MS;
  const startOfYesterday = startOfToday - DAY_MS;
  const good = count - POISON.length;
  const half = Math.ceil(good / 2);
  const timestampOf = (i: number): number =>
    i < half
      ? startOfYesterday + Math.floor(((i + 0.5) * DAY_MS) / half)
      : startOfToday + Math.floor(((i - half + 0.5) * (now - startOfToday)) / (good - half));

  const messages: TestMessage[] = [];
  const perDay: Record<string, number> = {};
  for (let i = 0; i < good; i++) {
    const timestamp = timestampOf(i);
    const event = marketEvent(i, timestamp);
    // Keyed by symbol, as a market feed would be: one symbol's ticks stay in order on one partition.
    messages.push({ key: event.data.symbol, value: encodeEvent(event, i % 4 === 3 ? 'json' : 'msgpack'), timestamp });
    const day = new Date(timestamp).toISOString().slice(0, 10);
    perDay[day] = (perDay[day] ?? 0) + 1;
  }
  // Poison in the middle of the stream: the messages after it must still be written.
  POISON.forEach((poison, n) => {
    messages.splice(Math.floor(((n + 1) * messages.length) / (POISON.length + 1)), 0, {
      key: 'poison',
      value: poison.value,
      timestamp: startOfToday + n,
    });
  });

  const started = Date.now();
  await kafka.produce(topic, messages);
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `produced ${messages.length} messages to ${topic} in ${seconds.toFixed(1)} s ` +
      `(${good} market events: ${Object.entries(perDay)
        .map(([day, n]) => `${n} on ${day}`)
        .join(', ')}; 3/4 MessagePack, 1/4 JSON; ` +
      `${POISON.length} undecodable: ${POISON.map((p) => p.label).join(', ')})\n`,
  );

  const summary: ProducedSummary = { topic, partitions, messages: messages.length, deadLetters: POISON.length, perDay };
  if (values.summary) writeFileSync(values.summary, `${JSON.stringify(summary, null, 2)}\n`);
}

function positiveInteger(text: string, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}

main().then(
  // Explicit exit: a librdkafka handle must not keep the process alive.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`produce-sample: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
