import type { HealthCheck } from '../http/server';
import type { TopicProgress } from '../pipeline/events';

/** What the primary last heard from one consumer process. */
export interface WorkerReport {
  readonly index: number;
  /** Null until the process reported once (it is still starting). */
  readonly liveness: HealthCheck | null;
  readonly readiness: readonly HealthCheck[];
  readonly reportedAtMs: number;
}

/**
 * Liveness of the whole: every process alive and reporting. A process whose liveness fails exits
 * by itself (and is restarted); one that stops reporting has a blocked event loop.
 */
export function combinedLiveness(reports: readonly WorkerReport[], expected: number, nowMs: number, maxSilenceMs: number): HealthCheck {
  const failing: string[] = [];
  for (const report of reports) {
    if (report.liveness !== null && !report.liveness.ok) failing.push(`worker ${report.index}: ${report.liveness.detail ?? 'failing'}`);
    else if (nowMs - report.reportedAtMs > maxSilenceMs) failing.push(`worker ${report.index}: no report for ${nowMs - report.reportedAtMs} ms`);
  }
  if (failing.length > 0) return { name: 'consume-loop', ok: false, detail: failing.join('; ') };
  const starting = reports.length < expected || reports.some((report) => report.liveness === null);
  return { name: 'consume-loop', ok: true, detail: starting ? 'starting' : undefined };
}

/** Readiness of the whole: each check passes in every process, and every process is up (a report with a negative index is the primary's own, not a process). */
export function combinedReadiness(reports: readonly WorkerReport[], expected: number): HealthCheck[] {
  const checks = new Map<string, { ok: boolean; details: string[] }>();
  for (const report of reports) {
    for (const check of report.readiness) {
      const entry = checks.get(check.name) ?? { ok: true, details: [] };
      if (!check.ok) {
        entry.ok = false;
        entry.details.push(report.index < 0 ? (check.detail ?? 'failing') : `worker ${report.index}${check.detail === undefined ? '' : `: ${check.detail}`}`);
      }
      checks.set(check.name, entry);
    }
  }
  const up = reports.filter((report) => report.index >= 0 && report.liveness !== null).length;
  return [
    { name: 'workers-up', ok: up >= expected, detail: up >= expected ? undefined : `${up} of ${expected} consumer processes up` },
    ...[...checks].map(([name, { ok, details }]) => ({ name, ok, detail: details.length > 0 ? details.join('; ') : undefined })),
  ];
}

/** One progress view over all processes: per topic, the sums of what each process has done and has to do. */
export function combinedProgress(perWorker: Iterable<readonly TopicProgress[]>): TopicProgress[] {
  const totals = new Map<string, { done: number; total: number }>();
  for (const progress of perWorker) {
    for (const { topic, done, total } of progress) {
      const entry = totals.get(topic) ?? { done: 0, total: 0 };
      entry.done += done;
      entry.total += total;
      totals.set(topic, entry);
    }
  }
  return [...totals].map(([topic, { done, total }]) => ({ topic, done, total }));
}

/** Restart delays of a crashed process: 1 s doubling to 30 s with the crashes of the last window. */
export function restartDelayMs(recentCrashes: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, recentCrashes - 1));
}
