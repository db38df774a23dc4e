import type { KafkaConsumer } from '@confluentinc/kafka-javascript';
import { CollectorError } from '../errors';
import { partitionKey, watermarksOf, type PartitionRef, type Watermarks } from './consumer-port';

/** The timestamps a ListOffsets request reads as "the log end" and "the log start". */
const LOG_END = -1;
const LOG_START = -2;

/**
 * The one watermark query (one-shot goals, lag, `verify`): low and high watermarks of many
 * partitions, keyed by partitionKey, in one ListOffsets request per leader for each end. Not
 * librdkafka's queryWatermarkOffsets, one partition per request: on a member that is fetching, each
 * such request waits behind the fetch under way on that broker connection (up to
 * fetch.wait.max.ms), and 300 partitions took 46 s.
 */
export async function queryWatermarksOf(consumer: KafkaConsumer, partitions: readonly PartitionRef[], timeoutMs: number): Promise<Map<string, Watermarks>> {
  const result = new Map<string, Watermarks>();
  if (partitions.length === 0) return result;
  const [lows, highs] = await Promise.all([offsetsAt(consumer, partitions, LOG_START, timeoutMs), offsetsAt(consumer, partitions, LOG_END, timeoutMs)]);
  for (const [key, low] of lows) {
    const high = highs.get(key);
    if (high !== undefined) result.set(key, { low, high });
  }
  // What the broker left out fails here, not later in the caller.
  for (const { topic, partition } of partitions) watermarksOf(result, topic, partition);
  return result;
}

/** The first offset at or after `timestampMs` of each partition, null where there is none yet (ListOffsets answers -1). */
export async function offsetsForTimeOf(consumer: KafkaConsumer, partitions: readonly PartitionRef[], timestampMs: number, timeoutMs: number): Promise<Map<string, number | null>> {
  if (partitions.length === 0) return new Map();
  const offsets = await offsetsAt(consumer, partitions, timestampMs, timeoutMs);
  return new Map(partitions.map(({ topic, partition }) => {
    const offset = offsets.get(partitionKey(topic, partition));
    return [partitionKey(topic, partition), offset === undefined || offset < 0 ? null : offset];
  }));
}

/** librdkafka's offsetsForTimes with one timestamp (or one of ListOffsets' special ones) for every partition. */
function offsetsAt(consumer: KafkaConsumer, partitions: readonly PartitionRef[], timestamp: number, timeoutMs: number): Promise<Map<string, number>> {
  const request = partitions.map(({ topic, partition }) => ({ topic, partition, offset: timestamp }));
  return new Promise((resolve, reject) => {
    consumer.offsetsForTimes(request, timeoutMs, (error, offsets) => {
      if (error) {
        reject(new CollectorError('KAFKA_CONSUME_FAILED', `watermark query failed: ${error.message}`, { cause: error, context: { partitions: partitions.length } }));
        return;
      }
      // The client puts an Error in place of a partition the broker answered with an error.
      const answer: readonly unknown[] = offsets;
      const failed = answer.find((entry): entry is Error => entry instanceof Error);
      if (failed !== undefined) {
        reject(new CollectorError('KAFKA_CONSUME_FAILED', `watermark query failed: ${failed.message}`, { cause: failed, context: { partitions: partitions.length } }));
        return;
      }
      resolve(new Map(offsets.filter((entry) => typeof entry.offset === 'number').map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset])));
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
