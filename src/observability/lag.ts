import { describeError } from '../errors';
import { RepeatingTask } from '../repeating-task';
import { partitionKey, type CommittedOffset, type ConsumerPort, type PartitionRef, type Watermarks } from '../kafka/consumer-port';
import type { Logger } from './logger';
import type { CollectorMetrics } from './metrics';

/**
 * Consumer lag per assigned partition: the high watermark minus the group's committed offset.
 * Measured against the commit, not the fetch position, because for a backup a record is only
 * done once it is in a published file; this is also what broker-side lag exporters report, so
 * the two agree on a dashboard.
 */

/** What the monitor needs of the consumer. */
export type LagSource = Pick<ConsumerPort, 'assignment' | 'watermarks' | 'committed'>;

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export interface LagMonitorOptions {
  readonly source: LagSource;
  readonly gauge: CollectorMetrics['consumerLag'];
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

/**
 * Lag of each partition. Without a commit the group starts at the log start (auto.offset.reset
 * is earliest), so everything from the low watermark on is still to do.
 */
export function partitionLags(
  partitions: readonly PartitionRef[],
  watermarks: ReadonlyMap<string, Watermarks>,
  committed: readonly CommittedOffset[],
): PartitionLag[] {
  const committedOf = new Map(committed.map(({ topic, partition, offset }) => [partitionKey(topic, partition), offset]));
  const lags: PartitionLag[] = [];
  for (const { topic, partition } of partitions) {
    const key = partitionKey(topic, partition);
    const marks = watermarks.get(key);
    if (marks === undefined) continue;
    const start = Math.max(marks.low, committedOf.get(key) ?? marks.low);
    lags.push({ topic, partition, lag: Math.max(0, marks.high - start) });
  }
  return lags;
}

/** Polls the lag every interval (never two polls at once) into the consumer-lag gauge. */
export class LagMonitor {
  private readonly options: LagMonitorOptions;
  // Its timer does not keep a finished one-shot run alive.
  private readonly polls: RepeatingTask;

  constructor(options: LagMonitorOptions) {
    this.options = options;
    this.polls = new RepeatingTask(options.intervalMs, () =>
      this.poll().catch((error: unknown) => options.logger.warn({ event: 'lag_query_failed', error: describeError(error) }, 'consumer lag query failed; retrying')),
    );
  }

  start(): void {
    this.polls.start();
  }

  /** Stops polling and waits for a poll under way, so it never runs against a closed consumer. */
  async stop(): Promise<void> {
    await this.polls.stop();
  }

  /** One measurement; partitions no longer assigned disappear from the gauge. */
  async poll(): Promise<void> {
    const { source, gauge, timeoutMs } = this.options;
    const partitions = [...source.assignment];
    if (partitions.length === 0) {
      gauge.reset();
      return;
    }
    const [watermarks, committed] = await Promise.all([source.watermarks(partitions, timeoutMs), source.committed(partitions, timeoutMs)]);
    gauge.reset();
    for (const { topic, partition, lag } of partitionLags(partitions, watermarks, committed)) {
      gauge.set({ topic, partition: String(partition) }, lag);
    }
  }
}
