import { KafkaConsumer } from '@confluentinc/kafka-javascript';
import type { KafkaProperties } from '../config/kafka-properties';
import { CollectorError } from '../errors';
import type { Watermarks } from './verify-report';

/** Low and high watermarks of every partition of the given topics, asked of the broker. */
export async function fetchWatermarks(properties: KafkaProperties, topics: readonly string[], timeoutMs: number): Promise<Map<string, Map<number, Watermarks>>> {
  // A group id is required by the client; nothing is consumed or committed with it.
  const consumer = new KafkaConsumer({ ...properties, 'group.id': 'redpanda-parquet-collector-verify', 'enable.auto.commit': false });
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: timeoutMs }, (error) => (error ? reject(new CollectorError('KAFKA_CONNECT_FAILED', `cannot connect to Kafka: ${error.message}`, { cause: error })) : resolve())),
  );
  try {
    const result = new Map<string, Map<number, Watermarks>>();
    for (const topic of topics) {
      const metadata = await new Promise<{ topics: Array<{ name: string; partitions: Array<{ id: number }> }> }>((resolve, reject) =>
        consumer.getMetadata({ topic, timeout: timeoutMs }, (error, data) => (error ? reject(error) : resolve(data))),
      );
      const partitions = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? [];
      const byPartition = new Map<number, Watermarks>();
      for (const { id } of partitions) {
        const offsets = await new Promise<{ lowOffset: number; highOffset: number }>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, id, timeoutMs, (error, data) => (error ? reject(error) : resolve(data))),
        );
        byPartition.set(id, { low: offsets.lowOffset, high: offsets.highOffset });
      }
      result.set(topic, byPartition);
    }
    return result;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}
