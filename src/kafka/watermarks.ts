import type { KafkaConsumer } from '@confluentinc/kafka-javascript';
import { CollectorError } from '../errors';
import type { Watermarks } from './consumer-port';

/** The one watermark query: the pipeline (one-shot goals, lag) and `verify` both ask through it. */
export function queryWatermarks(consumer: KafkaConsumer, topic: string, partition: number, timeoutMs: number): Promise<Watermarks> {
  return new Promise((resolve, reject) => {
    consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (error, offsets) => {
      if (error) reject(new CollectorError('KAFKA_CONSUME_FAILED', `watermark query failed: ${error.message}`, { cause: error, context: { topic, partition } }));
      else resolve({ low: offsets.lowOffset, high: offsets.highOffset });
    });
  });
}

/** Every partition of the topics that `matches`, from the broker's metadata (all topics). */
export function matchingPartitions(consumer: KafkaConsumer, matches: (topic: string) => boolean, timeoutMs: number): Promise<Array<{ topic: string; partition: number }>> {
  return new Promise((resolve, reject) => {
    consumer.getMetadata({ timeout: timeoutMs }, (error, metadata) => {
      if (error) reject(new CollectorError('KAFKA_CONSUME_FAILED', `metadata query failed: ${error.message}`, { cause: error }));
      else resolve(metadata.topics.filter((entry) => matches(entry.name)).flatMap((entry) => entry.partitions.map(({ id }) => ({ topic: entry.name, partition: id }))));
    });
  });
}

/** The partition ids of a topic, from the broker's metadata. */
export function topicPartitions(consumer: KafkaConsumer, topic: string, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    consumer.getMetadata({ topic, timeout: timeoutMs }, (error, metadata) => {
      if (error) reject(new CollectorError('KAFKA_CONSUME_FAILED', `metadata query failed: ${error.message}`, { cause: error, context: { topic } }));
      else resolve((metadata.topics.find((entry) => entry.name === topic)?.partitions ?? []).map(({ id }) => id));
    });
  });
}
