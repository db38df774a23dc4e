import { memoryPlan } from './memory-plan';
import type { CollectorConfig } from './schema';
import type { ConfigWarning } from './seed-variables';

export type KafkaProperties = Record<string, string | number | boolean>;

/**
 * librdkafka regular expression for "every topic that is not internal": names starting with `_`
 * are skipped. The seed skipped only `__` (`__consumer_offsets`, Redpanda's `__redpanda*`), which
 * also took Schema Registry's `_schemas` and Redpanda's other `_`-prefixed internal topics. TOPICS
 * or TOPIC_PATTERN name such a topic when it is wanted. librdkafka subscribes by regex when a name
 * starts with `^`.
 */
export const ALL_USER_TOPICS_PATTERN = '^[^_].*';

/** What the consumer subscribes to: the topic list, the pattern, or every topic not starting with `_`. */
export function subscription(config: CollectorConfig): string[] {
  if (config.kafka.topics.length > 0) return [...config.kafka.topics];
  const pattern = config.kafka.topicPattern;
  if (pattern === '') return [ALL_USER_TOPICS_PATTERN];
  return [pattern.startsWith('^') ? pattern : `^${pattern}`];
}

/** Connection and security properties shared by the consumer and the admin/metadata clients. */
export function connectionProperties(config: CollectorConfig): KafkaProperties {
  const kafka = config.kafka;
  const properties: KafkaProperties = {
    'bootstrap.servers': kafka.bootstrapServers,
    'client.id': 'redpanda-parquet-collector',
    'security.protocol': kafka.securityProtocol,
  };
  if (kafka.securityProtocol.startsWith('sasl')) {
    properties['sasl.mechanisms'] = kafka.saslMechanism;
    properties['sasl.username'] = kafka.saslUsername;
    properties['sasl.password'] = kafka.saslPassword;
  }
  if (kafka.sslCaLocation !== '') properties['ssl.ca.location'] = kafka.sslCaLocation;
  if (kafka.sslCertificateLocation !== '') properties['ssl.certificate.location'] = kafka.sslCertificateLocation;
  if (kafka.sslKeyLocation !== '') properties['ssl.key.location'] = kafka.sslKeyLocation;
  return properties;
}

const MIN_MESSAGE_MAX_BYTES = 1000;
/** How soon librdkafka looks again at a queue that was full; its default of 1 s starves a short queue. */
const FETCH_QUEUE_BACKOFF_MS = 10;

/**
 * Consumer properties. Offsets are committed by hand and only for published files, so both
 * auto-commit and the automatic offset store are off. A new group starts at the earliest offset:
 * a backup wants everything the broker still has. The prefetch settings keep librdkafka's queue
 * within the memory budget's share (see memory-plan.ts), unlike the seed's 1 GiB queue;
 * KAFKA_PROPERTIES still overrides them. A member hears of a rebalance at its next heartbeat, and a
 * cooperative rebalance takes two rounds: with librdkafka's 3 s heartbeat a joining member waited
 * seconds for its partitions while the others' revocations were long done (docs/performance.md).
 */
export function consumerProperties(config: CollectorConfig): KafkaProperties {
  const plan = memoryPlan(config.flush.memoryBudgetBytes);
  const overrides = Object.fromEntries(config.kafka.properties);
  return consistentFetchLimits({
    ...connectionProperties(config),
    'group.id': config.kafka.groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'auto.offset.reset': 'earliest',
    'partition.assignment.strategy': assignmentStrategy(overrides),
    'heartbeat.interval.ms': 1000,
    'enable.partition.eof': false,
    'fetch.wait.max.ms': 100,
    'fetch.min.bytes': 1,
    'max.partition.fetch.bytes': plan.fetchBytes,
    'fetch.max.bytes': plan.fetchBytes,
    // librdkafka refuses a fetch.max.bytes below message.max.bytes (1,000,000 by default); for a
    // consumer the latter only caps the first guess of an lz4 batch's decompressed size.
    'message.max.bytes': plan.fetchBytes,
    'queued.min.messages': plan.queuedMessages,
    'queued.max.messages.kbytes': plan.queuedKbytes,
    'fetch.queue.backoff.ms': FETCH_QUEUE_BACKOFF_MS,
    // Metadata refresh also discovers new topics that match a pattern subscription.
    'topic.metadata.refresh.interval.ms': 30_000,
    'statistics.interval.ms': 0,
    ...overrides,
  }, overrides);
}

