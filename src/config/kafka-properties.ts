import { memoryPlan } from './memory-plan';
import type { CollectorConfig } from './schema';

export type KafkaProperties = Record<string, string | number | boolean>;

/**
 * librdkafka regular expression for "every topic that is not internal": the seed skipped names
 * starting with `__` (`__consumer_offsets`, Redpanda's `__redpanda*`). librdkafka subscribes by
 * regex when a name starts with `^`.
 */
export const ALL_USER_TOPICS_PATTERN = '^([^_]|_[^_]).*';

/** What the consumer subscribes to: the topic list, the pattern, or every non-internal topic. */
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

/**
 * Consumer properties. Offsets are committed by hand and only for published files, so both
 * auto-commit and the automatic offset store are off. A new group starts at the earliest offset:
 * a backup wants everything the broker still has. The prefetch queue is the memory budget's share
 * (see memory-plan.ts), unlike the seed's 1 GiB queue; KAFKA_PROPERTIES still overrides it.
 * Cooperative-sticky assignment: a member joining or leaving (MAX_WORKERS processes, replicas)
 * moves only the partitions that change owner, instead of revoking and publishing every one.
 * A member hears of a rebalance at its next heartbeat, and a cooperative rebalance takes two
 * rounds: with librdkafka's 3 s heartbeat a joining member waited seconds for its partitions
 * while the others' revocations were long done (docs/performance.md).
 */
export function consumerProperties(config: CollectorConfig): KafkaProperties {
  return {
    ...connectionProperties(config),
    'group.id': config.kafka.groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'auto.offset.reset': 'earliest',
    'partition.assignment.strategy': 'cooperative-sticky',
    'heartbeat.interval.ms': 1000,
    'enable.partition.eof': false,
    'fetch.wait.max.ms': 100,
    'fetch.min.bytes': 1,
    'max.partition.fetch.bytes': 4 * 1024 * 1024,
    'queued.min.messages': 100_000,
    'queued.max.messages.kbytes': Math.floor(memoryPlan(config.flush.memoryBudgetBytes).prefetchQueueBytes / 1024),
    // Metadata refresh also discovers new topics that match a pattern subscription.
    'topic.metadata.refresh.interval.ms': 30_000,
    'statistics.interval.ms': 0,
    ...Object.fromEntries(config.kafka.properties),
  };
}
