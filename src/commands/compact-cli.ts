import { parseArgs } from 'node:util';
import { SingleBar, Presets } from 'cli-progress';
import { isoDate } from '../lake/layout';
import { newInstanceId } from '../lake/instance-id';
import { compactorOptionsFrom } from '../lake/compaction/settings';
import type { CompactionProgress } from '../lake/compaction/compact-day';
import { COLLECTOR_VERSION } from '../version';
import { COMMON_FLAGS, commandConfig, commandFailed, commandLake, parseDay } from './command-support';
import { compactClosedDays, formatCompactResult } from './compact';

/** `redpanda-parquet-collector compact [--topic T]… [--day YYYY-MM-DD] [--rewrite] [--output-dir D] [--json]`. */

export const COMPACT_USAGE = `Usage: redpanda-parquet-collector compact [options]

Merges the part files of each closed day into OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet (and
_dead_letter/<topic>.parquet), after finishing or undoing compactions a crash interrupted. A day is
closed once it is over in DAY_TIME_ZONE plus COMPACTION_GRACE_MS. Safe beside a running collector:
each (topic, day) is locked while it is compacted.

Options:
  --topic T           a topic to compact (repeatable); all topics by default
  --day YYYY-MM-DD    only this day (it must be closed)
  --rewrite           also compact again closed days whose files do not have their topic's
                      current schema (a column added or widened after they were compacted)
  --output-dir DIR    the lake (else OUTPUT_DIR / the config file)
  --config FILE       config file
  --json              machine-readable output
Exit codes: 0 done, 1 a compaction failed, 2 bad arguments or configuration.`;

export async function runCompactCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        topic: { type: 'string', multiple: true, default: [] },
        day: { type: 'string' },
        rewrite: { type: 'boolean', default: false },
        ...COMMON_FLAGS,
      },
      strict: true,
    }).values;
    if (values.help) {
      process.stdout.write(`${COMPACT_USAGE}\n`);
      return 0;
    }
    const day = parseDay(values.day, '--day');
    const config = commandConfig(values);
    const progress = process.stderr.isTTY === true && !values.json ? terminalProgress() : undefined;
    const compactor = { ...compactorOptionsFrom(config, commandLake(config), { owner: newInstanceId(), version: COLLECTOR_VERSION, now: Date.now }), onProgress: progress?.update };
    const result = await compactClosedDays({ compactor, topics: values.topic, day, timeZone: config.lake.dayTimeZone, graceMs: config.lake.compaction.graceMs, rewrite: values.rewrite }).finally(() => progress?.stop());
    process.stdout.write(`${values.json ? JSON.stringify(result, null, 2) : formatCompactResult(result)}\n`);
    return result.failures.length > 0 ? 1 : 0;
  } catch (error) {
    return commandFailed(error, values !== undefined);
  }
}

/** One bar for the (topic, day) being compacted: rows merged of rows estimated. */
function terminalProgress(): { update: (progress: CompactionProgress) => void; stop: () => void } {
  const bar = new SingleBar({ format: ' {label} |{bar}| {value}/{total} rows', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  let current = '';
  return {
    update({ target, rowsDone, rowsEstimated }) {
      const label = `${target.topic} ${isoDate(target.day)}${target.kind === 'dead-letter' ? ' (dead letters)' : ''}`;
      if (label !== current) {
        if (current !== '') bar.stop();
        bar.start(Math.max(rowsEstimated, 1), 0, { label });
        current = label;
      }
      bar.update(Math.min(rowsDone, rowsEstimated), { label });
    },
    stop: () => {
      if (current !== '') bar.stop();
    },
  };
}
