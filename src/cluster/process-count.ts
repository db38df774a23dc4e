import { readFileSync } from 'node:fs';
import os from 'node:os';
import { MIN_PROCESS_SHARE_BYTES, expectedPeakBytes, processesWithin } from '../config/memory-plan';

/**
 * How many consumer processes and encoder threads `auto` means: the cores this process may use,
 * within what the memory budget and the container's memory allow.
 * os.availableParallelism() follows the CPU affinity mask but not a cgroup CPU quota (a container's
 * `--cpus`, a Kubernetes CPU limit), which cgroup v2 states in /sys/fs/cgroup/cpu.max; its memory
 * limit is in /sys/fs/cgroup/memory.max.
 */

const CGROUP_CPU_MAX = '/sys/fs/cgroup/cpu.max';
const CGROUP_MEMORY_MAX = '/sys/fs/cgroup/memory.max';
const MIB = 1024 * 1024;

/** Cores a cgroup v2 `cpu.max` line allows ("max 100000": no limit), rounded up; null when unlimited or unreadable. */
export function coresFromCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  const quotaMicros = Number(quota);
  const periodMicros = Number(period);
  if (quota === 'max' || !Number.isFinite(quotaMicros) || !Number.isFinite(periodMicros) || quotaMicros <= 0 || periodMicros <= 0) return null;
  return Math.max(1, Math.ceil(quotaMicros / periodMicros));
}

export function availableCores(): number {
  let quota: number | null = null;
  try {
    quota = coresFromCpuMax(readFileSync(CGROUP_CPU_MAX, 'utf8'));
  } catch {
    quota = null;
  }
  const cores = os.availableParallelism();
  return quota === null ? cores : Math.min(cores, quota);
}

/** Bytes a cgroup v2 `memory.max` line allows; null when unlimited ("max") or unreadable. */
export function bytesFromMemoryMax(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) && Number(trimmed) > 0 ? Number(trimmed) : null;
}

/** The container's memory limit (cgroup v2), or null when there is none or it cannot be read. */
export function containerMemoryLimit(): number | null {
  try {
    return bytesFromMemoryMax(readFileSync(CGROUP_MEMORY_MAX, 'utf8'));
  } catch {
    return null;
  }
}

/** What MAX_WORKERS=auto chose, and what bounded it, for the start-up log. */
export interface ProcessChoice {
  readonly processes: number;
  /** cores, memory-budget or container-memory: the smallest of the three bounds. */
  readonly boundBy: 'cores' | 'memory-budget' | 'container-memory';
  readonly why: string;
}

/**
 * MAX_WORKERS=auto: one consumer process per available core, but never so many that a process's
 * share of MEMORY_BUDGET_BYTES falls below MIN_PROCESS_SHARE_BYTES (tiny files), and never more
 * than the container's memory limit holds with each process's runtime (memory-plan.ts).
 */
export function autoProcesses(cores: number, budgetBytes: number, memoryLimitBytes: number | null): ProcessChoice {
  const byCores = Math.max(1, cores);
  const byBudget = Math.max(1, Math.floor(budgetBytes / MIN_PROCESS_SHARE_BYTES));
  const byMemory = memoryLimitBytes === null ? Infinity : processesWithin(memoryLimitBytes, budgetBytes);
  const processes = Math.min(byCores, byBudget, byMemory);
  const mib = (bytes: number): string => `${Math.round(bytes / MIB)} MiB`;
  const bounds = [
    `${byCores} available core${byCores === 1 ? '' : 's'}`,
    `MEMORY_BUDGET_BYTES ${mib(budgetBytes)} holds ${byBudget} share${byBudget === 1 ? '' : 's'} of at least ${mib(MIN_PROCESS_SHARE_BYTES)}`,
    memoryLimitBytes === null
      ? 'no container memory limit found'
      : `the container's ${mib(memoryLimitBytes)} hold ${byMemory} (budget + runtime: ${mib(expectedPeakBytes(budgetBytes, byMemory))})`,
  ];
  const boundBy = processes === byCores ? 'cores' : processes === byBudget ? 'memory-budget' : 'container-memory';
  return { processes, boundBy, why: `MAX_WORKERS=auto: ${processes} consumer process${processes === 1 ? '' : 'es'}, the least of: ${bounds.join('; ')}` };
}

/** Encoder threads per process: the configured count, or the cores left to each process for auto (at least 1). */
export function encoderThreads(configured: number | 'auto', cores: number, processes: number): number {
  return configured === 'auto' ? Math.max(1, Math.round(cores / processes)) : configured;
}
