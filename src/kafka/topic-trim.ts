import { describeError } from '../errors';
import { partitionKey, type CommittedOffset, type ConsumerPort, type PartitionRef } from './consumer-port';
import { notAuthorizedError, type TrimBroker, type TrimOutcome, type TrimPoint } from './trim-broker';

/**
 * Topic trim (TOPIC_TRIM_ENABLED): after a commit, the records below the group's committed offset
 * of each partition this member owns are deleted on the broker, since they are in the lake, less
 * the margins: a number of records, an age, and with TOPIC_TRIM_AFTER_COMPACTION the records of
 * days not compacted yet.
 *
 * Why it is safe: the committed offset is read back from the broker just before the request, and
 * the collector commits an offset only once every record below it is in a durable file; a group's
 * commit only moves forward, so a partition that moved to another member between the check of the
 * assignment and the request is still trimmed below what its new owner starts from. A crash
 * anywhere leaves the low watermark at or below the commit, and the next trim (after the next
 * commit, or the next assignment) catches up.
 */

export interface TrimOptions {
  /** Records kept below the committed offset. */
  readonly keepMessages: number;
  /** Records younger than this (by Kafka timestamp) are kept; 0: no age margin. */
  readonly keepMs: number;
  /** At most one trim per interval; requests in between are folded into the next. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export interface TopicTrimmed {
  readonly outcomes: readonly TrimOutcome[];
  readonly durationMs: number;
}

export interface TrimEvents {
  topicTrimmed(event: TopicTrimmed): void;
  topicTrimFailed(error: unknown): void;
}

export interface TrimDeps {
  readonly port: Pick<ConsumerPort, 'assignment' | 'committed'>;
  readonly broker: TrimBroker;
  readonly events: TrimEvents;
  readonly now: () => number;
  /**
   * TOPIC_TRIM_AFTER_COMPACTION: per topic, the instant before which every day is compacted
   * (lake/retention.ts compactedBefore); records from then on are kept.
   */
  readonly compactedBefore?: (topics: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Test-only fault injection: called before a DeleteRecords request is sent, and right after. */
  readonly beforeRequest?: () => void;
  readonly afterRequest?: () => void;
}

/**
 * Where each partition may be trimmed to: the committed offset less the margins, and never below
 * what was trimmed already (that request would only repeat). `timeLimits` holds, per
 * partitionKey, the first offset a time margin keeps (absent: none).
 */
export function trimPoints(committed: readonly CommittedOffset[], keepMessages: number, timeLimits: ReadonlyMap<string, number>, trimmed: ReadonlyMap<string, number>): TrimPoint[] {
  const points: TrimPoint[] = [];
  for (const { topic, partition, offset } of committed) {
    const point = Math.min(offset - keepMessages, timeLimitOf(timeLimits, topic, partition));
    if (point > 0 && point > (trimmed.get(partitionKey(topic, partition)) ?? 0)) points.push({ topic, partition, offset: point });
  }
  return points;
}

/** The first offset of a partition that a time margin keeps; Infinity when none does. */
function timeLimitOf(timeLimits: ReadonlyMap<string, number>, topic: string, partition: number): number {
  return timeLimits.get(partitionKey(topic, partition)) ?? Infinity;
}

/** Of these points, those of partitions in `owned`. */
export function ownedPoints(points: readonly TrimPoint[], owned: readonly PartitionRef[]): TrimPoint[] {
  const keys = new Set(owned.map(({ topic, partition }) => partitionKey(topic, partition)));
  return points.filter(({ topic, partition }) => keys.has(partitionKey(topic, partition)));
}

export class TopicTrim {
  private readonly options: TrimOptions;
  private readonly deps: TrimDeps;
  /** The low watermark after this member's last trim of each partition. */
  private readonly trimmed = new Map<string, number>();
  private requested = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private lastRunMs = Number.NEGATIVE_INFINITY;

  constructor(options: TrimOptions, deps: TrimDeps) {
    this.options = options;
    this.deps = deps;
  }

  /** At start-up: fails, naming the ACL, when the broker says the principal may not delete records of these topics. */
  async assertAllowed(topics: readonly string[]): Promise<void> {
    const denied = await this.deps.broker.deleteDenied(topics, this.options.timeoutMs);
    if (denied.length > 0) throw notAuthorizedError(denied);
  }

