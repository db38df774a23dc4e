import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaConsumer, type LibrdKafkaError, type TopicPartition, type TopicPartitionOffsetAndMetadata } from '@confluentinc/kafka-javascript';
import { CollectorError, describeError, isRetryable } from '../errors';
import type { KafkaProperties } from '../config/kafka-properties';
import { partitionKey, type CommittedOffset, type ConsumerClient, type PartitionRef, type RebalanceHandlers, type SourceMessage, type Watermarks } from './consumer-port';
import { matchingPartitions, offsetsForTimeOf, queryWatermarksOf } from './watermarks';
import { describeCause, diagnoseError, diagnoseLog, mergeCause, sameCause, type ConnectionCause } from './connection-diagnosis';
import type { Logger } from '../observability/logger';
import { trimBrokerOf, type TrimBroker } from './trim-broker';

/**
 * The consumer group member behind ConsumerPort: subscribe, batch consume, rebalance hand-off,
 * commit. It owns the librdkafka client and nothing else; what to do with messages and partitions
 * is the pipeline's.
 */

const ERR_ASSIGN_PARTITIONS = -175;
const ERR_REVOKE_PARTITIONS = -174;
const ERR_ALL_BROKERS_DOWN = -187;
/** While the brokers are down, how often a metadata request checks whether they are back. */
const REACHABILITY_PROBE_MS = 2000;
/** Between reads of the committed offsets while waiting for a commit to be stored. */
const COMMIT_READ_BACK_INTERVAL_MS = 50;
/**
 * A commit not stored by then is sent again: the broker drops one made while the group rebalances
 * (cooperative rebalancing has two rounds), and the client's callback does not say so. Sending the
 * same offsets twice is harmless: commits are serial, so no newer one is in flight.
 */
const COMMIT_RESEND_AFTER_MS = 1000;

/** Cooperative rebalancing and assignmentLost exist in the client but are missing from its type declarations. */
interface IncrementalRebalancing {
  rebalanceProtocol(): string;
  assignmentLost(): boolean;
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
}

/** `commitCb` exists in the client but is missing from its type declarations. */
interface CommitWithCallback {
  commitCb(offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string }>, cb: (error: LibrdKafkaError | null) => void): void;
}

export interface SourceOptions {
  readonly properties: KafkaProperties;
  readonly subscription: readonly string[];
  /** How long one consume call waits for a batch to fill. */
  readonly consumeTimeoutMs: number;
  /** Where a connection problem's cause is logged, once per distinct cause. */
  readonly logger?: Logger;
}

export class KafkaSource implements ConsumerClient {
  private readonly consumer: KafkaConsumer;
  private readonly options: SourceOptions;
  private rebalance: Promise<void> = Promise.resolve();
  private handOffsPending = 0;
  private assigned: TopicPartition[] = [];
  /** Counts the assignments this member had: a commit made for one is never sent in another (see commit). */
  private assignmentEpoch = 0;
  private assignmentReceived = false;
  private brokersDown = false;
  private probeTimer: NodeJS.Timeout | null = null;
  private handlers: RebalanceHandlers | null = null;
  private cause: ConnectionCause | null = null;
  private connectSucceeded = false;
  private loggedCause: ConnectionCause | null = null;
  readonly trimBroker: TrimBroker;

  constructor(options: SourceOptions) {
    this.options = options;
    this.consumer = new KafkaConsumer({
      ...options.properties,
      rebalance_cb: (error: LibrdKafkaError, partitions: TopicPartition[]) => this.onRebalance(error, partitions),
    });
    this.trimBroker = trimBrokerOf(this.consumer);
    // librdkafka keeps the client "connected" through a broker outage and reconnects by itself;
    // "all brokers down" is the signal readiness needs, cleared once a metadata request succeeds.
    this.consumer.on('event.error', (error: LibrdKafkaError) => {
      if (isAllBrokersDown(error)) this.markBrokersDown();
      this.noteCause(diagnoseError(error));
    });
    // The reason (certificate, password) is only in librdkafka's log lines, not in its error codes.
    this.consumer.on('event.log', (log) => this.noteCause(diagnoseLog(log)));
  }

