import { CollectorError, describeError, errorCode } from '../errors';
import { isFenceExpired } from '../lake/store/lake-store';
import type { PartitionRef } from '../kafka/consumer-port';
import type { CompactionResult } from '../lake/compaction/compact-day';
import type { StoreEvents, StoreRequest } from '../lake/store/measured';
import type { TopicDay } from '../lake/files';
import { describeOutcomes, type TopicTrimmed } from '../kafka/topic-trim';
import type { DayExpired } from '../lake/retention';
import { isoDate } from '../lake/layout';
import type { DayFallback } from '../lake/day-cut';
import type { TopicSchema } from '../lake/topic-schema';
import type { BufferState, CommitPurpose, RecordsNotOurs, DeadLettered, FilePublished, OffsetsByPartition, PipelineEvents, Recovered, RowsRejectedByEncoder, ValuesMisfit, WriteFailed } from '../pipeline/events';
import type { Logger } from './logger';
import type { CollectorMetrics } from './metrics';

/** The one implementation of the pipeline's events: each is counted and logged here, and nowhere else. */
export class Telemetry implements PipelineEvents, StoreEvents {
  private readonly logger: Logger;
  private readonly metrics: CollectorMetrics;

  constructor(logger: Logger, metrics: CollectorMetrics) {
    this.logger = logger;
    this.metrics = metrics;
  }

  partitionsAssigned(partitions: readonly PartitionRef[]): void {
    this.metrics.rebalances.inc({ type: 'assign' });
    // Incremental (cooperative) hand-offs add and remove partitions; eager ones remove all, then add all.
    this.metrics.assignedPartitions.inc(partitions.length);
    this.logger.info({ event: 'partitions_assigned', partitions: describePartitions(partitions) }, 'partitions assigned');
  }

  partitionsRevoked(partitions: readonly PartitionRef[]): void {
    this.metrics.rebalances.inc({ type: 'revoke' });
    this.partitionsLeft(partitions);
    this.logger.info({ event: 'partitions_revoked', partitions: describePartitions(partitions) }, 'partitions revoked: publishing what they hold');
  }

  partitionsLost(partitions: readonly PartitionRef[], droppedRows: number): void {
    this.metrics.rebalances.inc({ type: 'lost' });
    this.metrics.rowsDropped.inc({ reason: 'partitions-lost' }, droppedRows);
    this.partitionsLeft(partitions);
    this.logger.warn(
      { event: 'partitions_lost', partitions: describePartitions(partitions), droppedRows },
      'the group took these partitions (the session expired, for example through a broker outage): what they held is dropped unpublished and read again from the commit',
    );
  }

  /** A partition that left this member must not keep reporting its last values. */
  private partitionsLeft(partitions: readonly PartitionRef[]): void {
    this.metrics.assignedPartitions.dec(partitions.length);
    for (const { topic, partition } of partitions) {
      this.metrics.committedOffset.remove({ topic, partition: String(partition) });
      this.metrics.consumerLag.remove({ topic, partition: String(partition) });
    }
  }

  rebalanceFailed(error: unknown): void {
    this.metrics.rebalances.inc({ type: 'error' });
    // The member unassigns everything and rejoins.
    this.metrics.assignedPartitions.set(0);
    this.logger.error({ event: 'rebalance_failed', err: error }, 'rebalance hand-off failed');
  }

  recovered({ topic, filesRead, skipped }: Recovered): void {
    this.logger.info(
      { event: 'recovery', topic, filesRead, skip: Object.fromEntries(skipped) },
      skipped.size > 0 ? 'published files hold offsets past the commit: they will be skipped' : 'nothing to recover',
    );
  }

  messagesConsumed(topic: string, messages: number, bytes: number): void {
    this.metrics.messagesConsumed.inc({ topic }, messages);
    this.metrics.bytesConsumed.inc({ topic }, bytes);
  }

  readAheadFailed(error: unknown): void {
    this.logger.warn({ event: 'consume_failed', err: error }, 'the batch read ahead failed during a revocation');
  }

  deadLettered({ topic, partition, offset, stage, reason, message }: DeadLettered): void {
    this.metrics.decodeFailures.inc({ topic, reason });
    this.metrics.deadLetterRecords.inc({ topic });
    this.logger.warn({ event: 'dead_letter', topic, partition, offset, stage, reason, error: message }, 'message dead-lettered');
  }

  filePublished(event: FilePublished): void {
    const { topic, kind, rows, bytes } = event;
    this.metrics.rowsWritten.inc({ topic, kind }, rows);
    this.metrics.filesWritten.inc({ topic, kind });
    // Wall-clock seconds, what PromQL's time() compares with in the alert rules.
    this.metrics.lastPublish.set({ topic, kind }, event.publishedAtMs / 1000);
    this.metrics.bytesWritten.inc({ topic, kind }, bytes);
    this.metrics.flushDuration.observe({ topic }, event.durationMs / 1000);
    this.logger.info(
      { event: 'file_published', topic, kind, path: event.path, rows, bytes, offsets: Object.fromEntries(event.ranges), trigger: event.trigger, durationMs: event.durationMs },
      'file published',
    );
    if (!event.lateForFence) return;
    this.metrics.filesLateForFence.inc({ topic });
    this.logger.warn(
      { event: 'file_late_for_fence', topic, kind, path: event.path },
      'file created later than the commit before it fences the group (a paused process?): if the group gave its partitions to another member meanwhile, its records are in the day\'s parts twice until the day is compacted',
    );
  }

