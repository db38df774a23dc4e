/**
 * Small Kafka helpers for tests, on the KafkaJS-compatible API of @confluentinc/kafka-javascript.
 *
 * The plain functions talk to the run's broker (KAFKA_BOOTSTRAP_SERVERS); a test that starts its
 * own broker (startBroker, e.g. to pause it) uses the same operations through `new TestKafka(...)`.
 * Every operation opens its own client and closes it before returning: a test never has to
 * remember to clean up, and no librdkafka thread keeps Jest from exiting.
 */
import { randomBytes } from 'node:crypto';
import {
  CODES,
  KafkaConsumer,
  KafkaJS,
  TopicPartitionOffsetAndMetadata,
} from '@confluentinc/kafka-javascript';

const MIB = 1024 * 1024;
const ADMIN_TIMEOUT_MS = 30_000;
/** Per send() call; bounded so a huge test data set does not sit in librdkafka's queue at once. */
const BATCH_MAX_MESSAGES = 5_000;
const BATCH_MAX_BYTES = 8 * MIB;

export type ScramMechanism = 'scram-sha-256' | 'scram-sha-512';

/** Where and how to connect; the plaintext listener of the test broker unless a test says otherwise. */
export interface Connection {
  brokers: string[];
  sasl?: { mechanism: ScramMechanism; username: string; password: string };
}

export interface TestMessage {
  /** Omitted: librdkafka's partitioner picks one (by key when there is a key). */
  partition?: number;
  key?: Buffer | string | null;
  value: Buffer | null;
  /** Record timestamp, ms since the epoch. */
  timestamp?: number;
  headers?: Record<string, Buffer | string>;
}

/** The PLAINTEXT bootstrap list that the Jest global setup (or the caller's env) provides. */
export function bootstrapServers(): string {
  return requiredEnv('KAFKA_BOOTSTRAP_SERVERS');
}

/** The SASL_PLAINTEXT listener, or undefined for an external broker that has none configured. */
export function saslBootstrapServers(): string | undefined {
  return process.env.KAFKA_SASL_BOOTSTRAP_SERVERS || undefined;
}

export function saslConnection(mechanism: ScramMechanism, password?: string): Connection {
  const servers = saslBootstrapServers();
  if (servers === undefined) throw new Error('KAFKA_SASL_BOOTSTRAP_SERVERS is not set');
  return {
    brokers: splitList(servers),
    sasl: {
      mechanism,
      username: requiredEnv('KAFKA_SASL_USERNAME'),
      password: password ?? requiredEnv('KAFKA_SASL_PASSWORD'),
    },
  };
}

