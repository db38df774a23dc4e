/**
 * Every environment variable, metric and source path that README.md, CHANGELOG.md and docs/ name
 * exists: variables in the repository's code, scripts or deployment files, metrics in the
 * collector's registry (or the primary's), paths on disk.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CRASHES_METRIC } from '../../../src/cluster/primary';
import { exportedSeries, readRepoFile, repoPath, REPO } from './artefacts';

const documents = ['README.md', 'CHANGELOG.md', ...readdirSync(repoPath('docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** Every tracked file that is not Markdown, concatenated: where a variable must be read or set. */
const code = spawnSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' })
  .stdout.split('\0')
  .filter((file) => file !== '' && !file.endsWith('.md') && existsSync(repoPath(file)) && !file.endsWith('package-lock.json'))
  .map((file) => readFileSync(repoPath(file), 'utf8'))
  .join('\n');

function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]);
}

/** Upper-case names with an underscore, alone in backticks or assigned in examples (`NAME=value`). */
export function variableNames(text: string): string[] {
  const alone = backticked(text).filter((token) => /^[A-Z][A-Z0-9]*(_[A-Z0-9]*)+$/.test(token));
  const assigned = [...text.matchAll(/(?<![A-Za-z0-9_$])([A-Z][A-Z0-9]*(?:_[A-Z0-9]*)+)=/g)].map((match) => match[1]);
  return [...new Set([...alone, ...assigned])];
}

export function metricNames(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<![\w.])((?:collector|process|nodejs)_[a-z0-9_]*[a-z0-9])(?![\w*])/g)].map((match) => match[1]))];
}

export function sourcePaths(text: string): string[] {
  const pattern = /^(src|test|scripts|config|bin|docs)\/[\w./*-]*$/;
  const tokens = backticked(text).flatMap((token) => token.split(/\s+/)).map((token) => token.replace(/[,:;)]+$/, ''));
  return [...new Set(tokens.filter((token) => pattern.test(token)))];
}

/** Paths the collector reads at run time when a user creates them, not files of the repository. */
const USER_FILES = new Set(['config/collector.json']);

/** A path with a glob exists when the folder before its first `*` does. */
function pathExists(name: string): boolean {
  if (USER_FILES.has(name)) return true;
  const star = name.indexOf('*');
  return existsSync(repoPath(star < 0 ? name : name.slice(0, name.lastIndexOf('/', star) + 1)));
}

describe.each(documents)('%s', (file) => {
  const text = readRepoFile(file);

  it('names only environment variables that something in the repository reads or sets', () => {
    const unknown = variableNames(text).filter((name) => !code.includes(name));
    expect(unknown).toEqual([]);
  });

  it('names only metrics that the collector exports', async () => {
    const series = await exportedSeries();
    const exported = new Set([...series.keys(), ...[...series.values()].map((entry) => entry.metric), CRASHES_METRIC]);
    expect(metricNames(text).filter((name) => !exported.has(name))).toEqual([]);
  });

  it('names only source paths that exist', () => {
    expect(sourcePaths(text).filter((name) => !pathExists(name))).toEqual([]);
  });
});

describe('the name finders', () => {
  it('find what the documents name, so the checks above can fail', () => {
    expect(variableNames('set `MAX_WORKERS` or run `BOOTSTRAP_SERVERS=a:1 npm start`; `SIGKILL`')).toEqual(['MAX_WORKERS', 'BOOTSTRAP_SERVERS']);
    expect(metricNames('`collector_rows_written_total{topic}` and process_resident_memory_bytes, not collector.offsets or `process_*`')).toEqual(['collector_rows_written_total', 'process_resident_memory_bytes']);
    expect(sourcePaths('(`src/pipeline/day-cut.ts`, `route.ts`) and `config/prometheus/alerts.yml`')).toEqual(['src/pipeline/day-cut.ts', 'config/prometheus/alerts.yml']);
    expect(pathExists('src/pipeline/day-cut.ts')).toBe(false);
    expect(pathExists('src/lake/day-cut.ts')).toBe(true);
  });
});
