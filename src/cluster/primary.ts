import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import { HEAP_SIZE_OPTION, heapOptions, memoryPlan, processBudget } from '../config/memory-plan';
import { isHttpEnabled, type CollectorConfig } from '../config/schema';
import { HttpServer, type HealthCheck, type HealthSource } from '../http/server';
import type { Logger } from '../observability/logger';
import type { TopicProgress } from '../pipeline/events';
import { combinedLiveness, combinedProgress, combinedReadiness, restartDelayMs, type WorkerReport } from './health';
import { HEALTH_REPORT_INTERVAL_MS, WORKER_ENV, isWorkerMessage, type PrimaryMessage } from './protocol';

/**
 * The primary of MAX_WORKERS consumer processes: it owns what must be one (HTTP with metrics
 * aggregated over the processes and combined health, signals, one progress view in one-shot mode)
 * and restarts a crashed process with backoff; when processes keep crashing it stops them all and
 * exits non-zero, so the container is restarted. It consumes nothing itself.
 */

/** More crashes than this within the window end the run. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 5 * 60_000;
/** The primary's own metric, served on its /metrics beside the processes' aggregated ones. */
export const CRASHES_METRIC = 'collector_consumer_process_crashes_total';

export interface PrimaryOptions {
  readonly config: CollectorConfig;
  readonly logger: Logger;
  readonly processes: number;
  readonly onProgress?: (progress: readonly TopicProgress[]) => void;
}

interface Slot {
  readonly index: number;
  worker: Worker | null;
  report: WorkerReport | null;
  progress: readonly TopicProgress[];
  /** One-shot mode: the process reached its goals and exited 0. */
  finished: boolean;
  crashes: number[];
}

export class ClusterPrimary implements HealthSource {
  private readonly options: PrimaryOptions;
  private readonly slots: Slot[];
  private readonly http: HttpServer | null;
  private readonly aggregator = new AggregatorRegistry();
  /** The primary's own metrics, served after the processes' aggregated ones. */
  private readonly own = new Registry();
  private readonly crashes = new Counter({
    name: CRASHES_METRIC,
    help: 'Consumer processes that ended unexpectedly; each is restarted with backoff until more than 5 crash within 5 minutes, which stops the run.',
    registers: [this.own],
  });
  private stopping = false;
  private failed = false;
  private resolveDone: (code: number) => void = () => undefined;
  private readonly done: Promise<number>;
  private readonly restartTimers = new Set<NodeJS.Timeout>();