/** Topic and group names that cannot collide between tests or between runs on a shared broker. */
export function uniqueName(prefix: string): string {
  const safePrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safePrefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The operations below, against one broker. */
export class TestKafka {
  private readonly plaintext: Connection;

  constructor(readonly bootstrapServers: string) {
    this.plaintext = { brokers: splitList(bootstrapServers) };
  }

  /** Creates the topic and returns once every partition has a leader, so producing can start at once. */
  async createTopic(name: string, partitions = 3, config: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.createTopics([name], partitions, config);
  }

  /** createTopic for many topics in one request (hundreds of topics, one admin client). */
  async createTopics(names: readonly string[], partitions = 3, config: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.withAdmin(async (admin) => {
      const created = await admin.createTopics({
        timeout: ADMIN_TIMEOUT_MS,
        topics: names.map((name) => ({
          topic: name,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: Object.entries(config).map(([key, value]) => ({ name: key, value })),
        })),
      });
      // A leftover topic would carry old records into the test: refuse rather than reuse it.
      if (!created) throw new Error(`one of the topics ${names.join(', ')} already exists`);
      await waitUntil(() => hasAllLeaders(admin, names, partitions), {
        timeoutMs: ADMIN_TIMEOUT_MS,
        what: `leaders for the ${partitions} partitions of ${names.join(', ')}`,
      });
    });
  }

  async deleteTopic(name: string): Promise<void> {
    await this.withAdmin((admin) => admin.deleteTopics({ topics: [name], timeout: ADMIN_TIMEOUT_MS }));
  }

  /** Through `connection` when given, e.g. saslConnection(), else the plaintext listener. */
  async listTopics(connection: Connection = this.plaintext, timeoutMs = ADMIN_TIMEOUT_MS): Promise<string[]> {
    return this.withAdmin((admin) => admin.listTopics({ timeout: timeoutMs }), connection);
  }

  /** Produces in batches and resolves once the broker has acknowledged every message (acks=all). */
  async produce(topic: string, messages: readonly TestMessage[]): Promise<void> {
    await this.produceToTopics(new Map([[topic, messages]]));
  }

  /** produce to many topics through one producer, the topics at once. */
  async produceToTopics(messagesByTopic: ReadonlyMap<string, readonly TestMessage[]>): Promise<void> {
    const producer = kafkaClient(this.plaintext).producer({
      // librdkafka's 1 MB default would reject the 10 MB test records before they leave the client.
      'message.max.bytes': 16 * MIB,
      // A missing topic or a paused broker fails the test within a minute, not librdkafka's five.
      'message.timeout.ms': 60_000,
      'linger.ms': 5,
      acks: -1,
    });
    await producer.connect();
    try {
      await Promise.all(
        [...messagesByTopic].map(async ([topic, messages]) => {
          for (const batch of batches(messages)) await producer.send({ topic, messages: batch.map(toKafkaMessage) });
        }),
      );
    } finally {
      await producer.disconnect();
    }
  }

  /**
   * Committed offsets of a group; partitions the group never committed are absent.
   *
   * Not admin.fetchOffsets(): in librdkafka 2.15 it dereferences a null consumer-group handle when
   * the coordinator answers NOT_COORDINATOR, which a fresh broker does for the first group it sees,
   * and the whole test process dies of SIGSEGV (librdkafka#5040, confluent-kafka-javascript#374).
   * A consumer handle has the group state that path needs. Not the KafkaJS consumer's committed()
   * either: it turns offset 0 into null. Creating the consumer does not join or create the group.
   */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    return (await this.committedOffsetsOfTopics(groupId, [topic])).get(topic) ?? new Map();
  }

  /** committedOffsets of many topics in one request, by topic. */
  async committedOffsetsOfTopics(groupId: string, topics: readonly string[]): Promise<Map<string, Map<number, number>>> {
    const partitions = await this.partitionsOf(topics);
    return this.withGroupConsumer(groupId, async (consumer) => {
      const query = (): Promise<TopicPartitionOffsetAndMetadata[]> =>
        new Promise((resolve, reject) =>
          consumer.committed(partitions, ADMIN_TIMEOUT_MS, (error, result) => (error ? reject(error) : resolve(result))),
        );
      const committed = await retryWhileCoordinatorLoads(query);
      return new Map(topics.map((topic) => [topic, toOffsetMap(committed.filter((entry) => entry.topic === topic), `${groupId}/${topic}`)]));
    });
  }

  /**
   * Commits offsets for a group with no live members, e.g. to set up a restart from a known position.
   * The broker refuses this while the group has members: stop the consumers first.
   */
  async commitOffsets(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    const entries = [...offsets].map(([partition, offset]) => ({ topic, partition, offset }));
    await this.withGroupConsumer(groupId, (consumer) =>
      // commitSync blocks the event loop for one round trip; acceptable in a test helper.
      retryWhileCoordinatorLoads(async () => void consumer.commitSync(entries)),
    );
  }

  /** High watermark of each partition: the offset the next produced record will get. */
  async endOffsets(topic: string): Promise<Map<number, number>> {
    return (await this.endOffsetsOfTopics([topic])).get(topic) ?? new Map();
  }

  /** endOffsets of many topics through one client, by topic. */
  async endOffsetsOfTopics(topics: readonly string[]): Promise<Map<string, Map<number, number>>> {
    return this.watermarksOfTopics(topics, 'high');
  }

  /** Low watermark of each partition: the first offset the broker still holds (retention, a trim). */
  async startOffsets(topic: string): Promise<Map<number, number>> {
    return (await this.watermarksOfTopics([topic], 'low')).get(topic) ?? new Map();
  }

  private async watermarksOfTopics(topics: readonly string[], end: 'low' | 'high'): Promise<Map<string, Map<number, number>>> {
    return this.withAdmin(async (admin) => {
      const result = new Map<string, Map<number, number>>();
      for (const topic of topics) result.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p[end])])));
      return result;
    });
  }

  /** Every partition of the topics, in order; a missing topic fails. */
  private async partitionsOf(topics: readonly string[]): Promise<Array<{ topic: string; partition: number }>> {
    const metadata = await this.withAdmin((admin) => admin.fetchTopicMetadata({ topics: [...topics], timeout: ADMIN_TIMEOUT_MS }));
    return topics.flatMap((topic) => {
      const found = metadata.find((entry) => entry.name === topic);
      if (found === undefined) throw new Error(`no metadata for topic ${topic}`);
      return found.partitions.map((p) => p.partitionId).sort((a, b) => a - b).map((partition) => ({ topic, partition }));
    });
  }

  private async withAdmin<T>(
    action: (admin: KafkaJS.Admin) => Promise<T>,
    connection: Connection = this.plaintext,
  ): Promise<T> {
    const admin = kafkaClient(connection).admin();
    await admin.connect();
    try {
      return await action(admin);
    } finally {
      await admin.disconnect();
    }
  }

  /** A consumer that never subscribes: it reads and writes the group's offsets without joining it. */
  private async withGroupConsumer<T>(groupId: string, action: (consumer: KafkaConsumer) => Promise<T>): Promise<T> {
    const consumer = new KafkaConsumer({
      'group.id': groupId,
      'metadata.broker.list': this.bootstrapServers,
      'enable.auto.commit': false,
      'broker.address.family': 'v4',
      log_level: 3,
    });
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: ADMIN_TIMEOUT_MS }, (error) => (error ? reject(error) : resolve())),
    );
    try {
      return await action(consumer);
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  }
}

