import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric of the collector, in one registry; names follow Prometheus conventions. */
export class CollectorMetrics {
  readonly registry = new Registry();

  readonly messagesConsumed = new Counter({
    name: 'collector_messages_consumed_total',
    help: 'Messages consumed from Kafka.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly bytesConsumed = new Counter({
    name: 'collector_consumed_bytes_total',
    help: 'Bytes of message values and keys consumed from Kafka.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly decodeFailures = new Counter({
    name: 'collector_decode_failures_total',
    help: 'Messages that could not be decoded or flattened, by reason.',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });

  readonly deadLetterRecords = new Counter({
    name: 'collector_dead_letter_records_total',
    help: 'Records written to dead-letter files.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly rowsWritten = new Counter({
    name: 'collector_rows_written_total',
    help: 'Rows in published Parquet files.',
    labelNames: ['topic', 'kind'] as const,
    registers: [this.registry],
  });

  readonly filesWritten = new Counter({
    name: 'collector_files_written_total',
    help: 'Published Parquet files.',
    labelNames: ['topic', 'kind'] as const,
    registers: [this.registry],
  });

  readonly bytesWritten = new Counter({
    name: 'collector_written_bytes_total',
    help: 'Bytes of published Parquet files.',
    labelNames: ['topic', 'kind'] as const,
    registers: [this.registry],
  });

  readonly flushDuration = new Histogram({
    name: 'collector_flush_duration_seconds',
    help: 'Time from sealing a buffer to its file being published (encode, write, fsync, rename).',
    labelNames: ['topic'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly writeErrors = new Counter({
    name: 'collector_write_errors_total',
    help: 'Failed attempts to encode or publish a file (retried).',
    labelNames: ['topic', 'code'] as const,
    registers: [this.registry],
  });

  readonly bufferedRows = new Gauge({
    name: 'collector_buffered_rows',
    help: 'Rows held in memory, not yet published.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly bufferedBytes = new Gauge({
    name: 'collector_buffered_bytes',
    help: 'Estimated bytes held in memory, not yet published.',
    registers: [this.registry],
  });

  readonly oldestRecordAge = new Gauge({
    name: 'collector_oldest_unflushed_record_age_seconds',
    help: 'Age of the oldest buffered record per topic (time since it was consumed).',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'collector_consumer_lag_messages',
    help: 'High watermark minus the committed offset per assigned partition: records on the broker not yet in a published file (LAG_INTERVAL_MS).',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly committedOffset = new Gauge({
    name: 'collector_committed_offset',
    help: 'Last offset committed per partition (the next offset to read).',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly commits = new Counter({
    name: 'collector_commits_total',
    help: 'Offset commits, by result.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly rebalances = new Counter({
    name: 'collector_rebalances_total',
    help: 'Rebalance events, by type (assign, revoke, error).',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly pausedPartitions = new Gauge({
    name: 'collector_paused_partitions',
    help: 'Partitions paused because the memory budget is full.',
    registers: [this.registry],
  });

  readonly assignedPartitions = new Gauge({
    name: 'collector_assigned_partitions',
    help: 'Partitions assigned to this member.',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
