/**
 * A process and its descendants as /proc shows them: resident memory summed over the tree, and the
 * CPU time each process used, for commands that fork workers (the collector with MAX_WORKERS > 1,
 * the bare consumer group). GNU time's %M is the largest single process's peak, not the tree's,
 * and its %U/%S cover only children their parents waited for: the tree sampler checks both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcessSample {
  readonly pid: number;
  readonly rssBytes: number;
  /** utime + stime of the process itself (all its threads), seconds; children not included. */
  readonly cpuS: number;
}

export interface TreeSample {
  readonly rssBytes: number;
  readonly processes: readonly ProcessSample[];
}

const PAGE_BYTES = pageSize();
const CLOCK_TICKS_PER_S = clockTicks();

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces and parentheses. */
export function parseStat(stat: string): { utimeTicks: number; stimeTicks: number; rssPages: number } | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // After ")": field 3 (state) is index 0, so field n is index n - 3.
  const fields = stat.slice(close + 2).split(' ');
  const utimeTicks = Number(fields[14 - 3]);
  const stimeTicks = Number(fields[15 - 3]);
  const rssPages = Number(fields[24 - 3]);
  if (![utimeTicks, stimeTicks, rssPages].every(Number.isFinite)) return null;
  return { utimeTicks, stimeTicks, rssPages };
}

/** One process's RSS and own CPU seconds, or null once it is gone. */
export function sampleProcess(pid: number): ProcessSample | null {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (stat === null) return null;
    return { pid, rssBytes: stat.rssPages * PAGE_BYTES, cpuS: (stat.utimeTicks + stat.stimeTicks) / CLOCK_TICKS_PER_S };
  } catch {
    return null;
  }
}

/** Direct children of every thread of `pid`: a child forked from a thread other than the main one is listed under that thread. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = new Set<number>();
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) {
        if (child !== '') children.add(Number(child));
      }
    } catch {
      // The thread ended meanwhile.
    }
  }
  return [...children];
}

/** `root`'s descendants, not `root` itself, in breadth-first order. */
export function descendantsOf(root: number): number[] {
  const found: number[] = [];
  for (let queue = childrenOf(root); queue.length > 0; ) {
    const pid = queue.shift() as number;
    found.push(pid);
    queue = queue.concat(childrenOf(pid));
  }
  return found;
}

export function sampleTree(pids: readonly number[]): TreeSample {
  const processes = pids.map(sampleProcess).filter((sample): sample is ProcessSample => sample !== null);
  return { rssBytes: processes.reduce((sum, sample) => sum + sample.rssBytes, 0), processes };
}

/**
 * Accumulates tree samples: the peak of the summed RSS, and for every process ever seen its last
 * CPU reading. The sum of those is a lower bound of the tree's CPU time (a process's last moments
 * after the final sample are missed), exact enough to tell whether GNU time saw every child.
 */
export class TreeRecorder {
  private peak = 0;
  /** How many samples saw each tree size. */
  private readonly sizes = new Map<number, number>();
  private readonly lastCpu = new Map<number, number>();

  add(sample: TreeSample): void {
    this.peak = Math.max(this.peak, sample.rssBytes);
    this.sizes.set(sample.processes.length, (this.sizes.get(sample.processes.length) ?? 0) + 1);
    for (const process of sample.processes) this.lastCpu.set(process.pid, process.cpuS);
  }

  get peakRssBytes(): number {
    return this.peak;
  }

  /**
   * The tree's usual size: the count most samples saw (the larger on a tie). Not the maximum: a
   * launcher's `$(...)` subshell and helper live for a moment at startup.
   */
  get processes(): number {
    return steadyCount(this.sizes);
  }

  get distinctProcesses(): number {
    return this.lastCpu.size;
  }

  get cpuLowerBoundS(): number {
    return [...this.lastCpu.values()].reduce((sum, value) => sum + value, 0);
  }
}

export function steadyCount(sizes: ReadonlyMap<number, number>): number {
  let best = 0;
  let bestSeen = 0;
  for (const [size, seen] of sizes) {
    if (seen > bestSeen || (seen === bestSeen && size > best)) [best, bestSeen] = [size, seen];
  }
  return best;
}

function pageSize(): number {
  return numberFromGetconf('PAGESIZE', 4096);
}

function clockTicks(): number {
  return numberFromGetconf('CLK_TCK', 100);
}

function numberFromGetconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isSafeInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** The first process whose command line (arguments joined by spaces) contains `needle`, or undefined. */
export function findProcess(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) return Number(entry);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return undefined;
}