/** librdkafka's defaults. */
const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 3000;

/**
 * How long a commit the broker stored fences the group: the group cannot give this member's
 * partitions to another before the member's session ends, at least a session timeout after its
 * last heartbeat, which was at most a heartbeat interval before the commit was sent. Half of that
 * leaves room for a slow round trip. A file published later than this after its fence commit was
 * sent may reach the store after the partitions' next owner looked for files (see Committer).
 */
export function fenceHoldsMs(properties: Readonly<KafkaProperties>): number {
  const session = Number(properties['session.timeout.ms'] ?? DEFAULT_SESSION_TIMEOUT_MS);
  const heartbeat = Number(properties['heartbeat.interval.ms'] ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
  return Math.max(0, Math.floor((session - heartbeat) / 2));
}

/**
 * Cooperative-sticky assignment: a member joining or leaving (MAX_WORKERS processes, replicas)
 * moves only the partitions that change owner, instead of revoking and publishing every one. But
 * its rebalances take two rounds, and under static membership (`group.instance.id`) a group whose
 * members all restart between the rounds keeps the first round's partial assignment: the broker
 * hands a static member that rejoins its stored share without a rebalance, and the partitions in
 * transit belong to no member until the group's membership changes (docs/design.md). An eager
 * assignor hands out every partition in each round; static members restart without rebalances
 * anyway, so they lose little by it.
 */
function assignmentStrategy(overrides: Readonly<KafkaProperties>): string {
  return isStaticMember(overrides) ? 'roundrobin' : 'cooperative-sticky';
}

function isStaticMember(overrides: Readonly<KafkaProperties>): boolean {
  return 'group.instance.id' in overrides;
}

/** KAFKA_PROPERTIES that choose the combination assignmentStrategy avoids. */
export function kafkaPropertyWarnings(config: CollectorConfig): ConfigWarning[] {
  const overrides = Object.fromEntries(config.kafka.properties);
  const strategy = String(overrides['partition.assignment.strategy'] ?? '');
  if (!isStaticMember(overrides) || !strategy.includes('cooperative')) return [];
  return [
    {
      key: 'kafka.properties',
      env: 'KAFKA_PROPERTIES',
      message:
        'group.instance.id with a cooperative partition.assignment.strategy: if every member restarts between the two rounds of a rebalance, ' +
        'the partitions in transit stay unassigned (and unread) until the group\'s membership changes; leave partition.assignment.strategy unset ' +
        'to get an eager assignor with static membership',
    },
  ];
}

/**
 * The planned fetch.max.bytes and message.max.bytes give way to a KAFKA_PROPERTIES value of the
 * other one, so that an override alone never trips librdkafka's rule fetch.max.bytes >=
 * message.max.bytes.
 */
export function consistentFetchLimits(properties: KafkaProperties, overrides: Readonly<KafkaProperties>): KafkaProperties {
  const fetchMax = Number(properties['fetch.max.bytes']);
  const messageMax = Number(properties['message.max.bytes']);
  if (!(fetchMax < messageMax)) return properties;
  if (!('fetch.max.bytes' in overrides)) return { ...properties, 'fetch.max.bytes': messageMax };
  if (!('message.max.bytes' in overrides)) return { ...properties, 'message.max.bytes': Math.max(MIN_MESSAGE_MAX_BYTES, fetchMax) };
  return properties;
}
