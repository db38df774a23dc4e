/**
 * Runs one command as a child process and measures it the same way for kcat, the bare Node
 * consumer and the collector:
 *
 * - wall time: hrtime from spawn to exit, in this process (startup and group join included, for
 *   all alike);
 * - CPU time: GNU time (`/usr/bin/time -f '%e %U %S %M'`). It reads the rusage that wait4() returns
 *   for the child, so every thread of the child counts (librdkafka's threads, Node's worker threads
 *   and libuv pool, the GC threads) and so does every descendant that was waited for (a primary
 *   that reaps its workers), and nothing of this process does. wait4's rusage is exact where
 *   sampling /proc just before an exit is racy. A descendant nobody waited for escapes it, so the
 *   tree is sampled as well (below): the larger of the two figures is reported, and both are kept;
 * - peak RSS: the resident sets of the measured command and all its descendants, summed, sampled
 *   from /proc every 100 ms (process-tree.ts). %M (ru_maxrss) is only the largest single process's
 *   peak: with worker processes it understates the tree, and it stays in the record as a floor;
 * - the broker's CPU time during the run, when its pid is given: /proc/<pid>/stat before and after
 *   (the broker shares the machine's cores with the consumer being measured).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { descendantsOf, sampleProcess, sampleTree, TreeRecorder } from './process-tree';

export const GNU_TIME = '/usr/bin/time';
const SAMPLE_EVERY_MS = 100;
/** Tree CPU seen in /proc above GNU time's by more than this: some descendant was not waited for. */
const UNREAPED_CPU_TOLERANCE_S = 0.05;

export interface Measured {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly wallS: number;
  /** GNU time's user and system seconds (the child and the descendants it waited for). */
  readonly userS: number;
  readonly sysS: number;
  /** CPU seconds of the process tree: GNU time's, or the /proc samples' when those saw more. */
  readonly cpuS: number;
  /** Sum over every process of the tree of its last sampled own utime + stime: a lower bound. */
  readonly treeCpuLowerBoundS: number;
  /** True when the /proc samples saw more CPU than GNU time: a descendant was not waited for. */
  readonly unreapedCpu: boolean;
  /** Peak of the tree's summed RSS (and never below GNU time's single-process %M). */
  readonly peakRssBytes: number;
  /** GNU time's %M: the largest single process's peak RSS. */
  readonly maxSingleRssBytes: number;
  /** The processes of the tree most samples saw alive at once, and how many there were in all. */
  readonly processes: number;
  readonly distinctProcesses: number;
  /** CPU seconds the watched process (the broker) used from spawn to exit; null when none is watched. */
  readonly watchedCpuS: number | null;
  /** [seconds since start, RSS bytes summed over the tree] */
  readonly rssSamples: Array<[number, number]>;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  /** Wall clock (epoch ms) at spawn and at exit, to place the child's own timestamps. */
  readonly spawnEpochMs: number;
  readonly exitEpochMs: number;
  /** With `timestampStderr`: each stderr line with the epoch ms it arrived at. */
  readonly stderrLines: Array<[number, string]>;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Directory for `<name>.stdout`, `<name>.stderr` and `<name>.time`. */
  readonly logDir: string;
  readonly name: string;
  /** Killed (the command, then GNU time) after this long. */
  readonly timeoutMs: number;
  /** Pipe stderr through this process and note when each line arrives (for kcat's rebalance line). */
  readonly timestampStderr?: boolean;
  /** A process outside the tree whose CPU time over the run is wanted too (the broker). */
  readonly watchPid?: number;
}

export async function runMeasured(command: string, args: readonly string[], options: RunOptions): Promise<Measured> {
  const stdoutFile = path.join(options.logDir, `${options.name}.stdout`);
  const stderrFile = path.join(options.logDir, `${options.name}.stderr`);
  const timeFile = path.join(options.logDir, `${options.name}.time`);
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  const stderrLines: Array<[number, string]> = [];
  const watchedBefore = options.watchPid === undefined ? null : sampleProcess(options.watchPid);
  const spawnEpochMs = Date.now();
  const started = process.hrtime.bigint();
  let child;
  try {
    child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', out, options.timestampStderr === true ? 'pipe' : err],
      // Same process group as the bench: Ctrl-C in a terminal reaches the measured command too.
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const now = Date.now();
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) stderrLines.push([now, line]);
  });
  const stderrDone = child.stderr === null ? Promise.resolve() : new Promise<void>((resolve) => child.stderr?.once('close', () => resolve()));
  const timePid = child.pid;
  const rssSamples: Array<[number, number]> = [];
  const tree = new TreeRecorder();
  // GNU time itself (a few hundred KiB, no CPU to speak of) is not part of the measured tree.
  const sampler = setInterval(() => {
    if (timePid === undefined) return;
    const sample = sampleTree(descendantsOf(timePid));
    if (sample.processes.length === 0) return;
    tree.add(sample);
    rssSamples.push([Number(process.hrtime.bigint() - started) / 1e9, sample.rssBytes]);
  }, SAMPLE_EVERY_MS);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    if (timePid === undefined) return;
    // The measured command first (GNU time's child), then GNU time itself.
    for (const pid of [...descendantsOf(timePid).reverse(), timePid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }, options.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const exitEpochMs = Date.now();
  const watchedAfter = options.watchPid === undefined ? null : sampleProcess(options.watchPid);
  await stderrDone;
  if (pending !== '') stderrLines.push([exitEpochMs, pending]);
  if (options.timestampStderr === true) {
    writeFileSync(stderrFile, stderrLines.map(([at, line]) => `[+${((at - spawnEpochMs) / 1000).toFixed(3)}s] ${line}\n`).join(''));
  }
  clearInterval(sampler);
  clearTimeout(killer);
  const commandLine = [command, ...args].join(' ');
  if (timedOut) throw new Error(`${options.name}: timed out after ${options.timeoutMs} ms: ${commandLine} (logs in ${options.logDir})`);
  const usage = parseTimeFile(timeFile);
  const gnuCpuS = usage.userS + usage.sysS;
  const unreapedCpu = tree.cpuLowerBoundS > gnuCpuS + UNREAPED_CPU_TOLERANCE_S;
  return {
    command: commandLine,
    exitCode: code,
    signal,
    wallS,
    userS: usage.userS,
    sysS: usage.sysS,
    cpuS: unreapedCpu ? tree.cpuLowerBoundS : gnuCpuS,
    treeCpuLowerBoundS: tree.cpuLowerBoundS,
    unreapedCpu,
    peakRssBytes: Math.max(tree.peakRssBytes, usage.maxRssKiB * 1024),
    maxSingleRssBytes: usage.maxRssKiB * 1024,
    processes: tree.processes,
    distinctProcesses: tree.distinctProcesses,
    watchedCpuS: watchedBefore === null || watchedAfter === null ? null : watchedAfter.cpuS - watchedBefore.cpuS,
    rssSamples,
    stdoutFile,
    stderrFile,
    spawnEpochMs,
    exitEpochMs,
    stderrLines,
  };
}

/** The last line is ours (`%e %U %S %M`); GNU time puts "Command exited with non-zero status" before it. */
function parseTimeFile(file: string): { userS: number; sysS: number; maxRssKiB: number } {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
  const fields = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(Number);
  if (fields.length !== 4 || fields.some((value) => !Number.isFinite(value))) {
    throw new Error(`cannot parse GNU time output in ${file}: ${lines.join(' | ')}`);
  }
  return { userS: fields[1], sysS: fields[2], maxRssKiB: fields[3] };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
