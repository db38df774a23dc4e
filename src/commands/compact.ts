import type { CompactionResult, CompactorOptions } from '../lake/compaction/compact-day';
import { rewriteDay } from '../lake/compaction/rewrite-day';
import { compactionPass } from '../lake/compaction/pass';
import { listTopicDays, type TopicDay } from '../lake/files';
import { isoDate } from '../lake/layout';
import { describeError } from '../errors';
import { isDayClosed } from '../lake/day-cut';

/**
 * `compact`: compacts every closed (topic, day) that has parts (a compaction a crash interrupted
 * included), or only the given topics and day. A day is closed once it is over in DAY_TIME_ZONE plus
 * COMPACTION_GRACE_MS; an open day is reported, never compacted. With `rewrite`, the files of a
 * closed data day that do not have its topic's current schema (a widening came after the day was
 * compacted) are written again with it, the same rows in place (compaction/rewrite-day.ts).
 */

export interface CompactCommandOptions {
  readonly compactor: CompactorOptions;
  /** Only these topics; all when empty. */
  readonly topics: readonly string[];
  readonly day?: number;
  readonly timeZone: string;
  readonly graceMs: number;
  readonly rewrite?: boolean;
}

export interface CompactFailure {
  readonly target: TopicDay;
  readonly error: string;
}

export interface CompactRunResult {
  readonly results: CompactionResult[];
  readonly failures: CompactFailure[];
  /** Set when `day` was asked for and is not closed yet. */
  readonly dayOpen: boolean;
}

export async function compactClosedDays(options: CompactCommandOptions): Promise<CompactRunResult> {
  const { compactor, timeZone, graceMs } = options;
  const wanted = (target: TopicDay): boolean => (options.topics.length === 0 || options.topics.includes(target.topic)) && (options.day === undefined || target.day === options.day);
  const pass = await compactionPass({ compactor, timeZone, graceMs, wanted });
  const rewritten = options.rewrite === true ? await rewriteDays(compactor, (target) => wanted(target) && target.kind === 'data' && isDayClosed(target.day, timeZone, graceMs, compactor.now())) : EMPTY_PASS;
  return {
    results: [...pass.results, ...rewritten.results],
    failures: [...pass.failures, ...rewritten.failures].map(({ target, error }) => ({ target, error: describeError(error) })),
    dayOpen: options.day !== undefined && !isDayClosed(options.day, timeZone, graceMs, compactor.now()),
  };
}

const EMPTY_PASS = { results: [], failures: [] };

/** The wanted days compacted again where their files lack the topic's schema; days already current are left out of the results. */
async function rewriteDays(compactor: CompactorOptions, wanted: (target: TopicDay) => boolean): Promise<{ results: CompactionResult[]; failures: Array<{ target: TopicDay; error: unknown }> }> {
  const results: CompactionResult[] = [];
  const failures: Array<{ target: TopicDay; error: unknown }> = [];
  for (const target of (await listTopicDays(compactor.lake)).filter(wanted)) {
    try {
      const result = await rewriteDay(target, compactor);
      if (result.status !== 'nothing') results.push(result);
    } catch (error) {
      failures.push({ target, error });
    }
  }
  return { results, failures };
}

export function formatCompactResult(result: CompactRunResult): string {
  const lines = ['topic\tday\tkind\tstatus\tfiles\trows\tbytes\tparts removed\tduplicates dropped'];
  for (const r of result.results) {
    lines.push([r.target.topic, isoDate(r.target.day), r.target.kind, r.status, r.files.map((f) => f.name).join(',') || '-', r.rows, r.bytes, r.partsRemoved, r.duplicatesDropped].join('\t'));
  }
  for (const f of result.failures) lines.push([f.target.topic, isoDate(f.target.day), f.target.kind, `FAILED: ${f.error}`].join('\t'));
  if (result.dayOpen) lines.push('the day asked for is not closed yet (DAY_TIME_ZONE, COMPACTION_GRACE_MS): not compacted');
  if (result.results.length + result.failures.length === 0) lines.push('nothing to compact');
  return lines.join('\n');
}
