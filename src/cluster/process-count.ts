import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * How many consumer processes and encoder threads `auto` means: the cores this process may use.
 * os.availableParallelism() follows the CPU affinity mask but not a cgroup CPU quota (a container's
 * `--cpus`, a Kubernetes CPU limit), which cgroup v2 states in /sys/fs/cgroup/cpu.max.
 */

const CGROUP_CPU_MAX = '/sys/fs/cgroup/cpu.max';

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

/** Consumer processes: the configured count, or the available cores for auto. */
export function consumerProcesses(configured: number | 'auto', cores: number): number {
  return configured === 'auto' ? Math.max(1, cores) : configured;
}

/** Encoder threads per process: the configured count, or the cores left to each process for auto (at least 1). */
export function encoderThreads(configured: number | 'auto', cores: number, processes: number): number {
  return configured === 'auto' ? Math.max(1, Math.round(cores / processes)) : configured;
}
