import { processBudget } from '../config/memory-plan';
import type { CollectorConfig } from '../config/schema';
import { autoProcesses, containerMemoryLimit } from './process-count';
import { WORKER_ENV } from './protocol';

/**
 * How many consumer processes this run uses, and why (the start-up log says it). A one-shot run
 * with MAX_MESSAGES uses one: the cap is per topic, and processes sharing a topic's partitions
 * could not keep to it between them.
 */
export function chooseProcesses(config: CollectorConfig, cores: number, memoryLimitBytes: number | null = containerMemoryLimit()): { processes: number; why: string } {
  if (config.mode === 'once' && config.once.maxMessages !== null) return { processes: 1, why: 'one consumer process: a one-shot run with MAX_MESSAGES' };
  const configured = config.workers.processes;
  if (configured !== 'auto') return { processes: configured, why: `MAX_WORKERS=${configured}` };
  const { processes, why } = autoProcesses(cores, config.flush.memoryBudgetBytes, memoryLimitBytes);
  return { processes, why };
}

export function processesFor(config: CollectorConfig, cores: number, memoryLimitBytes: number | null = containerMemoryLimit()): number {
  return chooseProcesses(config, cores, memoryLimitBytes).processes;
}

/** What this process is: the only one, the primary of several consumer processes, or one of them. */
export type ProcessRole =
  | { readonly kind: 'single' }
  | { readonly kind: 'primary'; readonly processes: number }
  | { readonly kind: 'worker'; readonly index: number; readonly processes: number };

export function processRole(isClusterWorker: boolean, processes: number, env: NodeJS.ProcessEnv): ProcessRole {
  if (isClusterWorker) {
    return { kind: 'worker', index: Number(env[WORKER_ENV.index] ?? '0'), processes: Number(env[WORKER_ENV.processes] ?? String(processes)) };
  }
  return processes > 1 ? { kind: 'primary', processes } : { kind: 'single' };
}

/**
 * A consumer process's configuration: no HTTP (the primary serves it), its share of the memory
 * budget, the primary's process count in place of auto (so that what it derives from the count,
 * its encoder threads, follows the primary's choice and not its own share), no compaction at the
 * end of a one-shot run (the primary's, once every process has finished: final-compaction.ts), and
 * a static group member id of its own when the user set one (two members sharing one would fence
 * each other out).
 */
export function workerConfig(config: CollectorConfig, role: { readonly index: number; readonly processes: number }): CollectorConfig {
  const properties = config.kafka.properties.map(([name, value]): [string, string | number | boolean] =>
    name === 'group.instance.id' ? [name, `${String(value)}-w${role.index}`] : [name, value],
  );
  return {
    ...config,
    http: { ...config.http, enabled: false },
    flush: { ...config.flush, memoryBudgetBytes: processBudget(config.flush.memoryBudgetBytes, role.processes) },
    workers: { ...config.workers, processes: role.processes },
    lake: { ...config.lake, compaction: { ...config.lake.compaction, afterOnce: false } },
    kafka: { ...config.kafka, properties },
  };
}
