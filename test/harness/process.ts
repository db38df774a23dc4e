/** Runs the built collector CLI (dist/main.js) as a child process, the way users and containers do. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './broker';
import { bootstrapServers } from './kafka';

export const CLI = path.join(repoRoot(), 'dist', 'main.js');

export interface CollectorProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout so far (JSON log lines). */
  output(): string;
  /** Resolves with the exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCollector(env: Readonly<Record<string, string>>, args: readonly string[] = []): CollectorProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', BOOTSTRAP_SERVERS: bootstrapServers(), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info', MAX_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => stdout, exited };
}
