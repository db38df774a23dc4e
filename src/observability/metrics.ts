import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { containerMemoryLimit } from '../cluster/process-count';
import { buildInfo } from '../version';

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * `aggregator`: how the primary of several consumer processes combines their values (prom-client's
 * cluster aggregation): sums by default; a time, an age or the build's labels are not sums.
 */
function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = [], aggregator: 'sum' | 'max' | 'first' = 'sum'): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry], aggregator });
}

/** Every metric of the collector, in one registry; names follow Prometheus conventions. */
export class CollectorMetrics {
  readonly registry = new Registry();

  readonly messagesConsumed = counter(this.registry, 'collector_messages_consumed_total', 'Messages consumed from Kafka.', ['topic'] as const);

  readonly bytesConsumed = counter(this.registry, 'collector_consumed_bytes_total', 'Bytes of message values and keys consumed from Kafka.', ['topic'] as const);

  readonly decodeFailures = counter(this.registry, 'collector_decode_failures_total', 'Messages that could not be decoded or flattened, by reason.', ['topic', 'reason'] as const);

  readonly deadLetterRecords = counter(this.registry, 'collector_dead_letter_records_total', 'Records written to dead-letter files.', ['topic'] as const);

  readonly rowsWritten = counter(this.registry, 'collector_rows_written_total', 'Rows in published Parquet files.', ['topic', 'kind'] as const);

  readonly lastPublish = gauge(this.registry, 'collector_last_publish_timestamp_seconds', 'Unix time of the last published file per topic and kind (data, dead-letter); absent until the first one.', ['topic', 'kind'] as const, 'max');

  readonly filesWritten = counter(this.registry, 'collector_files_written_total', 'Published Parquet files.', ['topic', 'kind'] as const);

  readonly bytesWritten = counter(this.registry, 'collector_written_bytes_total', 'Bytes of published Parquet files.', ['topic', 'kind'] as const);

