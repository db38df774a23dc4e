import { setTimeout as sleep } from 'node:timers/promises';
import { promises as fs, constants as fsConstants } from 'node:fs';
import type { TopicPartition } from '@confluentinc/kafka-javascript';
import { consumerProperties, subscription } from './config/kafka-properties';
import { memoryPlan } from './config/memory-plan';
import { probeWritableDir } from './config/output-dir';
import { isHttpEnabled, type CollectorConfig } from './config/schema';
import { CollectorError } from './errors';
import { HttpServer, type HealthCheck, type HealthSource } from './http/server';
import { LagMonitor } from './observability/lag';
import type { Logger } from './observability/logger';
import { CollectorMetrics } from './observability/metrics';
import { EncoderPool } from './parquet/worker-pool';
import { Pipeline, type TopicProgress } from './pipeline/pipeline';
import { KafkaSource } from './pipeline/source';
import { newInstanceId, sweepTempFiles } from './storage/publish';
import { COLLECTOR_VERSION } from './version';

/**
 * The composition root: the one place where modules are constructed and wired, and where the
 * start and stop order lives.
 */

const KAFKA_TIMEOUT_MS = 10_000;
const CONSUME_TIMEOUT_MS = 250;
/** Temp files younger than this may belong to another live collector on the same folder. */
const TEMP_FILE_MIN_AGE_MS = 10 * 60_000;
const DECODE_MAX_VALUE_BYTES = 8 * 1024 * 1024;
const FLATTEN_MAX_DEPTH = 64;
const FLATTEN_MAX_FIELDS = 1000;

export interface AppOptions {
  readonly config: CollectorConfig;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Called in one-shot mode after each consume iteration (progress bars, progress logs). */
  readonly onProgress?: (progress: readonly TopicProgress[]) => void;
}

export class CollectorApp implements HealthSource {
  readonly metrics = new CollectorMetrics();
  private readonly config: CollectorConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pool: EncoderPool;
  private readonly source: KafkaSource;
  private readonly pipeline: Pipeline;
  private readonly http: HttpServer | null;
  private readonly lag: LagMonitor;
  private readonly onProgress?: (progress: readonly TopicProgress[]) => void;
  private stopping: Promise<void> | null = null;
  private goalsPending = 0;

  constructor(options: AppOptions) {
    const { config, logger } = options;
    this.config = config;
    this.logger = logger;
    this.now = options.now ?? Date.now;
    this.onProgress = options.onProgress;
    this.pool = new EncoderPool({
      size: config.flush.maxWorkers,
      options: { compression: config.output.compression, rowGroupSize: config.output.rowGroupSize },
    });
    this.source = new KafkaSource(
      { properties: consumerProperties(config), subscription: subscription(config), consumeTimeoutMs: CONSUME_TIMEOUT_MS, logger },
      {
        onAssigned: (partitions) => this.onAssigned(partitions),
        onRevoking: (partitions) => this.pipeline.onRevoking(partitions),
        onRebalanceError: (error) => this.pipeline.onRebalanceError(error),
      },
    );
    this.pipeline = new Pipeline(
      {
        outputDir: config.output.dir,
        instanceId: newInstanceId(),
        version: COLLECTOR_VERSION,
        maxRows: config.flush.maxRows,
        maxBytes: config.flush.maxBytes,
        flushIntervalMs: config.flush.intervalMs,
        memory: memoryPlan(config.flush.memoryBudgetBytes),
        consumeBatchSize: config.kafka.consumeBatchSize,
        decodeLimits: { maxValueBytes: DECODE_MAX_VALUE_BYTES },
        flattenLimits: { maxDepth: FLATTEN_MAX_DEPTH, maxFields: FLATTEN_MAX_FIELDS },
        maxMessagesPerTopic: config.mode === 'once' ? config.once.maxMessages : null,
      },
      { source: this.source, encode: (batch) => this.pool.encode(batch), logger, metrics: this.metrics, now: this.now, afterPublish: crashAfterPublishFault() },
    );
    this.http = isHttpEnabled(config) ? new HttpServer({ host: config.http.host, port: config.http.port }, this, this.metrics.registry) : null;
    this.lag = new LagMonitor({ source: this.source, gauge: this.metrics.consumerLag, logger, intervalMs: config.metrics.lagIntervalMs, timeoutMs: KAFKA_TIMEOUT_MS });
  }

