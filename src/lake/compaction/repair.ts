import { findDayFiles, listTopicDays, type TopicDay } from '../files';
import { readFooter } from '../footer';
import type { Lake } from '../lake';
import { compactionJournalName, compactionLockName, isCompactingName, topicFolder } from '../layout';
import { mergeRanges, type OffsetRange, type PartitionRanges } from '../offset-range';
import { finishOrUndo } from './compact-day';
import { CompactionLock } from './lock';

/**
 * Start-up repair of compactions a crash interrupted, to run before the collector publishes or
 * compacts anything (and before the temp-file sweep, which it does not replace). For every
 * (topic, day) that shows traces of a compaction, under that day's lock: a committed compaction
 * (journal present) is finished, an uncommitted one is undone (its hidden outputs removed), and
 * parts whose every offset range a compacted file's footer already covers are removed. Days
 * whose lock another collector's running lease holds are left to it.
 */

export interface RepairOptions {
  readonly lake: Lake;
  readonly owner: string;
  readonly leaseMs: number;
  readonly now: () => number;
}

export interface RepairReport {
  readonly finished: TopicDay[];
  readonly undone: TopicDay[];
  readonly coveredPartsRemoved: string[];
  readonly skippedLocked: TopicDay[];
}

export async function repairLake(options: RepairOptions): Promise<RepairReport> {
  const report: RepairReport = { finished: [], undone: [], coveredPartsRemoved: [], skippedLocked: [] };
  const { lake } = options;
  for (const target of await listTopicDays(lake)) {
    const folder = lake.layout.dayFileFolder(target.topic, target.day, target.kind);
    const files = await findDayFiles(lake, target);
    const overlap = files.compacted.length > 0 && files.parts.length > 0;
    if (!overlap && !(await hasCompactionTraces(lake, folder, target.topic))) continue;
    const lock = await CompactionLock.acquire(lake.store, `${folder}${compactionLockName(target.topic)}`, options);
    if (lock === null) {
      report.skippedLocked.push(target);
      continue;
    }
    try {
      const outcome = await finishOrUndo(lake, folder, target.topic);
      if (outcome === 'finished') report.finished.push(target);
      if (outcome === 'undone') report.undone.push(target);
      report.coveredPartsRemoved.push(...(await removeCoveredParts(options, target)));
    } finally {
      await lock.release();
    }
  }
  return report;
}

async function hasCompactionTraces(lake: Lake, folder: string, topic: string): Promise<boolean> {
  const { objects } = await lake.store.list(`${folder}.${topicFolder(topic)}`, { delimiter: true });
  const names = objects.map((object) => object.key.slice(folder.length));
  return names.some((name) => name === compactionJournalName(topic) || name === compactionLockName(topic) || isCompactingName(name));
}

/** Parts of the day whose offsets the day's compacted files already hold. */
async function removeCoveredParts(options: RepairOptions, target: TopicDay): Promise<string[]> {
  const { store } = options.lake;
  const files = await findDayFiles(options.lake, target);
  if (files.compacted.length === 0 || files.parts.length === 0) return [];
  const held = new Map<number, OffsetRange[]>();
  for (const file of files.compacted) {
    for (const [partition, ranges] of (await readFooter(store, file.key)).ranges) held.set(partition, [...(held.get(partition) ?? []), ...ranges]);
  }
  const covering = new Map([...held].map(([partition, ranges]) => [partition, mergeRanges(ranges)]));
  const covered: string[] = [];
  for (const part of files.parts) {
    const footer = await readFooter(store, part.key);
    if (footer.ranges.size > 0 && isCovered(footer.ranges, covering)) covered.push(part.key);
  }
  await store.remove(covered);
  return covered;
}

/** Whether every range of `ranges` lies inside one of the merged ranges of `covering`. */
export function isCovered(ranges: PartitionRanges, covering: PartitionRanges): boolean {
  for (const [partition, list] of ranges) {
    const merged = covering.get(partition) ?? [];
    for (const [first, last] of list) {
      if (!merged.some(([from, to]) => from <= first && last <= to)) return false;
    }
  }
  return true;
}