  /** A commit was stored, or partitions were assigned: a trim follows, within the interval. */
  request(): void {
    if (this.stopped) return;
    this.requested = true;
    if (this.timer !== null) return;
    const delayMs = Math.max(0, this.lastRunMs + this.options.intervalMs - this.deps.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.running.then(() => this.trim());
    }, delayMs);
    this.timer.unref();
  }

  /** Before the client disconnects: what was committed last is trimmed now, then nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    const pending = this.timer !== null || this.requested;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (pending) await this.trim();
  }

  private async trim(): Promise<void> {
    if (!this.requested) return;
    this.requested = false;
    this.lastRunMs = this.deps.now();
    try {
      await this.trimOwned();
    } catch (error) {
      // The next request retries: a commit, an assignment, or the stop.
      this.deps.events.topicTrimFailed(error);
    }
  }

  private async trimOwned(): Promise<void> {
    const { port, broker } = this.deps;
    const { timeoutMs, keepMs, keepMessages } = this.options;
    const owned = port.assignment;
    if (owned.length === 0) return;
    const started = this.deps.now();
    const committed = await port.committed(owned, timeoutMs);
    const timeLimits = await this.timeLimits(owned, keepMs > 0 ? started - keepMs : Infinity);
    // Ownership is checked again at the last moment: a partition revoked meanwhile is its next owner's to trim.
    const points = ownedPoints(trimPoints(committed, keepMessages, timeLimits, this.trimmed), port.assignment);
    // Time alone releases what a time margin holds back (the records age, the day gets compacted): ask again after the interval.
    if (heldBack(committed, keepMessages, timeLimits)) this.request();
    if (points.length === 0) return;
    this.deps.beforeRequest?.();
    const request = broker.deleteRecords(points, timeoutMs);
    this.deps.afterRequest?.();
    const outcomes = await request;
    for (const { topic, partition, lowWatermark } of outcomes) {
      if (lowWatermark !== null) this.trimmed.set(partitionKey(topic, partition), lowWatermark);
    }
    this.deps.events.topicTrimmed({ outcomes, durationMs: this.deps.now() - started });
  }

  /** Per partitionKey, the first offset the time margins keep: records younger than keepMs, and of days not compacted yet. */
  private async timeLimits(owned: readonly PartitionRef[], youngFromMs: number): Promise<ReadonlyMap<string, number>> {
    const topics = [...new Set(owned.map(({ topic }) => topic))];
    const compacted = (await this.deps.compactedBefore?.(topics)) ?? null;
    const limits = new Map<string, number>();
    for (const [topic, fromMs] of keptFrom(topics, youngFromMs, compacted)) {
      const partitions = owned.filter((partition) => partition.topic === topic);
      // null: every record is older than the margin, which then keeps nothing.
      for (const [key, offset] of await this.deps.broker.offsetsAtTime(partitions, fromMs, this.options.timeoutMs)) if (offset !== null) limits.set(key, offset);
    }
    return limits;
  }
}

/** Whether a time margin keeps records that the commit and the message margin alone would trim. */
export function heldBack(committed: readonly CommittedOffset[], keepMessages: number, timeLimits: ReadonlyMap<string, number>): boolean {
  return committed.some(({ topic, partition, offset }) => timeLimitOf(timeLimits, topic, partition) < offset - keepMessages);
}

/** The earlier of two optional instants, per topic: records from then on are kept. */
export function keptFrom(topics: readonly string[], youngFromMs: number, compactedBefore: ReadonlyMap<string, number> | null): Map<string, number> {
  const kept = new Map<string, number>();
  for (const topic of topics) {
    const from = Math.min(youngFromMs, compactedBefore?.get(topic) ?? Infinity);
    if (from !== Infinity) kept.set(topic, from);
  }
  return kept;
}

/** For logs: what a trim did, per partition. */
export function describeOutcomes(outcomes: readonly TrimOutcome[]): Record<string, number | string> {
  const described: Record<string, number | string> = {};
  for (const { topic, partition, lowWatermark, error } of outcomes) described[`${topic}[${partition}]`] = lowWatermark ?? describeError(error);
  return described;
}