  /**
   * Why the brokers cannot be reached, while connecting or while they are down: for readiness.
   * The client says it is connected while connect() still waits, and delivers its error events
   * only when connect() gives up; its log lines arrive at once.
   */
  get connectionProblem(): string | undefined {
    if (this.cause === null || (this.connectSucceeded && this.brokersReachable)) return undefined;
    return describeCause(this.cause);
  }

  private noteCause(cause: ConnectionCause | null): void {
    this.cause = mergeCause(this.cause, cause);
    if (this.cause === null || sameCause(this.cause, this.loggedCause)) return;
    this.loggedCause = this.cause;
    const { kind, broker, text } = this.cause;
    this.options.logger?.warn({ event: 'kafka_connection_problem', cause: kind, broker, detail: text }, `cannot reach Kafka: ${describeCause(this.cause)}`);
  }

  /** Connected again: a later failure is news, and is logged even if it is the same one. */
  private clearCause(): void {
    this.cause = null;
    this.loggedCause = null;
  }

  /** False from an "all brokers down" error until the brokers answer again. */
  get brokersReachable(): boolean {
    return !this.brokersDown;
  }

  private markBrokersDown(): void {
    this.brokersDown = true;
    if (this.probeTimer !== null) return;
    this.probeTimer = setInterval(() => {
      if (!this.consumer.isConnected()) return;
      this.consumer.getMetadata({ timeout: REACHABILITY_PROBE_MS }, (error) => {
        if (error || this.probeTimer === null) return;
        this.brokersDown = false;
        this.clearCause();
        clearInterval(this.probeTimer);
        this.probeTimer = null;
      });
    }, REACHABILITY_PROBE_MS);
    this.probeTimer.unref();
  }

  /** The partitions this member owns now. */
  get assignment(): readonly PartitionRef[] {
    return this.assigned;
  }

  /** True once the group has given this member an assignment (possibly empty). */
  get hasAssignment(): boolean {
    return this.assignmentReceived;
  }

  get isConnected(): boolean {
    return this.consumer.isConnected();
  }

  /** Connects and subscribes; rebalances from then on go through `handlers`. */
  async connect(handlers: RebalanceHandlers, timeoutMs: number): Promise<void> {
    this.handlers = handlers;
    await new Promise<void>((resolve, reject) => {
      this.consumer.connect({ timeout: timeoutMs }, (error) => {
        if (error) {
          const cause = this.cause;
          const why = cause === null ? '' : ` (${describeCause(cause)})`;
          reject(new CollectorError('KAFKA_CONNECT_FAILED', `cannot connect to Kafka: ${error.message}${why}`, { cause: error, context: { code: error.code, connectionCause: cause?.kind, broker: cause?.broker } }));
          return;
        }
        this.clearCause();
        this.connectSucceeded = true;
        resolve();
      });
    });
    this.consumer.setDefaultConsumeTimeout(this.options.consumeTimeoutMs);
    this.consumer.subscribe([...this.options.subscription]);
  }

  /** Settles when no rebalance hand-off is in progress; the consume loop waits on it between batches. */
  rebalanceSettled(): Promise<void> {
    return this.rebalance;
  }

  /** True while a rebalance hand-off is pending or running. */
  get rebalancing(): boolean {
    return this.handOffsPending > 0;
  }

  /** librdkafka sets this when the session expires, before the lost hand-off reaches the application. */
  get assignmentLost(): boolean {
    return this.consumer.isConnected() && (this.consumer as unknown as IncrementalRebalancing).assignmentLost();
  }

  /** Up to `max` messages, waiting at most the consume timeout. */
  async consume(max: number): Promise<SourceMessage[]> {
    return new Promise<SourceMessage[]>((resolve, reject) => {
      this.consumer.consume(max, (error, messages) => {
        if (error) {
          reject(new CollectorError('KAFKA_CONSUME_FAILED', `consume failed: ${error.message}`, { cause: error, context: { code: error.code } }));
          return;
        }
        resolve(messages);
      });
    });
  }

