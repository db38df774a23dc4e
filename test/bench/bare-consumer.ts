/**
 * The runtime's ceiling: the collector's client (@confluentinc/kafka-javascript KafkaConsumer) with
 * the collector's consumer properties (consumerProperties() of src/config), its consume batch size
 * and consume timeout, in a fresh group, that only counts messages and value bytes until it has
 * `expected` of them, then leaves the group and exits. Run by bench.ts as its own process, so its
 * CPU time and RSS are its own.
 *
 *   node .cache/bench/test/bench/bare-consumer.js <bootstrap> <topic> <group> <expected>
 *
 * Prints one JSON line: { messages, valueBytes, assignedEpochMs, firstMessageS, lastMessageS } (the
 * last two in seconds after subscribe).
 */
import path from 'node:path';
import { KafkaConsumer, type LibrdKafkaError, type Message, type TopicPartition } from '@confluentinc/kafka-javascript';
import { consumerProperties } from '../../src/config/kafka-properties';
import { loadConfig } from '../../src/config/load';
import { repoRoot } from '../harness/broker';

/** The collector's consume timeout (src/app.ts CONSUME_TIMEOUT_MS). */
const CONSUME_TIMEOUT_MS = 250;
const ERR_ASSIGN_PARTITIONS = -175;

async function main(): Promise<void> {
  const [bootstrapServers, topic, groupId, expectedText] = process.argv.slice(2);
  const expected = Number(expectedText);
  if (!bootstrapServers || !topic || !groupId || !Number.isSafeInteger(expected)) {
    throw new Error('usage: bare-consumer <bootstrap> <topic> <group> <expected>');
  }
  const { config } = loadConfig({
    env: { BOOTSTRAP_SERVERS: bootstrapServers, TOPICS: topic, GROUP_ID: groupId, ...passThroughEnv() },
    file: path.join(repoRoot(), 'test', 'harness', 'empty-config.json'),
  });
  let assignedEpochMs = -1;
  // As the collector does: a rebalance callback that assigns what the group hands out; it also
  // notes when the group assigned partitions, so the bench can tell group join from consuming.
  const consumer: KafkaConsumer = new KafkaConsumer({
    ...consumerProperties(config),
    rebalance_cb: (error: LibrdKafkaError, partitions: TopicPartition[]) => {
      if (error.code === ERR_ASSIGN_PARTITIONS) {
        if (assignedEpochMs < 0) assignedEpochMs = Date.now();
        consumer.assign(partitions);
      } else {
        consumer.unassign();
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
  });
  consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
  consumer.subscribe([topic]);
  const startedMs = performance.now();
  let messages = 0;
  let valueBytes = 0;
  let firstMs = -1;
  let lastMs = -1;
  await new Promise<void>((resolve, reject) => {
    const step = (): void => {
      consumer.consume(config.kafka.consumeBatchSize, (error: LibrdKafkaError, batch: Message[]) => {
        if (error) {
          reject(error);
          return;
        }
        if (batch.length > 0) {
          if (firstMs < 0) firstMs = performance.now();
          lastMs = performance.now();
        }
        for (const message of batch) {
          messages++;
          valueBytes += message.size;
        }
        if (messages >= expected) resolve();
        else step();
      });
    };
    step();
  });
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  process.stdout.write(
    `${JSON.stringify({ messages, valueBytes, assignedEpochMs, firstMessageS: (firstMs - startedMs) / 1000, lastMessageS: (lastMs - startedMs) / 1000 })}\n`,
  );
}

/** Settings a benchmark run may vary for both Node consumers alike. */
function passThroughEnv(): Record<string, string> {
  const names = ['KAFKA_PROPERTIES', 'CONSUME_BATCH_SIZE'];
  return Object.fromEntries(names.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name] as string]));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
