/**
 * The seed's variables that are accepted but ignored warn once, through loadConfig, from the
 * environment, the config file and the command line alike.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/load';

const EMPTY = path.join(__dirname, '..', '..', 'harness', 'empty-config.json');

function warned(env: NodeJS.ProcessEnv, options: { file?: string; overrides?: Record<string, unknown> } = {}): string[] {
  return loadConfig({ file: EMPTY, ...options, env }).warnings.map((warning) => warning.env);
}

describe('seed variable warnings', () => {
  it('say nothing for a configuration that sets neither', () => {
    expect(warned({})).toEqual([]);
  });

  it.each(['true', 'false'])('SKIP_EXISTING_CHECK=%s is accepted and warned about, whatever its value', (value) => {
    const { warnings, config } = loadConfig({ file: EMPTY, env: { SKIP_EXISTING_CHECK: value } });
    expect(warnings).toEqual([{ key: 'skipExistingCheck', env: 'SKIP_EXISTING_CHECK', message: expect.stringMatching(/accepted and ignored: .*overwriting .*every run is incremental and exactly once/) }]);
    expect(config.skipExistingCheck).toBe(value === 'true');
  });

  it('SKIP_EXISTING_CHECK in the config file warns too', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'seed-vars-')), 'collector.json');
    writeFileSync(file, JSON.stringify({ skipExistingCheck: false }));
    expect(warned({}, { file })).toEqual(['SKIP_EXISTING_CHECK']);
  });

  it('MAX_MESSAGES warns in the daemon, not in one-shot runs', () => {
    expect(warned({ MAX_MESSAGES: '1000' })).toEqual(['MAX_MESSAGES']);
    expect(loadConfig({ file: EMPTY, env: { MAX_MESSAGES: '1000' } }).warnings[0].message).toMatch(/MAX_MESSAGES \(1000\) only limits one-shot runs/);
    expect(warned({ MAX_MESSAGES: '1000', RUN_MODE: 'once' })).toEqual([]);
    expect(warned({ MAX_MESSAGES: '1000' }, { overrides: { mode: 'once' } })).toEqual([]);
  });
});
