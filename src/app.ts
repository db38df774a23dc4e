import { setTimeout as sleep } from 'node:timers/promises';
import { consumerProperties, fenceHoldsMs, subscription } from './config/kafka-properties';
import { memoryPlan } from './config/memory-plan';
import { isHttpEnabled, type CollectorConfig } from './config/schema';
import { CollectorError, describeError } from './errors';
import { HttpServer, type HealthCheck, type HealthSource } from './http/server';
import { groupCommittedBefore } from './kafka/group-progress';
import { LagMonitor } from './observability/lag';
import type { Logger } from './observability/logger';
import { CollectorMetrics } from './observability/metrics';
import { Telemetry } from './observability/telemetry';
import { availableCores, encoderThreads } from './cluster/process-count';
import { processesFor } from './cluster/roles';
import { EncoderPool } from './parquet/worker-pool';
import type { TopicProgress } from './pipeline/events';
import { Pipeline } from './pipeline/pipeline';
import { dayCloserFor, type DayCloser } from './pipeline/day-closer';
import { lakeAt, type Lake } from './lake/lake';
import { MeasuredStore } from './lake/store/measured';
import { readDeclaredSchemas } from './lake/declared-schema';
import type { ConsumerClient } from './kafka/consumer-port';
import { KafkaSource } from './kafka/kafka-source';
import { TopicTrim, type TrimDeps } from './kafka/topic-trim';
import { compactedBefore } from './lake/retention';
import { newInstanceId } from './lake/instance-id';
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
const WRITE_RETRY_MIN_MS = 500;
const WRITE_RETRY_MAX_MS = 30_000;
const ONCE_CAUGHT_UP = 'caught up';
/** Readiness answers within this even when the store does not (a frozen server): it is then not ready. */
const STORE_CHECK_TIMEOUT_MS = 2_000;

export interface AppOptions {
  readonly config: CollectorConfig;
  readonly logger: Logger;
  readonly now?: () => number;
  /** The group member to drive; KafkaSource from the configuration unless given (orchestration tests). */
  readonly consumer?: ConsumerClient;
  /** Called in one-shot mode after each consume iteration (progress bars, progress logs). */
  readonly onProgress?: (progress: readonly TopicProgress[]) => void;
}

export class CollectorApp implements HealthSource {
  readonly metrics = new CollectorMetrics();
  private readonly config: CollectorConfig;
  private readonly lake: Lake & { readonly store: MeasuredStore };
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pool: EncoderPool;
  private readonly source: ConsumerClient;
  private readonly pipeline: Pipeline;
  /**
   * Compacts closed days: on a timer in the daemon, once at the end of a one-shot run with
   * COMPACT_AFTER_ONCE (a consumer process leaves that to its primary: roles.ts), else null.
   */
  private readonly dayCloser: DayCloser | null;
  private readonly http: HttpServer | null;
  private readonly lag: LagMonitor;
  private readonly onProgress?: (progress: readonly TopicProgress[]) => void;
  private stopping: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** The store check under way: probes that come meanwhile share it instead of piling requests on a slow store. */
  private storeCheck: Promise<string | null> | null = null;
  private readonly telemetry: Telemetry;
  /** TOPIC_TRIM_ENABLED: deletes on the broker what the group committed; else null. */
  private readonly topicTrim: TopicTrim | null;

