import type { CollectorConfig } from './schema';

/**
 * The seed program's variables that are accepted here but do nothing, or nothing in this mode.
 * Its users' scripts and compose files set them; a silent no-op would let them believe they
 * still choose what the seed let them choose, and failing would break those scripts.
 */

export interface ConfigWarning {
  readonly key: string;
  readonly env: string;
  readonly message: string;
}

export function seedVariableWarnings(config: CollectorConfig, isSet: (key: string) => boolean): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  if (isSet('skipExistingCheck')) {
    warnings.push({
      key: 'skipExistingCheck',
      env: 'SKIP_EXISTING_CHECK',
      message:
        'SKIP_EXISTING_CHECK is accepted and ignored: the seed used it to choose between overwriting a day\'s file (true) and appending to it (false); ' +
        'here every run is incremental and exactly once (new files only, never overwritten; each run resumes from the group\'s committed offsets)',
    });
  }
  if (config.once.maxMessages !== null && config.mode !== 'once') {
    warnings.push({
      key: 'once.maxMessages',
      env: 'MAX_MESSAGES',
      message: `MAX_MESSAGES (${config.once.maxMessages}) only limits one-shot runs (--once or RUN_MODE=once); the daemon ignores it and consumes everything`,
    });
  }
  return warnings;
}
