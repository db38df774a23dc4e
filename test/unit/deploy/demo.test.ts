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

  it('has helpers that type-check against the harness they import', () => {
    const tsc = spawnSync(process.execPath, [repoPath('node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', repoPath('scripts', 'demo', 'tsconfig.json')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 150_000);
});
