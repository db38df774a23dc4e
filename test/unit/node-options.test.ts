import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectorNodeOptions } from '../../src/node-options';

const MIB = 1024 * 1024;
const EMPTY = path.resolve(__dirname, '..', 'harness', 'empty-config.json');

describe('collectorNodeOptions (what the launcher starts Node with)', () => {
  it('derives the heap limits from MEMORY_BUDGET_BYTES in the environment', () => {
    expect(collectorNodeOptions(['--once'], { CONFIG_FILE: EMPTY, MEMORY_BUDGET_BYTES: String(64 * MIB) })).toEqual([
      '--max-old-space-size=128',
      '--max-semi-space-size=2',
      '--initial-old-space-size=32',
    ]);
  });

  it('reads the budget from the file named by --config, as the collector will', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'collector-config-')), 'collector.json');
    writeFileSync(file, JSON.stringify({ flush: { memoryBudgetBytes: 1024 * MIB } }));
    expect(collectorNodeOptions(['--config', file], {})).toEqual(['--max-old-space-size=1088', '--max-semi-space-size=16', '--initial-old-space-size=512']);
    expect(collectorNodeOptions([`--config=${file}`, '--once'], {})).toEqual(['--max-old-space-size=1088', '--max-semi-space-size=16', '--initial-old-space-size=512']);
  });

  it('gives no options for a configuration that does not load (the collector reports it) or for verify', () => {
    expect(collectorNodeOptions([], { CONFIG_FILE: EMPTY, MEMORY_BUDGET_BYTES: 'lots' })).toEqual([]);
    expect(collectorNodeOptions(['verify', '--output-dir', '/tmp'], { CONFIG_FILE: EMPTY })).toEqual([]);
  });
});
