/**
 * Runs the built collector as a child process through its launcher (bin/redpanda-parquet-collector,
 * which execs `node dist/main.js` with heap and malloc settings), the way cron, Docker and
 * Kubernetes run it: real signals, real exit codes, real log lines. Run `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './broker';
import { bootstrapServers, waitUntil } from './kafka';

export const LAUNCHER = path.join(repoRoot(), 'bin', 'redpanda-parquet-collector');
// From the repository, not __dirname: the chaos and bench runs compile the harness to .cache/.
const EMPTY_CONFIG = path.join(repoRoot(), 'test', 'harness', 'empty-config.json');

/** One JSON log line of the collector. */
export interface LogEvent {
  readonly level: number;
  readonly event?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const running = new Set<CliProcess>();

export class CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<CliExit>;
  private out = '';
  private err = '';

  constructor(args: readonly string[], env: Readonly<Record<string, string>>) {
    // A clean environment: only what the test sets, so nothing leaks in from the shell or Jest.
    // The working directory is empty, so no config/collector.json of the checkout is picked up.
    this.child = spawn(LAUNCHER, [...args], {
      cwd: mkdtempSync(path.join(os.tmpdir(), 'collector-cwd-')),
      env: { PATH: process.env.PATH ?? '', CONFIG_FILE: EMPTY_CONFIG, HTTP_HOST: '127.0.0.1', MAX_WORKERS: '1', COMPACTION_ENABLED: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.out += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.err += chunk));
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      });
    });
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Every complete JSON line of stdout, in order. */
  events(): LogEvent[] {
    return this.out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogEvent];
        } catch {
          return []; // a line still being written
        }
      });
  }

  eventsNamed(name: string): LogEvent[] {
    return this.events().filter((entry) => entry.event === name);
  }

  async waitForEvents(name: string, count: number, timeoutMs = 60_000): Promise<LogEvent[]> {
    await waitUntil(() => this.eventsNamed(name).length >= count || this.child.exitCode !== null, { timeoutMs, what: `${count} ${name} log events` });
    const found = this.eventsNamed(name);
    if (found.length < count) throw new Error(`the collector exited (${this.child.exitCode}) before logging ${count} ${name} events:\n${this.out}\n${this.err}`);
    return found;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Starts the collector; stop it with signal() or let it exit. */
export function startCli(args: readonly string[], env: Readonly<Record<string, string>>): CliProcess {
  return new CliProcess(args, env);
}

/** The daemon (or, with RUN_MODE=once, a one-shot run) on the harness's broker, with info logs. */
export function startCollector(env: Readonly<Record<string, string>>): CliProcess {
  return startCli([], { BOOTSTRAP_SERVERS: bootstrapServers(), HTTP_PORT: '0', LOG_LEVEL: 'info', ...env });
}

export interface CliResult extends CliExit {
  readonly stdout: string;
  readonly stderr: string;
  readonly events: LogEvent[];
  readonly durationMs: number;
}

/** Runs the collector to its exit; kills it (SIGKILL) after timeoutMs. */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string>>, timeoutMs = 60_000): Promise<CliResult> {
  const started = Date.now();
  const cli = startCli(args, env);
  const timer = setTimeout(() => cli.signal('SIGKILL'), timeoutMs);
  try {
    const exit = await cli.exited;
    return { ...exit, stdout: cli.stdout, stderr: cli.stderr, events: cli.events(), durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** For afterEach: kills the collectors a failed test left running (only those this file started). */
export async function killRunningCollectors(): Promise<void> {
  const left = [...running];
  for (const cli of left) cli.signal('SIGKILL');
  await Promise.all(left.map((cli) => cli.exited));
}
