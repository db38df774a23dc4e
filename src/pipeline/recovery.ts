import type { CommittedOffset, PartitionRef } from '../kafka/consumer-port';
import { findTopicFiles } from '../lake/files';
import { readFooter } from '../lake/footer';
import type { Lake } from '../lake/lake';
import { mergeRanges, type OffsetRange } from '../lake/offset-range';
import { ANY_DAY, decodeCommitMetadata, type RecoverDays } from './commit-metadata';
import type { Recovered } from './events';
import type { FileAbove, OffsetLedger } from './offset-ledger';

/** Collectors sharing a lake may disagree on the time by this much. */
const RECOVERY_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * On assignment: reads the footers of the files published since the commits' recover-since time,
 * on the days the commits name (every day for a commit that names none), and tells the ledger which
 * offsets past each commit are already in the lake (see commit-metadata.ts).
 */
export async function recoverTopic(lake: Lake, topic: string, committed: readonly CommittedOffset[], ledger: OffsetLedger): Promise<Recovered | null> {
  const since = new Map<number, { offset: number; sinceMs: number; days: RecoverDays }>();
  for (const entry of committed) {
    const metadata = decodeCommitMetadata(entry.metadata);
    if (metadata !== null) since.set(entry.partition, { offset: entry.offset, sinceMs: metadata.recoverSinceMs, days: metadata.recoverDays });
  }
  if (since.size === 0) return null;
  const sinceMs = Math.min(...[...since.values()].map((entry) => entry.sinceMs)) - RECOVERY_CLOCK_SKEW_MS;
  const files = await findTopicFiles(lake, { topic, publishedSinceMs: sinceMs, days: daysToList([...since.values()].map((entry) => entry.days)) });
  const inLake = new Map<number, { ranges: OffsetRange[]; files: FileAbove[] }>();
  for (const partition of since.keys()) inLake.set(partition, { ranges: [], files: [] });
  for (const file of files) {
    const footer = await readFooter(lake.store, file.key);
    if (footer.topic !== topic) continue;
    for (const [partition, ranges] of footer.ranges) {
      const state = since.get(partition);
      const found = inLake.get(partition);
      if (state === undefined || found === undefined) continue;
      const past = mergeRanges(ranges, state.offset);
      if (past.length === 0) continue;
      found.ranges.push(...past);
      found.files.push({ last: past[past.length - 1][1], publishedAtMs: file.publishedAtMs, day: file.day });
    }
  }
  const skipped = new Map<number, OffsetRange[]>();
  for (const [partition, found] of inLake) {
    const stored = since.get(partition);
    if (stored === undefined) continue;
    ledger.recovered(topic, partition, found.ranges, found.files, { sinceMs: stored.sinceMs, days: stored.days });
    if (found.ranges.length > 0) skipped.set(partition, mergeRanges(found.ranges));
  }
  return { topic, filesRead: files.length, skipped };
}

/** Recovery of every topic of these partitions, one topic at a time; what was found in each topic that had recovery metadata. */
export async function recoverPartitions(lake: Lake, partitions: readonly PartitionRef[], committed: readonly CommittedOffset[], ledger: OffsetLedger): Promise<Recovered[]> {
  const found: Recovered[] = [];
  for (const topic of new Set(partitions.map((partition) => partition.topic))) {
    const recovered = await recoverTopic(lake, topic, committed.filter((entry) => entry.topic === topic), ledger);
    if (recovered !== null) found.push(recovered);
  }
  return found;
}

/** The union of the commits' days, or null (every day) when one of them names none. */
export function daysToList(days: readonly RecoverDays[]): number[] | null {
  const union = new Set<number>();
  for (const entry of days) {
    if (entry === ANY_DAY) return null;
    for (const day of entry) union.add(day);
  }
  return [...union].sort((a, b) => a - b);
}
