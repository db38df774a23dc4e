import { dayStartMs, isDayClosed } from '../day-cut';
import type { TopicDay } from '../files';
import { compactDay, daysToCompact, type CompactionResult, type CompactorOptions } from './compact-day';
import { removeCoveredParts } from './covered-parts';

/**
 * One compaction pass, the daemon's day closer and the `compact` command alike: compact every
 * closed (topic, day) with parts that the caller wants and does not still hold. A day is closed
 * once it is over in DAY_TIME_ZONE plus COMPACTION_GRACE_MS. What a crashed compaction left (parts
 * beside the files they were merged into) is a day with parts like any other.
 */

export interface PassOptions {
  readonly compactor: CompactorOptions;
  readonly timeZone: string;
  readonly graceMs: number;
  /** Only these (topic, day)s; all by default. */
  readonly wanted?: (target: TopicDay) => boolean;
  /** A (topic, day) the caller still buffers or writes, or expects more records of: left for a later pass. */
  readonly holds?: (target: TopicDay) => boolean | Promise<boolean>;
  /** Checked between days: a pass asked to stop ends after the day under way. */
  readonly stopped?: () => boolean;
  readonly onCompacted?: (result: CompactionResult) => void;
  readonly onFailed?: (target: TopicDay, error: unknown) => void;
}

export interface PassResult {
  readonly results: CompactionResult[];
  readonly failures: Array<{ readonly target: TopicDay; readonly error: unknown }>;
  /** How long the oldest closed day left uncompacted (held, locked, failed) has been closed; null when none. */
  readonly oldestLeftMs: number | null;
}

export async function compactionPass(options: PassOptions): Promise<PassResult> {
  const { compactor, timeZone, graceMs } = options;
  const nowMs = compactor.now();
  const targets = (await daysToCompact(compactor.lake, (day) => isDayClosed(day, timeZone, graceMs, nowMs))).filter((target) => options.wanted?.(target) ?? true);
  const results: CompactionResult[] = [];
  const failures: PassResult['failures'] = [];
  let oldestLeftMs: number | null = null;
  for (const { compacted, ...target } of targets) {
    if (options.stopped?.() === true) break;
    let done = false;
    const held = (await options.holds?.(target)) === true;
    // A held day that was compacted before still loses the parts its files hold whole.
    if (!held || compacted) {
      try {
        const result = held ? await removeCoveredParts(target, compactor) : await compactDay(target, compactor);
        if (!held || result.partsRemoved > 0) {
          results.push(result);
          options.onCompacted?.(result);
        }
        done = !held && result.status !== 'locked';
      } catch (error) {
        failures.push({ target, error });
        options.onFailed?.(target, error);
      }
    }
    if (!done) oldestLeftMs = Math.max(oldestLeftMs ?? 0, nowMs - (dayStartMs(target.day + 1, timeZone) + graceMs));
  }
  return { results, failures, oldestLeftMs };
}
