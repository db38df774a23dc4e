import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configurationReference, defaultText, validValues } from '../../../src/config/reference';
import { schemaKeys } from '../../../src/config/schema';

const FILE = path.join(__dirname, '..', '..', '..', 'docs', 'configuration.md');

describe('docs/configuration.md', () => {
  it('is what the schema generates now (else run `npm run docs:config`)', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(configurationReference());
  });

  it('has a row for every key, with its variable', () => {
    const text = configurationReference();
    const missing = schemaKeys().filter(({ key, env }) => !text.includes(`| \`${env}\` | \`${key}\` |`));
    expect(missing).toEqual([]);
  });

  it('lists the valid values of every enumeration', () => {
    expect(validValues('output.compression', ['zstd', 'none'])).toBe('`zstd`, `none`');
    const row = configurationReference().split('\n').find((line) => line.startsWith('| `COMPRESSION` |'));
    expect(row).toContain('`zstd`, `snappy`, `gzip`, `lz4`, `brotli`, `none`');
  });

  it('refuses a format it cannot describe, so a new one is documented', () => {
    expect(() => validValues('x.y', 'no-such-format')).toThrow(/no description/);
    expect(() => validValues('x.y', () => undefined)).toThrow(/no description/);
  });

  it('writes sizes and durations in readable units beside the raw default', () => {
    expect(defaultText('MEMORY_BUDGET_BYTES', 268435456)).toBe('`268435456` (256 MiB)');
    expect(defaultText('COMPACTION_GRACE_MS', 1800000)).toBe('`1800000` (30 min)');
    expect(defaultText('BATCH_SIZE', 100000)).toBe('`100000`');
    expect(defaultText('TOPICS', [])).toBe('_(empty)_');
  });
});