  /** Port the HTTP server bound (after start). */
  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  /** Starts everything; resolves once consuming has begun. `finished` settles when the loop ends. */
  async start(): Promise<{ finished: Promise<void> }> {
    await prepareOutputDir(this.config.output.dir);
    const swept = await sweepTempFiles(this.config.output.dir, this.now(), TEMP_FILE_MIN_AGE_MS);
    if (swept.length > 0) this.logger.info({ event: 'temp_files_removed', files: swept }, 'removed temp files left by a crash');
    const address = await this.http?.start();
    if (address !== undefined) this.logger.info({ event: 'http_listening', address }, 'HTTP server listening');
    await this.source.connect(KAFKA_TIMEOUT_MS);
    this.lag.start();
    // A signal during start-up has already run the stop: consuming now would only be re-read later.
    if (this.stopping !== null) return { finished: Promise.resolve() };
    this.logger.info({ event: 'consumer_started', subscription: subscription(this.config), groupId: this.config.kafka.groupId, mode: this.config.mode }, 'consumer subscribed');
    return { finished: this.pipeline.start() };
  }

  /** One-shot mode: consume up to the end offsets seen at assignment, publish, commit, stop. */
  async runOnce(): Promise<void> {
    const { finished } = await this.start();
    let loopError: unknown = null;
    finished.catch((error: unknown) => {
      loopError = error;
    });
    while (loopError === null && this.stopping === null && !(this.source.hasAssignment && this.goalsPending === 0 && this.pipeline.isCaughtUp())) {
      this.onProgress?.(this.pipeline.progress());
      await sleep(100);
    }
    this.onProgress?.(this.pipeline.progress());
    await this.stop('caught up');
    if (loopError !== null) throw loopError;
  }

  /** The graceful stop; a second call returns the same promise. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.stopInOrder(reason);
    return this.stopping;
  }

  private async stopInOrder(reason: string): Promise<void> {
    this.logger.info({ event: 'shutdown_started', reason }, 'stopping: publishing buffers and committing');
    await this.pipeline.drain();
    await this.lag.stop();
    await this.source.disconnect();
    await this.pool.close();
    await this.http?.stop();
    this.logger.info({ event: 'shutdown_complete' }, 'stopped');
  }

  liveness(): HealthCheck {
    const stalledMs = this.now() - this.pipeline.lastLoopTick;
    const ok = stalledMs <= this.config.http.maxLoopStallMs;
    return { name: 'consume-loop', ok, detail: ok ? undefined : `no consume iteration for ${stalledMs} ms` };
  }

  async readiness(): Promise<HealthCheck[]> {
    const unwritable = await probeWritableDir(this.config.output.dir, { create: false });
    return [
      { name: 'not-stopping', ok: this.stopping === null },
      { name: 'kafka-connected', ok: this.source.isConnected && this.source.brokersReachable && this.source.connectionProblem === undefined, detail: this.source.connectionProblem },
      { name: 'group-assignment', ok: this.source.hasAssignment },
      { name: 'output-writable', ok: unwritable === null && !this.pipeline.isWriteFailing, detail: unwritable ?? undefined },
    ];
  }

  private async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.config.mode === 'once') this.goalsPending++;
    try {
      const committed = await this.pipeline.onAssigned(partitions);
      if (this.config.mode !== 'once') return;
      const committedOf = (topic: string, partition: number): number | undefined =>
        committed.find((entry) => entry.topic === topic && entry.partition === partition)?.offset;
      for (const { topic, partition } of partitions) {
        const { low, high } = await this.source.watermarks(topic, partition, KAFKA_TIMEOUT_MS);
        const start = Math.max(low, committedOf(topic, partition) ?? low);
        this.pipeline.setGoal(topic, partition, start, high);
        this.logger.info({ event: 'one_shot_goal', topic, partition, start, end: high }, 'one-shot run reads this partition up to its end offset at start');
      }
    } finally {
      if (this.config.mode === 'once') this.goalsPending--;
    }
  }
}

/**
 * Test-only: COLLECTOR_FAULT_CRASH_AFTER_PUBLISH=<probability> kills the process with SIGKILL right
 * after a file is published and before its offsets are committed, the narrowest crash window the
 * chaos test must cover. Unset in production.
 */
function crashAfterPublishFault(): (() => void) | undefined {
  const probability = Number(process.env.COLLECTOR_FAULT_CRASH_AFTER_PUBLISH ?? '0');
  if (!(probability > 0)) return undefined;
  return () => {
    if (Math.random() < probability) process.kill(process.pid, 'SIGKILL');
  };
}

async function prepareOutputDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fsConstants.W_OK);
  } catch (error) {
    throw new CollectorError('OUTPUT_DIR_UNUSABLE', `output directory ${dir} is not writable: ${(error as Error).message} (set OUTPUT_DIR)`, {
      cause: error,
      context: { dir },
    });
  }
}

