/**
 * Fills a benchmark topic fast: the node-rdkafka-style Producer, `produce()` in a tight loop with
 * large linger and batches, no delivery reports (the high watermarks are checked afterwards
 * instead). Producing is not timed by the benchmark; it only has to be quick at 5,000,000 messages.
 */
import { Producer, type LibrdKafkaError } from '@confluentinc/kafka-javascript';
import { encodeEvent, marketEvent } from '../harness/market-data';

const ERR_QUEUE_FULL = -184;
/** At 1 ms per message all records fall on one UTC day: 13:30 plus 1 ms per message stays before midnight up to 37 M messages. */
export const BENCH_START_MS = Date.UTC(2025, 9, 17, 13, 30, 0);

export interface ProduceResult {
  readonly messages: number;
  readonly valueBytes: number;
  readonly keyBytes: number;
  readonly seconds: number;
}

/**
 * `count` messages, the n-th to topics[n % topics.length] and, within it, to its partitions in turn,
 * `msPerMessage` apart from BENCH_START_MS.
 */
export async function produceMarketData(
  bootstrapServers: string,
  topics: readonly string[],
  count: number,
  partitions: number,
  compression: string,
  onProgress?: (done: number) => void,
  msPerMessage = 1,
): Promise<ProduceResult> {
  const producer = new Producer({
    'bootstrap.servers': bootstrapServers,
    'broker.address.family': 'v4',
    'client.id': 'bench-producer',
    'compression.codec': compression as 'none',
    'linger.ms': 50,
    'batch.size': 1_000_000,
    'batch.num.messages': 100_000,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 512 * 1024,
    acks: 1,
    dr_cb: false,
    log_level: 3,
  });
  await new Promise<void>((resolve, reject) => {
    producer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
  });
  const started = Date.now();
  let valueBytes = 0;
  let keyBytes = 0;
  try {
    for (let n = 0; n < count; n++) {
      const timestamp = BENCH_START_MS + n * msPerMessage;
      const event = marketEvent(n, timestamp);
      const value = encodeEvent(event, 'msgpack');
      const key = Buffer.from(event.data.symbol, 'utf8');
      valueBytes += value.length;
      keyBytes += key.length;
      for (;;) {
        try {
          producer.produce(topics[n % topics.length], Math.floor(n / topics.length) % partitions, value, key, timestamp);
          break;
        } catch (error) {
          if ((error as LibrdKafkaError).code !== ERR_QUEUE_FULL) throw error;
          producer.poll();
          await sleep(5);
        }
      }
      if (n % 100_000 === 0) {
        producer.poll();
        onProgress?.(n);
        // Let timers (the progress line) run now and then.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await new Promise<void>((resolve, reject) => {
      producer.flush(120_000, (error) => (error ? reject(error) : resolve()));
    });
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
  return { messages: count, valueBytes, keyBytes, seconds: (Date.now() - started) / 1000 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
