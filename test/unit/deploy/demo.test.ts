/**
 * `npm run demo` is wired up and its parts compile against the current harness and collector.
 * (Running it takes a broker and half a minute: run `npm run demo` itself for that.)
 */
import { spawnSync } from 'node:child_process';
import { readRepoFile, repoPath } from './artefacts';

describe('npm run demo', () => {
  it('runs scripts/demo.sh', () => {
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toBe('bash scripts/demo.sh');
  });

  it('is valid bash that starts from setup and stops the broker on exit', () => {
    const syntax = spawnSync('bash', ['-n', repoPath('scripts', 'demo.sh')], { encoding: 'utf8' });
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);
    const script = readRepoFile('scripts', 'demo.sh');
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toMatch(/bash scripts\/setup\.sh/);
    expect(script).toMatch(/^trap cleanup EXIT$/m);
    expect(script).toMatch(/bin\/redpanda-parquet-collector --once/);
  });

  it('uses the broker named by BOOTSTRAP_SERVERS, as the collector does, or KAFKA_BOOTSTRAP_SERVERS', () => {
    const script = readRepoFile('scripts', 'demo.sh');
    const condition = /^if \[\[ (.*) \]\]; then$\n^  bootstrap=(.*)$/m.exec(script);
    expect(condition).not.toBeNull();
    const [, test, value] = condition as RegExpExecArray;
    const chosen = (env: Record<string, string>): string =>
      spawnSync('bash', ['-c', `if [[ ${test} ]]; then echo ${value}; else echo start; fi`], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }).stdout.trim();
    expect(chosen({ BOOTSTRAP_SERVERS: 'a:1' })).toBe('a:1');
    expect(chosen({ KAFKA_BOOTSTRAP_SERVERS: 'b:2' })).toBe('b:2');
    expect(chosen({ BOOTSTRAP_SERVERS: 'a:1', KAFKA_BOOTSTRAP_SERVERS: 'b:2' })).toBe('a:1');
    expect(chosen({})).toBe('start');
  });

  it('has helpers that type-check against the harness they import', () => {
    const tsc = spawnSync(process.execPath, [repoPath('node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', repoPath('scripts', 'demo', 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 150_000);
});
