import type { PartitionRef } from '../kafka/consumer-port';
import type { OutputKind } from '../lake/layout';
import type { PartitionRanges } from '../lake/offset-range';
import type { CompactionResult } from '../lake/compaction/compact-day';
import type { TopicDay } from '../lake/files';
import type { DayFallback } from '../lake/day-cut';
import type { TrimEvents } from '../kafka/topic-trim';
import type { RetentionEvents } from '../lake/retention';
import type { TopicSchema } from '../lake/topic-schema';

/**
 * Every event of the pipeline, defined once. The pipeline reports them here and never touches a
 * logger or a metric itself; observability/telemetry.ts is the one implementation that both counts
 * and logs each of them.
 */

export type SealTrigger = 'rows' | 'bytes' | 'age' | 'memory' | 'revoke' | 'caught-up' | 'shutdown';

/** Per (topic, partition) next offsets, as committed or to commit. */
export type OffsetsByPartition = ReadonlyArray<{ readonly topic: string; readonly partition: number; readonly offset: number }>;

export interface FilePublished {
  readonly topic: string;
  readonly kind: OutputKind;
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly ranges: PartitionRanges;
  readonly trigger: SealTrigger;
  /** From sealing the buffer to the file being published. */
  readonly durationMs: number;
  readonly publishedAtMs: number;
  /**
   * Created later than the commit before it fences the group (committer.ts beforePublish): if the
   * process was paused past its session meanwhile, the partitions' next owner may write these
   * records too, and the day's parts hold them twice until it is compacted.
   */
  readonly lateForFence: boolean;
}

export interface WriteFailed {
  readonly topic: string;
  readonly kind: OutputKind;
  readonly attempt: number;
  readonly retryInMs: number;
  readonly error: unknown;
}

export interface RowsRejectedByEncoder {
  readonly topic: string;
  readonly kind: OutputKind;
  /** Rows the encoder cannot take even alone: they go to a dead-letter file. */
  readonly rejected: number;
  /** Rows of the same batch written as usual. */
  readonly kept: number;
  readonly error: unknown;
}

export interface DeadLettered {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly stage: string;
  readonly reason: string;
  readonly message: string;
}

/** Values of one batch that did not fit their column's declared type, and were nulled (the record is written). */
export interface ValuesMisfit {
  readonly topic: string;
  readonly column: string;
  /** `not-a-<type>` (lake/declared-schema.ts misfitReason). */
  readonly reason: string;
  values: number;
}

export interface BufferState {
  /** Buffered plus in-flight bytes. */
  readonly heldBytes: number;
  readonly rowsByTopic: ReadonlyMap<string, number>;
  readonly oldestAgeMsByTopic: ReadonlyMap<string, number>;
}

export interface Recovered {
  readonly topic: string;
  readonly filesRead: number;
  /** Offsets already in published files past the commit, which will be skipped. */
  readonly skipped: PartitionRanges;
}

/** One-shot mode: where the consumer stands against its goals, per topic (progress bars, progress logs). */
export interface TopicProgress {
  readonly topic: string;
  readonly done: number;
  readonly total: number;
}

/**
 * Records a consume call returned that this member must not write: of a partition it no longer
 * owns, or below the group's commit of one it was given again. Both come from a call made before a
 * revocation or a lost session; their partition's owner writes them.
 */
export interface RecordsNotOurs {
  readonly topic: string;
  readonly partition: number;
  readonly reason: 'not-assigned' | 'below-commit';
  records: number;
}

/** progress: offsets forward; recovery-point: metadata a file needs before it is published; fence: the same commit again before a publish, refused to a member the group left behind. */
export type CommitPurpose = 'progress' | 'recovery-point' | 'fence';

export interface PipelineEvents extends TrimEvents, RetentionEvents {
  /** A record's day came from its Kafka timestamp although DAY_SOURCE_FIELD is set. */
  dayFellBack(topic: string, reason: DayFallback): void;
  partitionsAssigned(partitions: readonly PartitionRef[]): void;
  partitionsRevoked(partitions: readonly PartitionRef[]): void;
  /** The group took the assignment without a hand-off; `droppedRows` buffered or being written were dropped, to be read again. */
  partitionsLost(partitions: readonly PartitionRef[], droppedRows: number): void;
  rebalanceFailed(error: unknown): void;
  recovered(event: Recovered): void;
  messagesConsumed(topic: string, messages: number, bytes: number): void;
  /** A consume call that was under way when partitions were revoked failed; nothing of it was ingested. */
  readAheadFailed(error: unknown): void;
  /** Consumed records that are not this member's to write (read before a revocation or a lost session) were skipped. */
  recordsNotOursSkipped(event: RecordsNotOurs): void;
  deadLettered(event: DeadLettered): void;
  /** Values that do not fit their column's declared type (SCHEMA_FILE, TIMESTAMP_FIELDS) were written as nulls. */
  valuesMisfit(event: ValuesMisfit): void;
  filePublished(event: FilePublished): void;
  writeFailed(event: WriteFailed): void;
  rowsRejectedByEncoder(event: RowsRejectedByEncoder): void;
  /** This process created a new version of a topic's schema: columns added or widened (`schema.widened`). */
  topicSchemaWidened(schema: TopicSchema): void;
  offsetsCommitted(offsets: OffsetsByPartition, purpose: CommitPurpose): void;
  commitFailed(error: unknown, purpose: CommitPurpose): void;
  consumptionPaused(partitions: number): void;
  consumptionResumed(): void;
  buffersMeasured(state: BufferState): void;
  /** A closed day's parts were merged into its file (or another collector holds its lock, or it had none). */
  dayCompacted(result: CompactionResult): void;
  /** A compaction failed (target null: the pass itself); the next pass tries again. */
  compactionFailed(target: TopicDay | null, error: unknown): void;
  /** After a pass: how long the oldest closed day still holding parts has been closed, or null when none is left. */
  closedDaysLeft(oldestClosedForMs: number | null): void;
}
