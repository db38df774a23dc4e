import { ConfigInvalidError, loadConfig } from '../config/load';
import type { CollectorConfig } from '../config/schema';
import { describeError } from '../errors';
import { lakeAt, type Lake } from '../lake/lake';
import { dayOfIsoDate } from '../lake/layout';

/** What the subcommands (verify, compact, inspect) share: their config and their exit on failure. */

/** The flags every subcommand takes besides its own (for parseArgs). */
export const COMMON_FLAGS = {
  'output-dir': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The configuration a subcommand works with: the file and environment, `--output-dir` first. */
export function commandConfig(values: { readonly config?: string; readonly 'output-dir'?: string }): CollectorConfig {
  return loadConfig({ file: values.config, overrides: values['output-dir'] ? { 'output.dir': values['output-dir'] } : {} }).config;
}

/** The lake a subcommand reads or compacts: OUTPUT_DIR (or `--output-dir`) with LAYOUT. */
export function commandLake(config: CollectorConfig): Lake {
  return lakeAt(config);
}

/** Prints why a subcommand failed; exit 2 for bad arguments or configuration, 1 for anything else. */
export function commandFailed(error: unknown, argumentsParsed: boolean): number {
  process.stderr.write(`${describeError(error)}\n`);
  return !argumentsParsed || error instanceof RangeError || error instanceof ConfigInvalidError ? 2 : 1;
}

/** A `--day`-style flag's YYYY-MM-DD as a day number; undefined when absent, a RangeError when not a date. */
export function parseDay(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const day = dayOfIsoDate(text);
  if (day === null) throw new RangeError(`${flag} takes a day as YYYY-MM-DD, not ${JSON.stringify(text)}`);
  return day;
}
