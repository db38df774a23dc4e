import type { CollectorConfig } from '../config/schema';
import type { CompactorOptions } from '../lake/compaction/compact-day';
import { dayStartMs } from '../lake/day-cut';
import type { TopicDay } from '../lake/files';
import { compactionPass } from '../lake/compaction/pass';
import { compactorOptionsFrom } from '../lake/compaction/settings';
import type { Lake } from '../lake/lake';
import { lakeRetentionFor } from '../lake/retention';
import { RepeatingTask } from '../repeating-task';
import type { PipelineEvents } from './events';

/**
 * Closes days: once a (topic, day) is over in DAY_TIME_ZONE plus COMPACTION_GRACE_MS, nothing of it
 * is buffered or being written here, and (in the daemon) the whole group has committed the topic's
 * records stamped before the day's end, its parts are compacted into the seed's one file per topic
 * and day (lake/compaction). The last condition keeps a group that catches up on a backlog from
 * compacting a day whose records are still coming: they would need a second file. Other collectors
 * sharing the lake are kept apart by the compaction lock.
 */

export interface DayCloserOptions {
  readonly compactor: CompactorOptions;
  readonly timeZone: string;
  readonly graceMs: number;
  readonly intervalMs: number;
}

export interface DayCloserDeps {
  /** Whether the pipeline still buffers or writes records of this (topic, day). */
  readonly holdsDay: (topic: string, day: number) => boolean;
  /** Whether the group has committed every record of the topic stamped before the instant (kafka/group-progress.ts); absent: not asked. */
  readonly groupCommittedBefore?: (topic: string, instantMs: number) => Promise<boolean>;
  readonly events: PipelineEvents;
  /** After each pass's compactions (lake retention, which dayCloserFor adds); reports its own failures. */
  readonly afterPass?: () => Promise<void>;
}

export class DayCloser {
  private readonly options: DayCloserOptions;
  private readonly deps: DayCloserDeps;
  private readonly passes: RepeatingTask;
  private stopped = false;

  constructor(options: DayCloserOptions, deps: DayCloserDeps) {
    this.options = options;
    this.deps = deps;
    this.passes = new RepeatingTask(options.intervalMs, () => this.pass());
  }

  /** A pass now, then one every interval, never two at once. */
  start(): void {
    this.passes.start();
  }

  /** Stops scheduling, ends the pass under way after its current day, and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.passes.stop();
  }

  /** Compacts every closed day with parts that the pipeline no longer holds; failures are reported and retried next pass. */
  async pass(): Promise<void> {
    const { events } = this.deps;
    try {
      const result = await compactionPass({
        ...this.options,
        holds: (target) => this.holds(target),
        stopped: () => this.stopped,
        onCompacted: (compacted) => events.dayCompacted(compacted),
        onFailed: (target, error) => events.compactionFailed(target, error),
      });
      if (!this.stopped) events.closedDaysLeft(result.oldestLeftMs);
    } catch (error) {
      events.compactionFailed(null, error);
    }
    if (!this.stopped) await this.deps.afterPass?.();
  }

  private async holds(target: TopicDay): Promise<boolean> {
    if (this.deps.holdsDay(target.topic, target.day)) return true;
    const { groupCommittedBefore } = this.deps;
    if (groupCommittedBefore === undefined) return false;
    try {
      return !(await groupCommittedBefore(target.topic, dayStartMs(target.day + 1, this.options.timeZone)));
    } catch (error) {
      // Brokers unreachable: the day waits for a pass that can tell, and the failure is reported as this day's.
      this.deps.events.compactionFailed(target, error);
      return true;
    }
  }
}

/** How often the daemon looks for closed days: a quarter of the grace period, between 1 s and 1 min. */
function compactionIntervalMs(graceMs: number): number {
  return Math.max(1000, Math.min(60_000, Math.floor(graceMs / 4)));
}

/** The day closer of a collector run, from its configuration; `run` names the compaction locks' owner. */
export function dayCloserFor(config: CollectorConfig, lake: Lake, run: { readonly owner: string; readonly version: string; readonly now: () => number }, deps: DayCloserDeps): DayCloser {
  const { graceMs } = config.lake.compaction;
  return new DayCloser(
    { compactor: compactorOptionsFrom(config, lake, run), timeZone: config.lake.dayTimeZone, graceMs, intervalMs: compactionIntervalMs(graceMs) },
    { ...deps, afterPass: lakeRetentionFor(config, lake, run, deps) ?? undefined },
  );
}
