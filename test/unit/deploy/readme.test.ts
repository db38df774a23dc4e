/**
 * The README is for users: every setting the collector and its launcher read is in its tables,
 * every link into the repository resolves, and the measurement history lives in docs/ with the
 * commands that reproduce it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_ENV, readRepoFile, repoPath } from './artefacts';

const readme = readRepoFile('README.md');
const configuration = readRepoFile('docs', 'configuration.md');
const documents = ['README.md', 'CHANGELOG.md', ...readdirSync(repoPath('docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  return new Set([...readRepoFile(file).matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1])));
}

describe('README', () => {
  it('is short: at most 20,000 bytes, the details in docs/', () => {
    expect(statSync(repoPath('README.md')).size).toBeLessThanOrEqual(20_000);
    for (const doc of ['docs/configuration.md', 'docs/operations.md', 'docs/lake.md', 'docs/design.md', 'docs/performance.md', 'CHANGELOG.md']) expect(readme).toContain(`(${doc})`);
  });

  it('keeps the two commands of a fresh machine', () => {
    expect(readme).toMatch(/^npm run demo\b/m);
    expect(readme).toMatch(/^npm test\b/m);
  });

  it('and docs/configuration.md list every configuration variable with its key', () => {
    const missing = [...CONFIG_ENV].filter(([env, { key }]) => !configuration.includes(`| \`${env}\` | \`${key}\` |`)).map(([env]) => env);
    expect(missing).toEqual([]);
  });

  it('and docs/configuration.md list every variable the launcher reads', () => {
    const launcher = new Set([...readRepoFile('bin', 'redpanda-parquet-collector').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]));
    expect(launcher.size).toBeGreaterThan(0);
    for (const name of [...launcher, 'CONFIG_FILE']) expect({ name, listed: configuration.includes(`| \`${name}\` |`) }).toEqual({ name, listed: true });
  });

  it('reads closed and open days alike in its query examples', () => {
    const examples = [...readme.matchAll(/```(?:sql|python)\n([\s\S]*?)```/g)].map((match) => match[1]);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) {
      expect(example).toMatch(/\/\*\/\*\/\*\/(market_data|\{topic\})\.parquet/);
      expect(example).toMatch(/\/\*\/\*\/\*\/(market_data|\{topic\})\/\*\.parquet/);
    }
  });

  it.each(documents)('%s links only to files and headings that exist', (file) => {
    const text = readRepoFile(file);
    const problems: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [relative, fragment] = target.split('#');
      const linked = relative === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), relative));
      if (!existsSync(repoPath(linked))) problems.push(`${target}: no ${linked}`);
      else if (fragment !== undefined && linked.endsWith('.md') && !anchorsOf(linked).has(fragment)) problems.push(`${target}: no heading #${fragment} in ${linked}`);
    }
    expect(problems).toEqual([]);
  });

  it('keeps dated runs out: measurement history is in docs/performance.md', () => {
    // Dates in commands and examples are fine; a date in the prose is a lab-notebook entry.
    const prose = readme.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
    expect(prose).not.toMatch(/\b20\d\d-\d\d-\d\d\b|earlier the same day/i);
    expect(readme).toContain('(docs/performance.md)');
    expect(readme).toContain('(docs/design.md)');
    expect(readme).not.toMatch(/\bbefore version 0\.\d\b/);
  });
});

describe('docs/performance.md', () => {
  const performance = readRepoFile('docs', 'performance.md');

  it('keeps the measured figures, each section with the command that reproduces it', () => {
    // One figure of each current measurement (the README used to hold older runs of them): the
    // Parquet writers, the end-to-end rate and its two ratios, the memory peaks of two processes
    // and of one, and the runtime the sizing constants rest on.
    for (const figure of ['457,180', '160,634', '**1.87**', '**0.57**', '**544 MiB**', '**323 MiB**', '319 MiB']) expect(performance).toContain(figure);
    // Results, not a lab notebook: each run's date is given once, in the results table.
    expect(performance).toMatch(/^\| measurement \| command \| run \(UTC\) \|/m);
    expect(performance).not.toMatch(/\b(issue \d+|first pass|second pass|third pass|earlier the same day)\b/i);
    for (const section of performance.split(/^## /m).slice(1)) {
      expect({ section: section.split('\n')[0], command: /`npm run [a-z:]+/.test(section) }).toEqual({ section: section.split('\n')[0], command: true });
    }
  });

  it('and the chaos figures stay in docs/design.md with their command', () => {
    const design = readRepoFile('docs', 'design.md');
    expect(design).toContain('CHAOS_KILLS=20 npm run chaos');
    expect(design).toMatch(/lost:\s+0/);
  });
});