  constructor(options: AppOptions) {
    const { config, logger } = options;
    this.config = config;
    this.logger = logger;
    this.now = options.now ?? Date.now;
    this.onProgress = options.onProgress;
    this.pool = new EncoderPool({
      size: encoderThreads(config.workers.encoderThreads, availableCores(), processesFor(config, availableCores())),
      options: { compression: config.output.compression, rowGroupSize: config.output.rowGroupSize },
    });
    const kafkaProperties = consumerProperties(config);
    this.source = options.consumer ?? new KafkaSource({ properties: kafkaProperties, subscription: subscription(config), consumeTimeoutMs: CONSUME_TIMEOUT_MS, logger });
    const instanceId = newInstanceId();
    const telemetry = new Telemetry(logger, this.metrics);
    this.telemetry = telemetry;
    const lake = lakeAt(config);
    this.lake = { ...lake, store: new MeasuredStore(lake.store, telemetry) };
    const trim = config.retention.topicTrim;
    const trimBroker = this.source.trimBroker;
    this.topicTrim =
      trim.enabled && trimBroker !== undefined
        ? new TopicTrim(
            { keepMessages: trim.keepMessages, keepMs: trim.keepMs, intervalMs: trim.intervalMs, timeoutMs: KAFKA_TIMEOUT_MS },
            {
              port: this.source,
              broker: trimBroker,
              events: telemetry,
              now: this.now,
              compactedBefore: trim.afterCompaction ? (topics) => compactedBefore(this.lake, topics, config.lake.dayTimeZone, config.lake.compaction.graceMs, this.now()) : undefined,
              ...trimCrashFault(),
            },
          )
        : null;
    this.pipeline = new Pipeline(
      {
        lake: this.lake,
        instanceId,
        version: COLLECTOR_VERSION,
        ingest: {
          maxRows: config.flush.maxRows,
          maxBytes: config.flush.maxBytes,
          flushIntervalMs: config.flush.intervalMs,
          decodeLimits: { maxValueBytes: DECODE_MAX_VALUE_BYTES },
          flattenLimits: { maxDepth: FLATTEN_MAX_DEPTH, maxFields: FLATTEN_MAX_FIELDS },
          // DAY_SOURCE_FIELD empty (the default) means the Kafka timestamp, not a field named ''.
          dayCut: { timeZone: config.lake.dayTimeZone, sourceField: config.lake.daySourceField === '' ? null : config.lake.daySourceField },
          declared: readDeclaredSchemas(config.lake.schemaFile),
          timestampFields: config.lake.timestampFields,
        },
        memory: memoryPlan(config.flush.memoryBudgetBytes),
        consumeBatchSize: config.kafka.consumeBatchSize,
        oneShot: config.mode === 'once' ? { maxMessagesPerTopic: config.once.maxMessages } : null,
        kafkaTimeoutMs: KAFKA_TIMEOUT_MS,
        fenceHoldsMs: fenceHoldsMs(kafkaProperties),
        writeRetry: { minMs: WRITE_RETRY_MIN_MS, maxMs: WRITE_RETRY_MAX_MS },
      },
      { port: this.source, encode: (batch) => this.pool.encode(batch), events: telemetry, now: this.now, afterPublish: crashAfterPublishFault(), onCommitStored: () => this.topicTrim?.request() },
    );
    const compaction = config.lake.compaction;
    const wantsCompaction = config.mode === 'once' ? compaction.afterOnce : compaction.enabled;
    this.dayCloser = wantsCompaction
      ? dayCloserFor(config, this.lake, { owner: instanceId, version: COLLECTOR_VERSION, now: this.now }, {
          holdsDay: (topic, day) => this.pipeline.holdsDay(topic, day),
          // A one-shot run compacts once its goals are committed; records past them are not its concern.
          groupCommittedBefore: config.mode === 'once' ? undefined : (topic, instantMs) => groupCommittedBefore(this.source, topic, instantMs, KAFKA_TIMEOUT_MS),
          events: telemetry,
        })
      : null;
    this.http = isHttpEnabled(config) ? new HttpServer({ host: config.http.host, port: config.http.port }, this, this.metrics.registry) : null;
    this.lag = new LagMonitor({ source: this.source, gauge: this.metrics.consumerLag, logger, intervalMs: config.metrics.lagIntervalMs, timeoutMs: KAFKA_TIMEOUT_MS });
  }

