import { partitionsByTopic, settledUnlessLost, type ConsumerPort, type PartitionRef, type RebalanceHandlers } from '../kafka/consumer-port';
import type { Lake } from '../lake/lake';
import type { SealedBatch } from '../parquet/batch';
import { Committer } from './committer';
import type { PipelineEvents, TopicProgress } from './events';
import { Ingest, type IngestOptions } from './ingest';
import { isOverBudget } from '../config/memory-plan';
import { OffsetLedger } from './offset-ledger';
import { OneShotGoals, OtherMembers } from './one-shot';
import { ReadAhead } from './read-ahead';
import { recoverPartitions } from './recovery';
import { Writer } from './writer';

/**
 * Consume → ingest → write → commit, in one direction, and the rebalance hand-off. This file only
 * orchestrates: ingest.ts owns the buffers and seal triggers, writer.ts the files, committer.ts the
 * commits, offset-ledger.ts every per-partition fact, one-shot.ts the goals of a one-shot run.
 */

export interface PipelineOptions {
  readonly lake: Lake;
  readonly instanceId: string;
  readonly version: string;
  readonly ingest: IngestOptions;
  /** From the memory plan (config/memory-plan.ts): buffered rows, and buffered plus in-flight bytes. */
  readonly memory: { readonly bufferedBytes: number; readonly heldBytes: number };
  readonly consumeBatchSize: number;
  /** One-shot mode: goals are taken at assignment; MAX_MESSAGES per topic, or null. */
  readonly oneShot: { readonly maxMessagesPerTopic: number | null } | null;
  readonly kafkaTimeoutMs: number;
  /** How long a commit before a publish fences the group (config/kafka-properties.ts fenceHoldsMs). */
  readonly fenceHoldsMs: number;
  readonly writeRetry: { readonly minMs: number; readonly maxMs: number };
}

export interface PipelineDeps {
  readonly port: ConsumerPort;
  readonly encode: (batch: SealedBatch) => Promise<Uint8Array>;
  readonly events: PipelineEvents;
  readonly now: () => number;
  /** The group's commit of a partition this member owns was stored, or partitions were assigned with theirs (the topic trim follows). */
  readonly onCommitStored?: () => void;
  /** Test-only fault injection: called between publishing a file and committing its offsets. */
  readonly afterPublish?: () => void;
}

export class Pipeline implements RebalanceHandlers {
  private readonly options: PipelineOptions;
  private readonly deps: PipelineDeps;
  private readonly ledger: OffsetLedger;
  private readonly goals: OneShotGoals;
  private readonly ingest: Ingest;
  private readonly writer: Writer;
  private readonly committer: Committer;
  private running = false;
  private loop: Promise<void> | null = null;
  /** The consume call and ingest under way, if any: a revocation waits for it before sealing. */
  private iteration: Promise<void> = Promise.resolve();
  private readonly readAhead: ReadAhead;
  private ageTimer: NodeJS.Timeout | null = null;
  /** When the consume loop last completed an iteration; null before it starts. */
  private lastProgressMs: number | null = null;
  private assignments = 0;
  private goalsPending = 0;
  private readonly others = new OtherMembers();
  /** One-shot mode: what this member held when it caught up was sealed, so its commits can reach its goals. */
  private sealedWhenCaughtUp = false;
  /** The drain dropped what it held because the client declared the assignment lost. */
  private lostAtDrain = false;

  constructor(options: PipelineOptions, deps: PipelineDeps) {
    this.options = options;
    this.deps = deps;
    const { events, now } = deps;
    this.ledger = new OffsetLedger(options.instanceId);
    this.goals = new OneShotGoals(options.oneShot?.maxMessagesPerTopic ?? null, this.ledger);
    this.readAhead = new ReadAhead(deps.port, options.consumeBatchSize);
    this.committer = new Committer({
      port: deps.port,
      ledger: this.ledger,
      holders: () => [...this.ingest.buffers(), ...this.writer.holders()],
      events,
      now,
      timeoutMs: options.kafkaTimeoutMs,
      fenceHoldsMs: options.fenceHoldsMs,
      onStored: deps.onCommitStored,
    });
    this.writer = new Writer(
      { lake: options.lake, instanceId: options.instanceId, version: options.version, retryMinMs: options.writeRetry.minMs, retryMaxMs: options.writeRetry.maxMs, declared: options.ingest.declared },
      { encode: deps.encode, committer: this.committer, ledger: this.ledger, events, now, afterPublish: deps.afterPublish },
    );
    this.ingest = new Ingest(options.ingest, {
      ledger: this.ledger,
      events,
      now,
      admit: (topic) => this.goals.admit(topic),
      onSealed: (buffer, trigger) => this.writer.write(buffer, trigger),
    });
  }