  writeFailed({ topic, kind, attempt, retryInMs, error }: WriteFailed): void {
    this.metrics.writeErrors.inc({ topic, code: errorCode(error) });
    this.logger.error({ event: 'write_failed', topic, kind, attempt, retryInMs, err: error, error: describeError(error) }, 'writing a file failed; retrying, offsets stay uncommitted');
  }

  rowsRejectedByEncoder({ topic, kind, rejected, kept, error }: RowsRejectedByEncoder): void {
    this.metrics.writeErrors.inc({ topic, code: errorCode(error) });
    this.metrics.deadLetterRecords.inc({ topic }, rejected);
    this.logger.error(
      { event: 'rows_rejected_by_encoder', topic, kind, rejected, kept, err: error, error: describeError(error) },
      'the encoder rejected rows of a batch for good: they go to a dead-letter file, the rest is written',
    );
  }

  valuesMisfit({ topic, column, reason, values }: ValuesMisfit): void {
    this.metrics.schemaMisfits.inc({ topic, column, reason }, values);
    this.logger.warn({ event: 'values_misfit', topic, column, reason, values }, "values that do not fit their column's configured type were written as nulls");
  }

  topicSchemaWidened({ topic, version, widened }: TopicSchema): void {
    this.metrics.schemaWidenings.inc({ topic }, widened.length);
    this.logger.info(
      { event: 'topic_schema_widened', topic, version, widened: widened.map(({ column, from, to }) => `${column}: ${from ?? '(new)'} -> ${to}`) },
      "the topic's schema was widened: files written from now on carry the new columns and types",
    );
  }

  offsetsCommitted(offsets: OffsetsByPartition, purpose: CommitPurpose): void {
    this.metrics.commits.inc({ result: 'ok' });
    for (const { topic, partition, offset } of offsets) this.metrics.committedOffset.set({ topic, partition: String(partition) }, offset);
    if (purpose === 'recovery-point') this.logger.info({ event: 'recovery_point_committed', offsets: describeOffsets(offsets) }, 'start offsets committed before the first file of these partitions');
    else if (purpose === 'fence') this.logger.debug({ event: 'publish_fenced', offsets: describeOffsets(offsets) }, 'the group took the commit again: this member still owns the partitions of the file it publishes');
    else this.logger.info({ event: 'offsets_committed', offsets: describeOffsets(offsets) }, 'offsets committed');
  }

  recordsNotOursSkipped({ topic, partition, reason, records }: RecordsNotOurs): void {
    this.metrics.recordsNotOurs.inc({ topic, reason }, records);
    this.logger.warn({ event: 'records_not_ours_skipped', topic, partition, reason, records }, 'consumed records this member must not write (read before a revocation or a lost session) were skipped: their partition\'s owner writes them');
  }

  commitFailed(error: unknown, purpose: CommitPurpose): void {
    // A rebalance ended the assignment the commit was made in: routine, and the partitions' next owner commits them.
    if (error instanceof CollectorError && error.context.assignmentEnded === true) {
      this.metrics.commits.inc({ result: 'superseded' });
      this.logger.info({ event: 'commit_superseded', purpose }, 'commit not sent: a rebalance ended the assignment it was made in; the next owner commits these partitions');
      return;
    }
    if (isFenceExpired(error)) {
      this.metrics.commits.inc({ result: 'expired' });
      this.logger.warn({ event: 'fence_expired', purpose, err: error }, 'a file waited longer than the commit before it fences the group (a paused process?): it is fenced again before it is published');
      return;
    }
    this.metrics.commits.inc({ result: 'error' });
    this.logger.error(
      { event: 'commit_failed', purpose, err: error },
      purpose === 'progress' ? 'offset commit failed; the next publish retries it' : `${purpose} commit before a publish failed; the file waits and is retried`,
    );
  }

  consumptionPaused(partitions: number): void {
    this.metrics.pausedPartitions.set(partitions);
  }

  consumptionResumed(): void {
    this.metrics.pausedPartitions.set(0);
  }

  dayFellBack(topic: string, reason: DayFallback): void {
    // Counted, not logged: a producer without the field would log every record.
    this.metrics.dayFallbacks.inc({ topic, reason });
  }