  /** Port the HTTP server bound (after start). */
  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  /**
   * Starts everything; resolves once consuming has begun. `finished` settles when the loop ends,
   * and rejects with CONSUME_LOOP_STALLED when it stops making progress (see watchLoop).
   */
  async start(): Promise<{ finished: Promise<void> }> {
    // HTTP first: liveness answers while the collector connects and joins the group.
    const address = await this.http?.start();
    if (address !== undefined) this.logger.info({ event: 'http_listening', address }, 'HTTP server listening');
    await this.prepareLake();
    await this.source.connect(this.pipeline, KAFKA_TIMEOUT_MS);
    await this.topicTrim?.assertAllowed([...new Set((await this.source.subscribedPartitions(KAFKA_TIMEOUT_MS)).map(({ topic }) => topic))]);
    this.lag.start();
    // A signal during start-up has already run the stop: consuming now would only be re-read later.
    if (this.stopping !== null) return { finished: Promise.resolve() };
    this.logger.info({ event: 'consumer_started', subscription: subscription(this.config), groupId: this.config.kafka.groupId, mode: this.config.mode }, 'consumer subscribed');
    const loop = this.pipeline.start();
    void this.sweepTempFiles();
    if (this.config.mode === 'daemon') this.dayCloser?.start();
    return { finished: Promise.race([loop, this.watchLoop()]) };
  }

  /** Nothing is consumed into a lake that cannot be written. */
  private async prepareLake(): Promise<void> {
    const problem = await this.lake.store.probe();
    if (problem !== null) {
      throw new CollectorError('OUTPUT_DIR_UNUSABLE', `the lake at ${this.lake.store.location} cannot be written: ${problem} (set OUTPUT_DIR)`, {
        context: { location: this.lake.store.location },
      });
    }
  }

  /** Writes a crash left unfinished, removed in the background: a large lake must not delay consuming. */
  private async sweepTempFiles(): Promise<void> {
    try {
      const swept = await this.lake.store.sweepAbandoned(TEMP_FILE_MIN_AGE_MS);
      if (swept.length > 0) this.logger.info({ event: 'temp_files_removed', files: swept }, 'removed temp files left by a crash');
    } catch (error) {
      this.logger.warn({ event: 'temp_file_sweep_failed', err: error }, 'could not sweep temp files left by a crash');
    }
  }

  /**
   * Rejects once the consume loop went LIVENESS_MAX_STALL_MS without progress while not waiting
   * for the output: the process then exits non-zero and its supervisor restarts it (Docker does not
   * restart a container for failing its health check).
   */
  private watchLoop(): Promise<never> {
    const limitMs = this.config.http.maxLoopStallMs;
    return new Promise<never>((_resolve, reject) => {
      this.watchdog = setInterval(() => {
        const stalledMs = this.pipeline.loopStallMs();
        if (stalledMs === null || stalledMs <= limitMs || this.stopping !== null) return;
        this.stopWatchdog();
        this.logger.fatal({ event: 'consume_loop_stalled', stalledMs, limitMs }, 'the consume loop made no progress for too long: exiting so the process is restarted');
        reject(new CollectorError('CONSUME_LOOP_STALLED', `no consume iteration for ${stalledMs} ms (LIVENESS_MAX_STALL_MS is ${limitMs})`, { context: { stalledMs, limitMs } }));
      }, Math.max(100, Math.min(5000, Math.floor(limitMs / 4))));
      this.watchdog.unref();
    });
  }