  /**
   * How long the consume loop has gone without progress, or null before it started. Waiting for
   * the output (a write failing and retried: disk full, read-only) is not a stall: readiness
   * reports it, and a restart would not help.
   */
  loopStallMs(): number | null {
    if (this.lastProgressMs === null) return null;
    if (this.writer.isFailing) return 0;
    return this.deps.now() - Math.max(this.lastProgressMs, this.writer.lastPublishMs ?? 0);
  }

  /** Whether records of this (topic, day) are buffered or being written: its day cannot be compacted yet. */
  holdsDay(topic: string, day: number): boolean {
    return this.ingest.holds(topic, day) || this.writer.holds(topic, day);
  }

  /** True while the last write attempt failed (disk full, permissions): not ready. */
  get isWriteFailing(): boolean {
    return this.writer.isFailing;
  }

  /** True once the group gave this member an assignment and its hand-off ran. */
  get hasAssignment(): boolean {
    return this.assignments > 0;
  }

  /** One-shot mode: every partition of this member reached the end offset it had when it was assigned. */
  isCaughtUp(): boolean {
    return this.hasAssignment && this.goalsPending === 0 && this.goals.isCaughtUp();
  }

  /**
   * One-shot mode: this member is caught up, and every other partition of the subscription was read
   * to its end by its owner (the group's commit reached the end offset it had when this member first
   * looked). So a member whose partitions are done, or that was given none yet, does not leave while
   * partitions are in transit between members (cooperative rebalancing moves them in two steps).
   */
  async isDone(): Promise<boolean> {
    if (!this.isCaughtUp()) return false;
    if (!this.sealedWhenCaughtUp) {
      // The other members wait for this one's commits as it waits for theirs: publish now rather
      // than at FLUSH_INTERVAL_MS.
      this.sealedWhenCaughtUp = true;
      this.ingest.sealAll('caught-up');
    }
    return this.others.allRead(this.deps.port, this.options.kafkaTimeoutMs);
  }

  progress(): TopicProgress[] {
    return this.goals.progress();
  }

  /** Starts the consume loop; the returned promise settles when the loop ends (stop, or error). */
  start(): Promise<void> {
    this.running = true;
    this.lastProgressMs = this.deps.now();
    const tick = Math.max(50, Math.min(1000, Math.floor(this.options.ingest.flushIntervalMs / 4)));
    this.ageTimer = setInterval(() => this.onTick(), tick);
    this.loop = this.consumeLoop();
    return this.loop;
  }

  /**
   * Stops consuming, publishes every buffer, waits for the writes and commits. When the client
   * declares the assignment lost meanwhile (the session expired during a broker outage), the
   * writes could never store their recovery points, and the consume loop that would run the lost
   * hand-off has stopped: what is left is dropped here, as the hand-off would, and read again by
   * the next owner.
   */
  async drain(): Promise<void> {
    this.running = false;
    if (this.ageTimer !== null) clearInterval(this.ageTimer);
    this.ageTimer = null;
    await this.loop?.catch(() => undefined);
    this.ingest.sealAll('shutdown');
    if (await settledUnlessLost(this.deps.port, this.writer.allSettled())) {
      this.lostAtDrain = true;
      await this.dropLost(this.deps.port.assignment);
      return;
    }
    await this.committer.commitNow();
  }

  // ---- rebalance hand-off (called by the consumer) ----

  /**
   * Recovers what published files hold past the committed offsets. In one-shot mode it takes the
   * goals first, and recovers only the topics with a partition left to read.
   */
  async onAssigned(partitions: readonly PartitionRef[]): Promise<void> {
    this.deps.events.partitionsAssigned(partitions);
    const oneShot = this.options.oneShot !== null;
    if (oneShot) this.goalsPending++;
    try {
      const committed = await this.deps.port.committed(partitions, this.options.kafkaTimeoutMs);
      this.ledger.assigned(partitions, committed);
      const unread = oneShot ? await this.goals.take(this.deps.port, partitions, committed, this.options.kafkaTimeoutMs) : partitions;
      for (const recovered of await recoverPartitions(this.options.lake, unread, committed, this.ledger)) this.deps.events.recovered(recovered);
      this.assignments++;
      this.deps.onCommitStored?.();
    } finally {
      if (oneShot) this.goalsPending--;
    }
  }