/** The run's broker: the one the Jest global setup started, or KAFKA_BOOTSTRAP_SERVERS. */
export function testKafka(): TestKafka {
  return new TestKafka(bootstrapServers());
}

export const createTopic = (...args: Parameters<TestKafka['createTopic']>): Promise<void> => testKafka().createTopic(...args);
export const deleteTopic = (...args: Parameters<TestKafka['deleteTopic']>): Promise<void> => testKafka().deleteTopic(...args);
export const listTopics = (...args: Parameters<TestKafka['listTopics']>): Promise<string[]> => testKafka().listTopics(...args);
export const createTopics = (...args: Parameters<TestKafka['createTopics']>): Promise<void> => testKafka().createTopics(...args);
export const produce = (...args: Parameters<TestKafka['produce']>): Promise<void> => testKafka().produce(...args);
export const produceToTopics = (...args: Parameters<TestKafka['produceToTopics']>): Promise<void> => testKafka().produceToTopics(...args);
export const commitOffsets = (...args: Parameters<TestKafka['commitOffsets']>): Promise<void> =>
  testKafka().commitOffsets(...args);
export const committedOffsets = (...args: Parameters<TestKafka['committedOffsets']>): Promise<Map<number, number>> =>
  testKafka().committedOffsets(...args);
export const startOffsets = (...args: Parameters<TestKafka['startOffsets']>): Promise<Map<number, number>> => testKafka().startOffsets(...args);
export const endOffsets = (...args: Parameters<TestKafka['endOffsets']>): Promise<Map<number, number>> =>
  testKafka().endOffsets(...args);

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/** Polls until the condition holds; errors thrown by the condition count as "not yet". */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = 30_000, intervalMs = 200, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function kafkaClient(connection: Connection): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    // The test broker advertises IPv4 only; resolving "localhost" to ::1 first would just stall.
    'broker.address.family': 'v4',
    kafkaJS: {
      brokers: connection.brokers,
      // The library tests for the key, not the value: an undefined `sasl` would still enable SASL.
      ...(connection.sasl ? { sasl: connection.sasl } : {}),
      // Connection-refused and similar chatter would bury the test output; errors still show.
      logLevel: KafkaJS.logLevel.ERROR,
    },
  });
}

async function hasAllLeaders(admin: KafkaJS.Admin, topics: readonly string[], partitions: number): Promise<boolean> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...topics], timeout: ADMIN_TIMEOUT_MS });
  return metadata.length === topics.length && metadata.every((topic) => topic.partitions.length === partitions && topic.partitions.every((p) => p.leader >= 0));
}

const COORDINATOR_NOT_READY = new Set([
  CODES.ERRORS.ERR_NOT_COORDINATOR,
  CODES.ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  CODES.ERRORS.ERR_COORDINATOR_NOT_AVAILABLE,
]);

/**
 * The first group a broker sees makes it create __consumer_offsets; until the group's partition is
 * loaded, the broker answers "not coordinator" and librdkafka hands that error back instead of
 * retrying. Any other error, or the same one past the deadline, is thrown.
 */
async function retryWhileCoordinatorLoads<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ADMIN_TIMEOUT_MS;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      const code = errorCode(error);
      if (code === undefined || !COORDINATOR_NOT_READY.has(code) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function errorCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') return error.code;
  return undefined;
}

/** librdkafka leaves `offset` out, despite its type, for a partition without a committed offset. */
function toOffsetMap(partitions: readonly TopicPartitionOffsetAndMetadata[], what: string): Map<number, number> {
  const offsets = new Map<number, number>();
  for (const entry of partitions) {
    if (entry.error) throw new Error(`committed offsets ${what}[${entry.partition}]: ${entry.error.message}`);
    const offset: unknown = entry.offset;
    if (typeof offset === 'number' && offset >= 0) offsets.set(entry.partition, offset);
  }
  return offsets;
}

function* batches(messages: readonly TestMessage[]): Generator<TestMessage[]> {
  let batch: TestMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = (message.value?.length ?? 0) + (message.key?.length ?? 0);
    if (batch.length > 0 && (batch.length >= BATCH_MAX_MESSAGES || bytes + size > BATCH_MAX_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(message);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

function toKafkaMessage(message: TestMessage): KafkaJS.Message {
  return {
    value: message.value,
    key: message.key ?? null,
    partition: message.partition,
    timestamp: message.timestamp === undefined ? undefined : String(message.timestamp),
    headers: message.headers,
  };
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through Jest (its global setup starts a broker) or export it`);
  return value;
}

function splitList(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}