  dayCompacted(result: CompactionResult): void {
    const { topic, kind } = result.target;
    this.metrics.compactions.inc({ kind, result: result.status });
    if (result.status !== 'compacted') return;
    this.metrics.compactedRows.inc({ topic, kind }, result.rows);
    this.metrics.compactedBytes.inc({ topic, kind }, result.bytes);
    this.metrics.compactionPartsRemoved.inc({ topic, kind }, result.partsRemoved);
    this.logger.info(
      {
        event: 'day_compacted',
        topic,
        kind,
        day: isoDate(result.target.day),
        files: result.files.map((file) => file.name),
        rows: result.rows,
        bytes: result.bytes,
        partsRemoved: result.partsRemoved,
        duplicatesDropped: result.duplicatesDropped,
        durationMs: result.durationMs,
      },
      'parts of a closed day compacted',
    );
  }

  compactionFailed(target: TopicDay | null, error: unknown): void {
    this.metrics.compactionFailures.inc({ code: errorCode(error) });
    this.logger.error({ event: 'compaction_failed', day: target === null ? null : describeDay(target), err: error, error: describeError(error) }, 'compaction failed; the next pass tries again');
  }

  topicTrimmed({ outcomes, durationMs }: TopicTrimmed): void {
    for (const { topic, partition, lowWatermark, error } of outcomes) {
      this.metrics.topicTrims.inc({ result: error === null ? 'ok' : errorCode(error) });
      if (lowWatermark !== null) this.metrics.topicLowWatermark.set({ topic, partition: String(partition) }, lowWatermark);
    }
    const failed = outcomes.filter((outcome) => outcome.error !== null);
    const fields = { event: 'topic_trimmed', lowWatermarks: describeOutcomes(outcomes), durationMs };
    if (failed.length === 0) this.logger.info(fields, 'records below the committed offsets deleted on the broker');
    else this.logger.error({ ...fields, err: failed[0].error }, 'the broker refused to delete records of some partitions; the next trim asks again');
  }

  topicTrimFailed(error: unknown): void {
    this.metrics.topicTrims.inc({ result: errorCode(error) });
    this.logger.error({ event: 'topic_trim_failed', err: error, error: describeError(error) }, 'topic trim failed; the next commit asks again');
  }

  lakeDayExpired({ target, files, resumed }: DayExpired): void {
    this.metrics.lakeDaysExpired.inc({ kind: target.kind });
    this.metrics.lakeFilesExpired.inc(files);
    this.logger.info({ event: 'lake_day_expired', day: describeDay(target), files, resumed }, resumed ? 'finished removing a day a crash interrupted' : 'removed a day older than LAKE_RETENTION_DAYS');
  }

  lakeRetentionFailed(target: TopicDay | null, error: unknown): void {
    this.metrics.lakeRetentionFailures.inc({ code: errorCode(error) });
    this.logger.error({ event: 'lake_retention_failed', day: target === null ? null : describeDay(target), err: error, error: describeError(error) }, 'lake retention failed; the next pass finishes it');
  }

  storeRequest({ operation, durationMs, bytesWritten, error }: StoreRequest): void {
    this.metrics.storeRequests.inc({ operation, result: error === undefined ? 'ok' : errorCode(error) });
    this.metrics.storeRequestDuration.observe({ operation }, durationMs / 1000);
    if (bytesWritten > 0) this.metrics.storeBytesWritten.inc(bytesWritten);
    // Debug only: the caller (writer, recovery, compaction) reports what the failure meant.
    if (error !== undefined) this.logger.debug({ event: 'store_request_failed', operation, durationMs, err: error }, 'a request to the lake store failed');
  }

  /** At the end of a run: what it asked of the store, by operation and result (on S3, what it was billed for). */
  async storeRequestsMade(): Promise<void> {
    const requests: Record<string, number> = {};
    for (const { labels, value } of (await this.metrics.storeRequests.get()).values) {
      if (value > 0) requests[`${String(labels.operation)}:${String(labels.result)}`] = value;
    }
    this.logger.info({ event: 'store_requests', requests }, 'requests made to the lake store');
  }

  closedDaysLeft(oldestClosedForMs: number | null): void {
    this.metrics.oldestUncompactedDayAge.set((oldestClosedForMs ?? 0) / 1000);
  }

  buffersMeasured({ heldBytes, rowsByTopic, oldestAgeMsByTopic }: BufferState): void {
    this.metrics.bufferedBytes.set(heldBytes);
    this.metrics.bufferedRows.reset();
    this.metrics.oldestRecordAge.reset();
    for (const [topic, rows] of rowsByTopic) this.metrics.bufferedRows.set({ topic }, rows);
    for (const [topic, ageMs] of oldestAgeMsByTopic) this.metrics.oldestRecordAge.set({ topic }, ageMs / 1000);
  }
}

function describeDay({ topic, day, kind }: TopicDay): string {
  return `${topic} ${isoDate(day)}${kind === 'dead-letter' ? ' (dead letters)' : ''}`;
}

function describePartitions(partitions: readonly PartitionRef[]): string[] {
  return partitions.map((p) => `${p.topic}[${p.partition}]`);
}

function describeOffsets(offsets: OffsetsByPartition): Record<string, number> {
  const described: Record<string, number> = {};
  for (const { topic, partition, offset } of offsets) described[`${topic}[${partition}]`] = offset;
  return described;
}