  /**
   * Commits the given next-offsets (with metadata); resolves once the broker stored them.
   *
   * The client's commit is librdkafka's asynchronous one: its callback only says the commit was
   * queued. A collector killed right after could lose it, and a recovery-point commit must be
   * stored before the file it protects is published, so the stored offsets are read back until
   * they match, metadata included (or `timeoutMs` passes, which rejects). A refused commit of
   * exactly what the group has would read back as stored: callers make each request's metadata
   * unique (see encodeCommitMetadata).
   */
  async commit(offsets: readonly CommittedOffset[], timeoutMs: number): Promise<void> {
    if (offsets.length === 0) return;
    const deadline = Date.now() + timeoutMs;
    const epoch = this.assignmentEpoch;
    let readBackError: unknown = null;
    for (;;) {
      this.assertSameAssignment(epoch, offsets.length);
      await this.queueCommit(offsets);
      const readBack = await this.untilStored(offsets, Math.min(deadline, Date.now() + COMMIT_RESEND_AFTER_MS));
      if (readBack.stored) return;
      readBackError = readBack.error ?? readBackError;
      if (Date.now() >= deadline) {
        const lastReadBack = readBackError === null ? '' : `; the last read-back: ${describeError(readBackError)}`;
        throw new CollectorError('KAFKA_COMMIT_FAILED', `the broker had not stored the commit after ${timeoutMs} ms${lastReadBack}`, {
          cause: readBackError ?? undefined,
          context: { partitions: offsets.length },
        });
      }
    }
  }

  /**
   * A commit belongs to the assignment it was made in. Sent again after this member lost its
   * partitions and rejoined (a broker outage, a pause past the session), the group would take it
   * from the new generation and move the offsets back under the partitions' new owner.
   */
  private assertSameAssignment(epoch: number, partitions: number): void {
    if (epoch === this.assignmentEpoch && !this.assignmentLost) return;
    throw new CollectorError('KAFKA_COMMIT_FAILED', 'not committed: the assignment it was made for has ended (the next owner commits these partitions)', {
      context: { partitions, assignmentEnded: true },
    });
  }

