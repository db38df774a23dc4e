/**
 * Runs one command as a child process and measures it the same way for kcat, the bare Node
 * consumer and the collector:
 *
 * - wall time: hrtime from spawn to exit, in this process (startup and group join included, for
 *   all three alike);
 * - CPU time and peak RSS: GNU time (`/usr/bin/time -f '%e %U %S %M'`). It reads the rusage that
 *   wait4() returns for the child, so every thread of the child counts (librdkafka's threads,
 *   Node's worker threads and libuv pool, the GC threads) and nothing of this process does. %M is
 *   the child's ru_maxrss, its peak resident set, in KiB;
 * - RSS over time: VmRSS of the measured process from /proc, sampled every 200 ms (GNU time's
 *   child); only for the record, the peak comes from %M.
 *
 * Reading /proc/<pid>/stat of a child just before it exits is racy, and `bash -c time` gives no
 * RSS; wait4's rusage is exact and costs nothing while the child runs.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';
const SAMPLE_EVERY_MS = 200;

export interface Measured {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly cpuS: number;
  readonly peakRssBytes: number;
  /** [seconds since start, VmRSS bytes] */
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
}

export async function runMeasured(command: string, args: readonly string[], options: RunOptions): Promise<Measured> {
  const stdoutFile = path.join(options.logDir, `${options.name}.stdout`);
  const stderrFile = path.join(options.logDir, `${options.name}.stderr`);
  const timeFile = path.join(options.logDir, `${options.name}.time`);
  const out = openSync(stdoutFile, 'w');
  const err = openSync(stderrFile, 'w');
  const stderrLines: Array<[number, string]> = [];
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
  const sampler = setInterval(() => {
    if (timePid === undefined) return;
    const rss = sampleRss(timePid);
    if (rss !== null) rssSamples.push([Number(process.hrtime.bigint() - started) / 1e9, rss]);
  }, SAMPLE_EVERY_MS);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    if (timePid === undefined) return;
    // The measured command first (GNU time's child), then GNU time itself.
    for (const pid of [...childrenOf(timePid), timePid]) {
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
  return {
    command: commandLine,
    exitCode: code,
    signal,
    wallS,
    userS: usage.userS,
    sysS: usage.sysS,
    cpuS: usage.userS + usage.sysS,
    peakRssBytes: usage.maxRssKiB * 1024,
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

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** VmRSS of GNU time's child (the measured command), or null when it is not running. */
function sampleRss(timePid: number): number | null {
  try {
    const children = childrenOf(timePid);
    if (children.length === 0) return null;
    const status = readFileSync(`/proc/${children[0]}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
