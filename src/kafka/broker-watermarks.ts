import { KafkaConsumer } from '@confluentinc/kafka-javascript';
import type { KafkaProperties } from '../config/kafka-properties';
import { CollectorError } from '../errors';
import { watermarksOf, type Watermarks } from './consumer-port';
import { queryWatermarksOf, topicPartitions } from './watermarks';

/** Low and high watermarks of every partition of the given topics, asked of the broker by a short-lived client. */
export async function fetchWatermarks(properties: KafkaProperties, topics: readonly string[], timeoutMs: number): Promise<Map<string, Map<number, Watermarks>>> {
  // A group id is required by the client; nothing is consumed or committed with it.
  const consumer = new KafkaConsumer({ ...properties, 'group.id': 'redpanda-parquet-collector-verify', 'enable.auto.commit': false });
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: timeoutMs }, (error) => (error ? reject(new CollectorError('KAFKA_CONNECT_FAILED', `cannot connect to Kafka: ${error.message}`, { cause: error })) : resolve())),
  );
  try {
    const result = new Map<string, Map<number, Watermarks>>();
    for (const topic of topics) {
      const partitions = await topicPartitions(consumer, topic, timeoutMs);
      const marks = await queryWatermarksOf(consumer, partitions.map((partition) => ({ topic, partition })), timeoutMs);
      result.set(topic, new Map(partitions.map((partition) => [partition, watermarksOf(marks, topic, partition)])));
    }
    return result;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
