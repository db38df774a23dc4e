import { AggregatorRegistry, type Registry } from 'prom-client';
import type { HealthSource } from '../http/server';
import type { TopicProgress } from '../pipeline/events';
import { HEALTH_REPORT_INTERVAL_MS, isPrimaryMessage, type WorkerMessage } from './protocol';

/**
 * A consumer process's side of the channel to its primary: health reports every second, one-shot
 * progress, its metrics for the primary's aggregation, the stop request, and the primary's
 * disappearance.
 */
export class WorkerLink {
  private timer: NodeJS.Timeout | null = null;

  constructor(registry: Registry) {
    AggregatorRegistry.setRegistries([registry]);
    // prom-client answers the primary's metrics requests only once an AggregatorRegistry exists in
    // this process: its constructor installs the listener.
    new AggregatorRegistry();
  }

  /** Calls `stop` once when the primary asks, and `orphaned` when the primary is gone. */
  onStop(stop: (reason: string) => void, orphaned: () => void): void {
    let stopped = false;
    process.on('message', (message: unknown) => {
      if (!isPrimaryMessage(message) || stopped) return;
      stopped = true;
      stop(message.reason);
    });
    process.on('disconnect', orphaned);
    // A primary killed while this process was still starting closed the channel before anyone
    // listened: 'disconnect' is not emitted again, and the process would live on without a primary.
    if (!process.connected) orphaned();
  }

  reportHealth(health: HealthSource): void {
    const report = async (): Promise<void> => {
      this.send({ type: 'collector:health', liveness: health.liveness(), readiness: await health.readiness() });
    };
    void report();
    this.timer = setInterval(() => void report(), HEALTH_REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  reportProgress(progress: readonly TopicProgress[]): void {
    this.send({ type: 'collector:progress', progress: [...progress] });
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private send(message: WorkerMessage): void {
    if (process.connected) process.send?.(message);
  }
}
