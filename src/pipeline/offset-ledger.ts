import { partitionKey, type CommittedOffset, type PartitionRef } from '../kafka/consumer-port';
import { mergeRanges, type OffsetRange, type PartitionRanges } from '../lake/offset-range';
import { ANY_DAY, boundedDays, decodeCommitMetadata, encodeCommitMetadata, type RecoverDays } from './commit-metadata';

/**
 * Every per-partition fact the pipeline keeps, in one place, and the computation of what may be
 * committed. Pure: no I/O, no clock (times are passed in).
 *
 * The committable offset of a partition is the lowest offset still held by any unpublished buffer
 * or in-flight write, or else the next offset to consume. Records of one partition may sit in two
 * day buffers at once (midnight, late data): the lowest one wins, so a commit never passes a record
 * that is not yet in a published file.
 */

/** Anything that holds records not yet published: an open buffer or a write in flight. */
export interface OffsetHolder {
  readonly topic: string;
  /** The day its file will belong to. */
  readonly day: number;
  lowestOffsets(): ReadonlyMap<number, number>;
}

/** A published file holding offsets past the commit. */
export interface FileAbove {
  readonly last: number;
  readonly publishedAtMs: number;
  readonly day: number;
}

/** What the ledger knows of one assigned partition. */
export class PartitionState {
  /** Next offset to consume, or null before the first record. */
  next: number | null = null;
  /** The offset the group already has: its commit, or where this run started. */
  committed: number | null = null;
  /** Whether the group's latest commit carries recovery metadata (see Committer.ensureRecoveryPoints). */
  hasRecoveryPoint = false;
  /** Offsets already in published files past the commit (found by recovery): skipped when consumed. */
  skip: OffsetRange[] = [];
  /** Files holding offsets past the commit: their last offset, publish time and day. */
  publishedAbove: FileAbove[] = [];
  /** The recovery metadata of the group's latest commit (see commit-metadata.ts); null before one is known. */
  stored: { readonly sinceMs: number; readonly days: RecoverDays } | null = null;

  /**
   * Whether a record lies below the group's commit: one a consume call read before this member's
   * assignment (librdkafka's queue from before a lost session), which the group has already.
   */
  isBelowCommit(offset: number): boolean {
    return this.committed !== null && offset < this.committed;
  }

  /** Records a consumed offset; returns the offset of the previous record seen of this partition, or -1. */
  advance(offset: number): number {
    const previous = this.next === null ? -1 : this.next - 1;
    // The group is already at the first offset consumed (its commit, or where a new group starts).
    if (this.next === null && this.committed === null) this.committed = offset;
    this.next = offset + 1;
    return previous;
  }

  /** Whether `offset` is already in a published file. Offsets arrive in increasing order, so passed ranges are dropped. */
  isPublished(offset: number): boolean {
    const ranges = this.skip;
    while (ranges.length > 0 && ranges[0][1] < offset) ranges.shift();
    return ranges.length > 0 && ranges[0][0] <= offset;
  }

  /** After committing `committed`: forgets files wholly below it; returns the recover-since time to store. */
  recoverSince(committed: number, nowMs: number): number {
    this.publishedAbove = this.publishedAbove.filter((entry) => entry.last >= committed);
    return this.publishedAbove.reduce((earliest, entry) => Math.min(earliest, entry.publishedAtMs), nowMs);
  }

  /** Whether the group's commit tells recovery to look on `day`: a file of another day needs a new recovery point first. */
  coversDay(day: number): boolean {
    return this.stored !== null && (this.stored.days === ANY_DAY || this.stored.days.has(day));
  }
}

export class OffsetLedger {
  private readonly topics = new Map<string, Map<number, PartitionState>>();
  /** Unique to this process: with the count of requests, it tells this member's commits from any other's. */
  private readonly memberTag: string;
  private commitRequests = 0;
  private lastTopic: string | null = null;
  private lastPartition = -1;
  private lastState: PartitionState | null = null;

  constructor(memberTag: string) {
    this.memberTag = memberTag;
  }

  /** The id of the next commit request (see encodeCommitMetadata): every commit of one request carries it. */
  private nextCommitId(): string {
    this.commitRequests++;
    return `${this.memberTag}-${this.commitRequests}`;
  }

  /**
   * The state of a partition this member was assigned (and has not left), or undefined: records of
   * any other partition come from a consume call made before a revocation or a lost session.
   */
  owned(topic: string, partition: number): PartitionState | undefined {
    if (this.lastState !== null && this.lastPartition === partition && this.lastTopic === topic) return this.lastState;
    const state = this.topics.get(topic)?.get(partition);
    if (state === undefined) return undefined;
    this.lastTopic = topic;
    this.lastPartition = partition;
    this.lastState = state;
    return state;
  }

