/**
 * WorkerLink in a real child process with a real IPC channel: the primary's disappearance is
 * noticed whether it happens after the link listens or before.
 */
import { fork } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suiteBuildDir, transpileSources } from '../../harness/transpile';

const BUILD = suiteBuildDir('worker-link-test');
const ORPHANED_EXIT = 7;

/** The link and its protocol, transpiled for a child process (see harness/transpile.ts), and a child that uses them. */
function compileLink(): void {
  transpileSources(BUILD, ['cluster/worker-link.ts', 'cluster/protocol.ts']);
  // A consumer process stand-in: it starts the link when told to (after `delayMs`), exits
  // ORPHANED_EXIT when the link says the primary is gone, and otherwise stays alive.
  writeFileSync(
    path.join(BUILD, 'cluster', 'child.js'),
    [
      "const { Registry } = require('prom-client');",
      "const { WorkerLink } = require('./worker-link.js');",
      'setInterval(() => undefined, 1000);',
      "process.once('message', ({ delayMs }) => setTimeout(() => {",
      `  new WorkerLink(new Registry()).onStop(() => undefined, () => process.exit(${ORPHANED_EXIT}));`,
      "  if (process.connected) process.send('listening');",
      '}, delayMs));',
    ].join('\n'),
  );
}

/** Exit code of the child, or 'alive' when it still runs after `withinMs`. */
async function exitOf(child: ReturnType<typeof fork>, withinMs: number): Promise<number | null | 'alive'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('alive');
    }, withinMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('WorkerLink: the primary gone', () => {
  beforeAll(compileLink);
  afterAll(() => rmSync(BUILD, { recursive: true, force: true }));

  it('exits when the channel closes while the link listens', async () => {
    const child = fork(path.join(BUILD, 'cluster', 'child.js'), { stdio: 'ignore' });
    child.send({ delayMs: 0 });
    await new Promise((resolve) => child.once('message', resolve));
    child.disconnect();
    expect(await exitOf(child, 10_000)).toBe(ORPHANED_EXIT);
  });

  it('exits when the channel closed before the link was made (a primary killed during a restart)', async () => {
    const child = fork(path.join(BUILD, 'cluster', 'child.js'), { stdio: 'ignore' });
    child.send({ delayMs: 500 });
    child.disconnect();
    expect(await exitOf(child, 10_000)).toBe(ORPHANED_EXIT);
  });
});