  constructor(options: PrimaryOptions) {
    this.options = options;
    this.slots = Array.from({ length: options.processes }, (_, index) => ({ index, worker: null, report: null, progress: [], finished: false, crashes: [] }));
    const { config } = options;
    const metrics = { contentType: this.aggregator.contentType, metrics: async () => `${await this.aggregator.clusterMetrics()}\n${await this.own.metrics()}` };
    this.http = isHttpEnabled(config) ? new HttpServer({ host: config.http.host, port: config.http.port }, this, metrics) : null;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  /** Starts HTTP and the processes; resolves with the exit code once every process is gone. */
  async run(): Promise<number> {
    const address = await this.http?.start();
    if (address !== undefined) this.options.logger.info({ event: 'http_listening', address }, 'HTTP server listening');
    const budget = this.options.config.flush.memoryBudgetBytes;
    const share = processBudget(budget, this.options.processes);
    const plan = memoryPlan(share);
    // Each process gets the heap limits of its share of the budget, not the launcher's whole-budget ones.
    const processHeapOptions = heapOptions(plan);
    cluster.setupPrimary({ execArgv: [...process.execArgv.filter((option) => !HEAP_SIZE_OPTION.test(option)), ...processHeapOptions] });
    this.options.logger.info({ event: 'workers_starting', processes: this.options.processes, memoryBudgetPerProcess: share, heapOptions: processHeapOptions.join(' ') }, 'starting consumer processes');
    for (const slot of this.slots) this.fork(slot);
    const code = await this.done;
    await this.http?.stop();
    return code;
  }

  /** Asks every process to drain, commit and leave; `run` resolves once they are gone. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    this.options.logger.info({ event: 'shutdown_started', reason }, 'stopping: every consumer process publishes, commits and leaves');
    const message: PrimaryMessage = { type: 'collector:stop', reason };
    for (const slot of this.slots) if (slot.worker?.isConnected()) slot.worker.send(message);
    this.settleIfAllGone();
  }

  /** Ends every process at once (second signal, shutdown deadline): what they had not committed is re-read. */
  kill(): void {
    for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
  }

  liveness(): HealthCheck {
    return combinedLiveness(this.reports(), this.options.processes, Date.now(), 3 * HEALTH_REPORT_INTERVAL_MS + this.options.config.http.maxLoopStallMs);
  }

  async readiness(): Promise<HealthCheck[]> {
    const own: WorkerReport = { index: -1, liveness: null, readiness: [{ name: 'not-stopping', ok: !this.stopping, detail: this.stopping ? 'the primary is stopping' : undefined }], reportedAtMs: Date.now() };
    return combinedReadiness([own, ...this.reports()], this.options.processes);
  }

  private reports(): WorkerReport[] {
    return this.slots.flatMap((slot) => (slot.worker !== null && slot.report !== null ? [slot.report] : slot.worker !== null ? [{ index: slot.index, liveness: null, readiness: [], reportedAtMs: Date.now() }] : []));
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ [WORKER_ENV.index]: String(slot.index), [WORKER_ENV.processes]: String(this.options.processes) });
    slot.worker = worker;
    slot.report = null;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'collector:health') slot.report = { index: slot.index, liveness: message.liveness, readiness: message.readiness, reportedAtMs: Date.now() };
      else {
        slot.progress = message.progress;
        this.options.onProgress?.(combinedProgress(this.slots.map((entry) => entry.progress)));
      }
    });
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.report = null;
    const { logger, config } = this.options;
    if (this.stopping) {
      if (code !== 0) this.failed = true;
      logger.info({ event: 'worker_stopped', worker: slot.index, code, signal }, 'consumer process stopped');
      this.settleIfAllGone();
      return;
    }
    if (config.mode === 'once' && code === 0) {
      slot.finished = true;
      logger.info({ event: 'worker_finished', worker: slot.index }, 'consumer process reached its goals');
      if (this.slots.every((entry) => entry.finished)) void this.finishOnce().then(() => this.resolveDone(this.failed ? 1 : 0));
      return;
    }
    this.crashes.inc();
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    const total = this.slots.reduce((sum, entry) => sum + entry.crashes.length, 0);
    if (total > MAX_CRASHES) {
      logger.fatal({ event: 'workers_crash_looping', worker: slot.index, code, signal, crashes: total, windowMs: CRASH_WINDOW_MS }, 'consumer processes keep crashing: stopping so the container is restarted');
      this.failed = true;
      this.stop('consumer processes keep crashing');
      return;
    }
    const delayMs = restartDelayMs(slot.crashes.length);
    logger.error({ event: 'worker_crashed', worker: slot.index, code, signal, restartInMs: delayMs }, 'consumer process ended unexpectedly: restarting it');
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopping) this.fork(slot);
    }, delayMs);
    this.restartTimers.add(timer);
  }

  /** One-shot mode, every process finished: with COMPACT_AFTER_ONCE, the closed days are compacted here (final-compaction.ts). */
  private async finishOnce(): Promise<void> {
    const { config, logger } = this.options;
    if (!config.lake.compaction.afterOnce) return;
    const { compactAfterOnce } = await import('./final-compaction');
    await compactAfterOnce(config, logger);
  }

  private settleIfAllGone(): void {
    if (this.stopping && this.slots.every((slot) => slot.worker === null)) this.resolveDone(this.failed ? 1 : 0);
  }
}