  /** The state of a partition, created on first use; cached for runs of records of one partition. */
  partition(topic: string, partition: number): PartitionState {
    if (this.lastState !== null && this.lastPartition === partition && this.lastTopic === topic) return this.lastState;
    let partitions = this.topics.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.topics.set(topic, partitions);
    }
    let state = partitions.get(partition);
    if (state === undefined) {
      state = new PartitionState();
      partitions.set(partition, state);
    }
    this.lastTopic = topic;
    this.lastPartition = partition;
    this.lastState = state;
    return state;
  }

  /** Next offset to consume of a partition, or null before its first record. */
  nextOffset(topic: string, partition: number): number | null {
    return this.topics.get(topic)?.get(partition)?.next ?? null;
  }

  /**
   * Partitions were assigned to this member: where the group's commit of each stands (a partition
   * without one starts where its first record is consumed).
   */
  assigned(partitions: readonly PartitionRef[], committed: readonly CommittedOffset[]): void {
    const groupOffsets = new Map(committed.map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset]));
    for (const { topic, partition } of partitions) this.partition(topic, partition).committed = groupOffsets.get(partitionKey(topic, partition)) ?? null;
  }

  /** What recovery found: the group's commit carried recovery metadata, and these offsets are on disk past it. */
  recovered(topic: string, partition: number, onDisk: readonly OffsetRange[], files: readonly FileAbove[], stored: { sinceMs: number; days: RecoverDays }): void {
    const state = this.partition(topic, partition);
    state.hasRecoveryPoint = true;
    state.stored = stored;
    state.skip = mergeRanges(onDisk);
    state.publishedAbove.push(...files);
  }

  /** A file of `day` holding these ranges was published. */
  filePublished(topic: string, day: number, ranges: PartitionRanges, publishedAtMs: number): void {
    for (const [partition, list] of ranges) {
      if (list.length > 0) this.partition(topic, partition).publishedAbove.push({ last: list[list.length - 1][1], publishedAtMs, day });
    }
  }

  /**
   * Commits that must be stored before a file of `day` is published: a partition the group never
   * committed has no recovery metadata, and a commit whose days do not include `day` would not send
   * recovery there, so a crash right after the publish would leave that file unknown to the next
   * owner. The commit is the offset the group already has (no record past it is claimed), with a
   * recover-since time that predates the file and the day added to the days it already names.
   */
  recoveryPointsNeeded(topic: string, partitions: Iterable<number>, publishedAtMs: number, day: number): CommittedOffset[] {
    const needed: CommittedOffset[] = [];
    const commitId = this.nextCommitId();
    for (const partition of partitions) {
      const state = this.partition(topic, partition);
      if ((state.hasRecoveryPoint && state.coversDay(day)) || state.committed === null) continue;
      const stored = state.hasRecoveryPoint ? state.stored : null;
      const days = stored === null ? new Set([day]) : stored.days === ANY_DAY ? ANY_DAY : boundedDays([...stored.days, day]);
      const recoverSinceMs = Math.min(stored?.sinceMs ?? publishedAtMs, publishedAtMs);
      needed.push({ topic, partition, offset: state.committed, metadata: encodeCommitMetadata({ recoverSinceMs, recoverDays: days }, commitId) });
    }
    return needed;
  }

  /** The group's commit of each partition (made by this member, with recovery metadata) as it stands, to store again. */
  commitsAgain(topic: string, partitions: Iterable<number>): CommittedOffset[] {
    const commits: CommittedOffset[] = [];
    const commitId = this.nextCommitId();
    for (const partition of partitions) {
      const state = this.partition(topic, partition);
      if (state.committed === null || state.stored === null) continue;
      commits.push({ topic, partition, offset: state.committed, metadata: encodeCommitMetadata({ recoverSinceMs: state.stored.sinceMs, recoverDays: state.stored.days }, commitId) });
    }
    return commits;
  }

  /** The commits that move partitions forward now, each with its recovery metadata. */
  nextCommit(holders: Iterable<OffsetHolder>, nowMs: number): CommittedOffset[] {
    const candidates = new Map<PartitionState, { topic: string; partition: number; offset: number; heldDays: Set<number> }>();
    for (const [topic, partitions] of this.topics) {
      for (const [partition, state] of partitions) if (state.next !== null) candidates.set(state, { topic, partition, offset: state.next, heldDays: new Set() });
    }
    for (const holder of holders) {
      const partitions = this.topics.get(holder.topic);
      if (partitions === undefined) continue;
      for (const [partition, lowest] of holder.lowestOffsets()) {
        const state = partitions.get(partition);
        const candidate = state === undefined ? undefined : candidates.get(state);
        if (candidate === undefined) continue;
        if (lowest < candidate.offset) candidate.offset = lowest;
        candidate.heldDays.add(holder.day);
      }
    }
    const commits: CommittedOffset[] = [];
    const commitId = this.nextCommitId();
    for (const [state, { topic, partition, offset, heldDays }] of candidates) {
      if (state.committed !== null && offset <= state.committed) continue;
      const recoverSinceMs = state.recoverSince(offset, nowMs);
      // Every holder of the partition holds offsets past the commit, and so does every file still above it.
      const recoverDays = boundedDays([...heldDays, ...state.publishedAbove.map((file) => file.day)]);
      commits.push({ topic, partition, offset, metadata: encodeCommitMetadata({ recoverSinceMs, recoverDays }, commitId) });
    }
    return commits;
  }

  /** The broker stored these commits. */
  committed(offsets: readonly CommittedOffset[]): void {
    for (const { topic, partition, offset, metadata } of offsets) {
      const state = this.partition(topic, partition);
      state.hasRecoveryPoint = true;
      if (state.committed === null || offset >= state.committed) {
        state.committed = offset;
        const decoded = decodeCommitMetadata(metadata);
        state.stored = decoded === null ? null : { sinceMs: decoded.recoverSinceMs, days: decoded.recoverDays };
      }
    }
  }

  /** Forgets every fact of a partition that left this member. */
  revoke(topic: string, partition: number): void {
    this.topics.get(topic)?.delete(partition);
    if (this.lastTopic === topic && this.lastPartition === partition) this.lastState = null;
  }
}