  private stopWatchdog(): void {
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** One-shot mode: consume up to the end offsets seen at assignment, publish, commit, stop. */
  async runOnce(): Promise<void> {
    const { finished } = await this.start();
    let loopError: unknown = null;
    finished.catch((error: unknown) => {
      loopError = error;
    });
    // A broker query failing while checking only means: not done yet.
    const done = (): Promise<boolean> => this.pipeline.isDone().catch(() => false);
    while (loopError === null && this.stopping === null && !(await done())) {
      this.onProgress?.(this.pipeline.progress());
      await sleep(100);
    }
    this.onProgress?.(this.pipeline.progress());
    await this.stop(ONCE_CAUGHT_UP);
    if (loopError !== null) throw loopError;
  }

  /** The graceful stop; a second call returns the same promise. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.stopInOrder(reason);
    return this.stopping;
  }

  private async stopInOrder(reason: string): Promise<void> {
    this.logger.info({ event: 'shutdown_started', reason }, 'stopping: publishing buffers and committing');
    this.stopWatchdog();
    // Only the daemon starts the closer's passes; stopping it in one-shot mode would end the final pass below before it began.
    if (this.config.mode === 'daemon') await this.dayCloser?.stop();
    await this.pipeline.drain();
    await this.topicTrim?.stop();
    await this.lag.stop();
    await this.source.disconnect();
    // One-shot with COMPACT_AFTER_ONCE: everything consumed is published, so closed days can be merged.
    if (this.config.mode === 'once' && reason === ONCE_CAUGHT_UP) await this.dayCloser?.pass();
    await this.pool.close();
    this.lake.store.close();
    await this.telemetry.storeRequestsMade();
    await this.http?.stop();
    this.logger.info({ event: 'shutdown_complete' }, 'stopped');
  }

  private checkStore(): Promise<string | null> {
    if (this.storeCheck === null) {
      const check = this.lake.store
        .check()
        .catch((error: unknown) => describeError(error))
        .finally(() => {
          if (this.storeCheck === check) this.storeCheck = null;
        });
      this.storeCheck = check;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`${this.lake.store.location} did not answer within ${STORE_CHECK_TIMEOUT_MS} ms`), STORE_CHECK_TIMEOUT_MS);
    });
    return Promise.race([this.storeCheck, late]).finally(() => clearTimeout(timer));
  }

  private storeProblem(): string | null {
    const problem = this.lake.store.problem();
    return problem === null ? null : `${this.lake.store.location}: ${problem}`;
  }

  liveness(): HealthCheck {
    const stalledMs = this.pipeline.loopStallMs();
    if (stalledMs === null) return { name: 'consume-loop', ok: true, detail: 'starting' };
    const ok = stalledMs <= this.config.http.maxLoopStallMs;
    return { name: 'consume-loop', ok, detail: ok ? undefined : `no consume iteration for ${stalledMs} ms` };
  }

  async readiness(): Promise<HealthCheck[]> {
    const unwritable = (await this.checkStore()) ?? this.storeProblem();
    const writeFailing = this.pipeline.isWriteFailing ? 'writing files fails and is retried (see write_failed in the log); consuming waits for the output' : undefined;
    return [
      { name: 'not-stopping', ok: this.stopping === null },
      { name: 'kafka-connected', ok: this.source.isConnected && this.source.brokersReachable && this.source.connectionProblem === undefined, detail: this.source.connectionProblem },
      { name: 'group-assignment', ok: this.pipeline.hasAssignment },
      { name: 'output-writable', ok: unwritable === null && writeFailing === undefined, detail: unwritable ?? writeFailing },
    ];
  }
}

/**
 * Test-only, not part of the configuration: COLLECTOR_TEST_ONLY_CRASH_AFTER_PUBLISH=<probability>
 * kills the process with SIGKILL right after a file is published and before its offsets are
 * committed, the narrowest crash window the chaos and recovery tests must cover.
 */
function crashAfterPublishFault(): (() => void) | undefined {
  const probability = Number(process.env.COLLECTOR_TEST_ONLY_CRASH_AFTER_PUBLISH ?? '0');
  if (!(probability > 0)) return undefined;
  return () => {
    if (Math.random() < probability) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * Test-only, not part of the configuration: COLLECTOR_TEST_ONLY_CRASH_IN_TRIM=before kills the
 * process with SIGKILL at its first topic trim, after the commit and before the DeleteRecords
 * request; =during kills it right after the request is sent, before the broker answers.
 */
function trimCrashFault(): Pick<TrimDeps, 'beforeRequest' | 'afterRequest'> {
  const stage = process.env.COLLECTOR_TEST_ONLY_CRASH_IN_TRIM;
  const crash = (): void => void process.kill(process.pid, 'SIGKILL');
  if (stage === 'before') return { beforeRequest: crash };
  // A moment after the request left, so that it reaches the broker or not, as a real crash would.
  if (stage === 'during') return { afterRequest: () => void setTimeout(crash, 2) };
  return {};
}