  private queueCommit(offsets: readonly CommittedOffset[]): Promise<void> {
    const list = offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, ...(metadata === null ? {} : { metadata }) }));
    return new Promise<void>((resolve, reject) => {
      (this.consumer as unknown as CommitWithCallback).commitCb(list, (error) => {
        if (error) {
          reject(new CollectorError('KAFKA_COMMIT_FAILED', `commit failed: ${error.message}`, { cause: error, context: { code: error.code, partitions: list.length } }));
          return;
        }
        resolve();
      });
    });
  }

  /**
   * Reads the committed offsets back until they match, or `untilMs` passes (not stored, with the
   * last read-back error if any). A read-back that fails says nothing about the commit: after an
   * outage the coordinator may answer slowly for a while, so it is asked again until the deadline.
   */
  private async untilStored(offsets: readonly CommittedOffset[], untilMs: number): Promise<{ stored: boolean; error: unknown }> {
    let error: unknown = null;
    for (;;) {
      try {
        const stored = await this.committed(offsets, Math.max(1, untilMs - Date.now()));
        if (offsets.every((offset) => isStored(offset, stored))) return { stored: true, error: null };
      } catch (readBackError) {
        if (!isRetryable(readBackError)) throw readBackError;
        error = readBackError;
      }
      if (Date.now() >= untilMs) return { stored: false, error };
      await sleep(COMMIT_READ_BACK_INTERVAL_MS);
    }
  }

  subscribedPartitions(timeoutMs: number): Promise<PartitionRef[]> {
    // A subscription entry starting with ^ is a pattern (librdkafka's rule), any other a topic name.
    const names = new Set(this.options.subscription.filter((entry) => !entry.startsWith('^')));
    const patterns = this.options.subscription.filter((entry) => entry.startsWith('^')).map((entry) => new RegExp(entry));
    return matchingPartitions(this.consumer, (topic) => names.has(topic) || patterns.some((pattern) => pattern.test(topic)), timeoutMs);
  }

  watermarks(partitions: readonly PartitionRef[], timeoutMs: number): Promise<ReadonlyMap<string, Watermarks>> {
    return queryWatermarksOf(this.consumer, partitions, timeoutMs);
  }

  offsetsForTime(partitions: readonly PartitionRef[], timestampMs: number, timeoutMs: number): Promise<ReadonlyMap<string, number | null>> {
    return offsetsForTimeOf(this.consumer, partitions, timestampMs, timeoutMs);
  }

  /** The group's committed offsets (with their metadata) for these partitions; partitions without a commit are left out. */
  async committed(partitions: readonly PartitionRef[], timeoutMs: number): Promise<CommittedOffset[]> {
    const list = await new Promise<TopicPartitionOffsetAndMetadata[]>((resolve, reject) => {
      this.consumer.committed(
        partitions.map(({ topic, partition }) => ({ topic, partition })),
        timeoutMs,
        (error, offsets) => {
          if (error) reject(new CollectorError('KAFKA_CONSUME_FAILED', `committed-offsets query failed: ${error.message}`, { cause: error, context: { code: error.code } }));
          else resolve(offsets);
        },
      );
    });
    return list
      .filter(({ offset }) => offset >= 0)
      .map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata: metadata ?? null }));
  }

  pause(partitions: readonly PartitionRef[]): void {
    if (partitions.length > 0) this.consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partition })));
  }

  resume(partitions: readonly PartitionRef[]): void {
    if (partitions.length > 0) this.consumer.resume(partitions.map(({ topic, partition }) => ({ topic, partition })));
  }

  /** Leaves the group (running the revoke hand-off) and closes the client. */
  async disconnect(): Promise<void> {
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
    if (!this.consumer.isConnected()) return;
    await this.rebalance;
    await new Promise<void>((resolve) => {
      this.consumer.disconnect(() => resolve());
    });
  }

  private onRebalance(error: LibrdKafkaError, partitions: TopicPartition[]): void {
    const handlers = this.handlers;
    if (handlers === null) return;
    const previous = this.rebalance;
    this.handOffsPending++;
    // librdkafka waits for assign()/unassign(), so the hand-off may take the time it needs to
    // publish and commit; the consume loop waits on this promise meanwhile.
    // Cooperative (incremental) rebalancing hands over only the partitions that move: the others
    // keep their buffers and are not published early.
    const incremental = this.consumer as unknown as IncrementalRebalancing;
    this.rebalance = previous.then(async () => {
      try {
        const cooperative = incremental.rebalanceProtocol() === 'COOPERATIVE';
        if (error.code === ERR_ASSIGN_PARTITIONS) {
          await handlers.onAssigned(partitions);
          if (cooperative) incremental.incrementalAssign(partitions);
          else this.consumer.assign(partitions);
          this.assigned = cooperative ? [...this.assigned, ...partitions] : partitions;
          this.assignmentReceived = true;
        } else if (error.code === ERR_REVOKE_PARTITIONS) {
          if (incremental.assignmentLost()) {
            this.assignmentEpoch++;
            await handlers.onLost(partitions);
          } else await handlers.onRevoking(partitions);
          if (cooperative) incremental.incrementalUnassign(partitions);
          else this.consumer.unassign();
          const revoked = new Set(partitions.map(({ topic, partition }) => partitionKey(topic, partition)));
          this.assigned = cooperative ? this.assigned.filter(({ topic, partition }) => !revoked.has(partitionKey(topic, partition))) : [];
        } else {
          handlers.onRebalanceError(error);
          this.consumer.unassign();
          this.assigned = [];
        }
      } catch (handoffError) {
        handlers.onRebalanceError(handoffError);
        if (this.consumer.isConnected()) this.consumer.unassign();
        this.assigned = [];
      } finally {
        this.assignmentEpoch++;
        this.handOffsPending--;
      }
    });
  }
}

/** Whether the read-back `stored` holds this commit, metadata included. */
function isStored({ topic, partition, offset, metadata }: CommittedOffset, stored: readonly CommittedOffset[]): boolean {
  return stored.some((entry) => entry.topic === topic && entry.partition === partition && entry.offset === offset && (entry.metadata ?? '') === (metadata ?? ''));
}

/** The binding hands this error over with code -1 and librdkafka's text, so both are checked. */
function isAllBrokersDown(error: LibrdKafkaError): boolean {
  return error.code === ERR_ALL_BROKERS_DOWN || error.errno === ERR_ALL_BROKERS_DOWN || /all broker connections are down/i.test(error.message);
}
