import type { Message } from '@confluentinc/kafka-javascript';
import { CollectorError } from '../errors';
import type { TrimBroker } from './trim-broker';

/**
 * What the pipeline needs of a consumer group member, and nothing of the client behind it:
 * KafkaSource implements it with librdkafka; unit tests of the orchestration implement it in memory.
 */

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** One string per (topic, partition), for sets and maps keyed by both. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** One consumed record as the client hands it over. */
export type SourceMessage = Pick<Message, 'topic' | 'partition' | 'offset' | 'timestamp' | 'key' | 'value' | 'size'>;

/** A committed (or to-be-committed) next offset of a partition, with the collector's metadata. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string | null;
}

/** First offset kept and next offset to be written, of one partition. */
export interface Watermarks {
  readonly low: number;
  readonly high: number;
}

/** One partition's entry of a watermark answer, which holds every partition asked for (ConsumerPort.watermarks). */
export function watermarksOf(answer: ReadonlyMap<string, Watermarks>, topic: string, partition: number): Watermarks {
  const found = answer.get(partitionKey(topic, partition));
  if (found === undefined) throw new CollectorError('KAFKA_CONSUME_FAILED', 'watermark query failed: the answer left a partition out', { context: { topic, partition } });
  return found;
}

/** The rebalance hand-off: the member assigns or unassigns only once these resolve. */
export interface RebalanceHandlers {
  /** Partitions were assigned; resolves before consumption of them starts. */
  onAssigned(partitions: readonly PartitionRef[]): Promise<void>;
  /** Partitions are being taken away; resolves once their records are published and committed. */
  onRevoking(partitions: readonly PartitionRef[]): Promise<void>;
  /**
   * The group took these partitions without a hand-off (this member's session expired): another
   * member may read them already, and this one can no longer commit. Resolves once what they held
   * is dropped; their next owner reads it again from the group's commit.
   */
  onLost(partitions: readonly PartitionRef[]): Promise<void>;
  /** A rebalance hand-off failed; the consumer will leave and rejoin. */
  onRebalanceError(error: unknown): void;
}

export interface ConsumerPort {
  /** The partitions this member owns now. */
  readonly assignment: readonly PartitionRef[];
  /** True while a rebalance hand-off is pending or running. */
  readonly rebalancing: boolean;
  /**
   * True once the client declared the assignment lost (the session expired) and before its lost
   * hand-off ran: no commit of this member can be stored any more.
   */
  readonly assignmentLost: boolean;
  /** Settles when no rebalance hand-off is in progress. */
  rebalanceSettled(): Promise<void>;
  /** Up to `max` messages, waiting at most the consume timeout. */
  consume(max: number): Promise<SourceMessage[]>;
  /**
   * Resolves once the broker stored these offsets; rejects with KAFKA_COMMIT_FAILED otherwise.
   * Stored is told by reading the commit back, so each request's metadata must be its own text.
   */
  commit(offsets: readonly CommittedOffset[], timeoutMs: number): Promise<void>;
  /** The group's committed offsets; partitions without a commit are left out. */
  committed(partitions: readonly PartitionRef[], timeoutMs: number): Promise<CommittedOffset[]>;
  /** Low and high watermarks of every partition asked for, keyed by partitionKey. */
  watermarks(partitions: readonly PartitionRef[], timeoutMs: number): Promise<ReadonlyMap<string, Watermarks>>;
  /**
   * Per partition (keyed by partitionKey), the offset of its first record whose timestamp is at or
   * after `timestampMs`, or null when it has none yet.
   */
  offsetsForTime(partitions: readonly PartitionRef[], timestampMs: number, timeoutMs: number): Promise<ReadonlyMap<string, number | null>>;
  /** Every partition of the topics the member subscribes to (by name or pattern), from the broker's metadata. */
  subscribedPartitions(timeoutMs: number): Promise<PartitionRef[]>;
  pause(partitions: readonly PartitionRef[]): void;
  resume(partitions: readonly PartitionRef[]): void;
}

/** A ConsumerPort with the lifecycle of its connection: what the app drives (KafkaSource, or a fake in tests). */
export interface ConsumerClient extends ConsumerPort {
  readonly isConnected: boolean;
  /** False from an "all brokers down" error until the brokers answer again. */
  readonly brokersReachable: boolean;
  /** Why the brokers cannot be used (a certificate, a password, no route), as librdkafka told; undefined when they can. */
  readonly connectionProblem: string | undefined;
  /** Deletes records on the broker (the topic trim), on this client's connection; absent on the tests' in-memory clients. */
  readonly trimBroker?: TrimBroker;
  /** Connects and subscribes; rebalances from then on go through `handlers`. */
  connect(handlers: RebalanceHandlers, timeoutMs: number): Promise<void>;
  /** Leaves the group (running the revoke hand-off) and closes the client. */
  disconnect(): Promise<void>;
}

/** The partitions of each topic. */
export function partitionsByTopic(partitions: readonly PartitionRef[]): Map<string, Set<number>> {
  const result = new Map<string, Set<number>>();
  for (const { topic, partition } of partitions) {
    const set = result.get(topic) ?? new Set<number>();
    set.add(partition);
    result.set(topic, set);
  }
  return result;
}

/** How often a wait checks whether the client declared the assignment lost. */
const LOST_CHECK_INTERVAL_MS = 250;

/**
 * Waits for `settled`; true instead if the client declares the assignment lost first (writes then
 * wait for commits that cannot land, and only a consume call runs the lost hand-off).
 */
export async function settledUnlessLost(port: Pick<ConsumerPort, 'assignmentLost'>, settled: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const lost = new Promise<true>((resolve) => {
    timer = setInterval(() => {
      if (port.assignmentLost) resolve(true);
    }, LOST_CHECK_INTERVAL_MS);
  });
  try {
    return await Promise.race([settled.then(() => false), lost]);
  } finally {
    clearInterval(timer);
  }
}