  readonly flushDuration = new Histogram({
    name: 'collector_flush_duration_seconds',
    help: 'Time from sealing a buffer to its file being published (encode, write, fsync, rename).',
    labelNames: ['topic'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly writeErrors = counter(this.registry, 'collector_write_errors_total', 'Failed attempts to encode or publish a file (retried).', ['topic', 'code'] as const);

  readonly bufferedRows = gauge(this.registry, 'collector_buffered_rows', 'Rows held in memory, not yet published.', ['topic'] as const);

  readonly bufferedBytes = gauge(this.registry, 'collector_buffered_bytes', 'Estimated bytes held in memory, not yet published.');

  readonly oldestRecordAge = gauge(this.registry, 'collector_oldest_unflushed_record_age_seconds', 'Age of the oldest buffered record per topic (time since it was consumed).', ['topic'] as const, 'max');

  readonly consumerLag = gauge(this.registry, 'collector_consumer_lag_messages', 'High watermark minus the committed offset per assigned partition: records on the broker not yet in a published file (LAG_INTERVAL_MS).', ['topic', 'partition'] as const);

  readonly committedOffset = gauge(this.registry, 'collector_committed_offset', 'Last offset committed per partition (the next offset to read).', ['topic', 'partition'] as const);

  readonly commits = counter(this.registry, 'collector_commits_total', 'Offset commits, by result.', ['result'] as const);

  readonly rebalances = counter(this.registry, 'collector_rebalances_total', 'Rebalance events, by type (assign, revoke, lost, error).', ['type'] as const);

  readonly rowsDropped = counter(this.registry, 'collector_dropped_rows_total', 'Rows dropped unpublished because the group took their partitions (a lost session); the next owner reads them again.', ['reason'] as const);

  readonly filesLateForFence = counter(this.registry, 'collector_files_late_for_fence_total', 'Files created later than the commit before them fences the group (a paused process): their records may be written twice until the day is compacted.', ['topic'] as const);

  readonly recordsNotOurs = counter(this.registry, 'collector_records_not_ours_total', 'Consumed records skipped because this member must not write them (read before a revocation or a lost session), by reason (not-assigned, below-commit).', ['topic', 'reason'] as const);

  readonly pausedPartitions = gauge(this.registry, 'collector_paused_partitions', 'Partitions paused because the memory budget is full.');

  readonly assignedPartitions = gauge(this.registry, 'collector_assigned_partitions', 'Partitions assigned to this member.');

  readonly dayFallbacks = counter(this.registry, 'collector_day_fallbacks_total', 'Records whose day came from the Kafka timestamp although DAY_SOURCE_FIELD is set, by reason (field-missing, field-unparsable).', ['topic', 'reason'] as const);

  readonly schemaWidenings = counter(this.registry, 'collector_topic_schema_widenings_total', "Columns added to or widened in a topic's schema by this process (each a new schema version in the lake).", ['topic'] as const);

  readonly schemaMisfits = counter(this.registry, 'collector_schema_misfits_total', "Values written as nulls because they do not fit their column's configured type (TIMESTAMP_FIELDS: not an instant).", ['topic', 'column', 'reason'] as const);

  readonly compactions = counter(this.registry, 'collector_compactions_total', 'Compactions of a closed (topic, day), by result (compacted, locked: another collector held it, nothing: no parts).', ['kind', 'result'] as const);

  readonly compactedRows = counter(this.registry, 'collector_compacted_rows_total', 'Rows written into compacted day files.', ['topic', 'kind'] as const);

  readonly compactedBytes = counter(this.registry, 'collector_compacted_bytes_total', 'Bytes of compacted day files written.', ['topic', 'kind'] as const);

  readonly compactionPartsRemoved = counter(this.registry, 'collector_compaction_parts_removed_total', 'Part files removed after their day was compacted (or found covered by a compacted file at start-up).', ['topic', 'kind'] as const);

  readonly compactionFailures = counter(this.registry, 'collector_compaction_failures_total', 'Compactions that failed (retried at the next pass), by error code.', ['code'] as const);

  readonly oldestUncompactedDayAge = gauge(this.registry, 'collector_oldest_uncompacted_closed_day_seconds', 'How long the oldest closed day that still holds part files has been closed (0 when none).', [], 'max');

  readonly topicTrims = counter(this.registry, 'collector_topic_trims_total', 'Partitions the topic trim (TOPIC_TRIM_ENABLED) asked the broker to delete records of, by result (ok, or the error code).', ['result'] as const);

  readonly topicLowWatermark = gauge(this.registry, 'collector_topic_trim_low_watermark', 'Low watermark of each partition after this collector\'s last trim of it: the first offset the broker still holds.', ['topic', 'partition'] as const, 'max');

  readonly lakeDaysExpired = counter(this.registry, 'collector_lake_days_expired_total', 'Closed (topic, day)s removed from the lake by LAKE_RETENTION_DAYS.', ['kind'] as const);

  readonly lakeFilesExpired = counter(this.registry, 'collector_lake_files_expired_total', 'Files removed from the lake with their expired day (Parquet files, markers, hidden compaction files).');

  readonly lakeRetentionFailures = counter(this.registry, 'collector_lake_retention_failures_total', 'Lake retention passes or days that failed (finished at the next pass), by error code.', ['code'] as const);

  readonly storeRequests = counter(this.registry, 'collector_store_requests_total', 'Requests to the lake\'s store (the filesystem or S3), by operation and result (ok, or the error code).', ['operation', 'result'] as const);

  readonly storeRequestDuration = new Histogram({
    name: 'collector_store_request_duration_seconds',
    help: 'Time the lake\'s store took to answer a request, by operation (a create includes its upload and fsync).',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
    registers: [this.registry],
  });

  readonly storeBytesWritten = counter(this.registry, 'collector_store_written_bytes_total', 'Bytes written to the lake\'s store (data, compacted files and metadata objects).');

  readonly buildInfo = gauge(this.registry, 'collector_build_info', 'Always 1; the labels name the build: collector version, git commit, Node.js and librdkafka versions.', ['version', 'commit', 'node', 'librdkafka'] as const, 'first');

  readonly memoryLimit = gauge(this.registry, 'collector_container_memory_limit_bytes', 'The container\'s memory limit (cgroup v2 memory.max); 0 when there is none or it cannot be read.', [], 'first');

  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ ...buildInfo() }, 1);
    this.memoryLimit.set(containerMemoryLimit() ?? 0);
  }
}
