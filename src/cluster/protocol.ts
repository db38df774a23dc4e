import type { HealthCheck } from '../http/server';
import type { TopicProgress } from '../pipeline/events';

/**
 * Messages between the primary and its consumer processes over the cluster IPC channel (which
 * prom-client's metric aggregation shares: every message here has a `collector:` type).
 */

export type WorkerMessage =
  | { readonly type: 'collector:health'; readonly liveness: HealthCheck; readonly readiness: HealthCheck[] }
  | { readonly type: 'collector:progress'; readonly progress: TopicProgress[] };

export type PrimaryMessage = { readonly type: 'collector:stop'; readonly reason: string };

/** How often each consumer process reports its health to the primary. */
export const HEALTH_REPORT_INTERVAL_MS = 1000;

/** Set by the primary for its consumer processes: their number and their index (0-based). */
export const WORKER_ENV = { index: 'COLLECTOR_WORKER_INDEX', processes: 'COLLECTOR_WORKER_PROCESSES' } as const;

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  if (typeof message !== 'object' || message === null) return false;
  const type = (message as { type?: unknown }).type;
  return type === 'collector:health' || type === 'collector:progress';
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'collector:stop';
}