  /**
   * The revoked partitions' records are published and committed before the group moves them, so
   * the new owner starts exactly where this member stopped. The consume calls already under way
   * (the loop's and the one reading ahead) may still return records of those partitions: they are
   * ingested first, then sealed.
   */
  async onRevoking(partitions: readonly PartitionRef[]): Promise<void> {
    this.deps.events.partitionsRevoked(partitions);
    await this.iteration.catch(() => undefined);
    const messages = await this.readAhead.settle((error) => this.deps.events.readAheadFailed(error));
    if (messages.length > 0) this.ingest.ingestBatch(messages);
    for (const [topic, revoked] of partitionsByTopic(partitions)) this.ingest.sealHolding(topic, revoked, 'revoke');
    await this.writer.allSettled();
    await this.committer.commitNow();
    this.release(partitions);
  }

  /**
   * librdkafka loses the whole assignment at once, so everything buffered or being written belongs
   * to the lost partitions. Nothing of it may be published or committed: the next owner may be
   * reading it already, and it starts from the group's commit, which stayed below all of it.
   */
  async onLost(partitions: readonly PartitionRef[]): Promise<void> {
    await this.iteration.catch(() => undefined);
    await this.readAhead.take()?.catch(() => undefined);
    // A drain that found the assignment lost already dropped it: the client's hand-off comes after.
    if (this.lostAtDrain) this.release(partitions);
    else await this.dropLost(partitions);
  }

  private async dropLost(partitions: readonly PartitionRef[]): Promise<void> {
    const droppedRows = this.ingest.dropAll() + (await this.writer.abandonAll());
    this.release(partitions);
    this.deps.events.partitionsLost(partitions, droppedRows);
  }

  /** The partitions' offsets and one-shot goals are their next owner's. */
  private release(partitions: readonly PartitionRef[]): void {
    for (const { topic, partition } of partitions) {
      this.ledger.revoke(topic, partition);
      this.goals.forget(topic, partition);
    }
  }

  onRebalanceError(error: unknown): void {
    this.deps.events.rebalanceFailed(error);
  }

  // ---- the consume loop ----

  /** Consume (one batch read ahead: read-ahead.ts), ingest, keep to the memory budget, until stopped. */
  private async consumeLoop(): Promise<void> {
    try {
      while (this.running) {
        await this.deps.port.rebalanceSettled();
        if (!this.running) break;
        this.iteration = this.consumeOnce();
        await this.iteration;
        await this.enforceMemoryBudget();
      }
    } finally {
      // A batch read ahead when the loop stops is dropped: nothing of it was ingested, so nothing
      // of it is committed, and the next owner or run reads it again.
      await this.readAhead.take()?.catch(() => undefined);
    }
  }

  private async consumeOnce(): Promise<void> {
    const messages = await this.readAhead.next();
    this.lastProgressMs = this.deps.now();
    if (this.running) this.readAhead.start();
    if (messages.length > 0) this.ingest.ingestBatch(messages);
  }

  /** Over the budget: seal the largest buffers; if writes in flight alone are over it, pause fetching until they land. */
  private async enforceMemoryBudget(): Promise<void> {
    const heldLimit = this.options.memory.heldBytes;
    const overBudget = (): boolean => isOverBudget(this.options.memory, this.ingest.bufferedBytes(), this.writer.inFlightBytes);
    if (!overBudget()) return;
    this.ingest.sealForMemory(overBudget);
    if (this.writer.inFlightBytes <= heldLimit) return;
    const { port, events } = this.deps;
    const assignment = port.assignment;
    port.pause(assignment);
    events.consumptionPaused(assignment.length);
    while (this.writer.inFlightBytes > heldLimit && this.writer.inFlightCount > 0) {
      if (await settledUnlessLost(port, this.writer.nextSettled())) break;
      this.lastProgressMs = this.deps.now();
    }
    port.resume(assignment);
    events.consumptionResumed();
  }

  private onTick(): void {
    this.ingest.sealAged();
    this.deps.events.buffersMeasured(this.ingest.measure(this.writer.inFlightBytes));
    // Retries a commit that failed (broker outage) even when no new file is published.
    this.committer.request();
  }
}
