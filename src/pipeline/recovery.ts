import type { CommittedOffset } from '../kafka/consumer-port';
import { findTopicFiles } from '../lake/files';
import { readFooter } from '../lake/footer';
import type { Lake } from '../lake/lake';
import { mergeRanges, type OffsetRange } from '../lake/offset-range';
import { decodeCommitMetadata } from './commit-metadata';
import type { Recovered } from './events';
import type { OffsetLedger } from './offset-ledger';

/** Collectors sharing an output folder may disagree on the time by this much. */
const RECOVERY_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * On assignment: reads the footers of the files published since the commits' recover-since time
 * and tells the ledger which offsets past each commit are already on disk (see commit-metadata.ts).
 */
export async function recoverTopic(lake: Lake, topic: string, committed: readonly CommittedOffset[], ledger: OffsetLedger): Promise<Recovered | null> {
  const since = new Map<number, { offset: number; sinceMs: number }>();
  for (const entry of committed) {
    const metadata = decodeCommitMetadata(entry.metadata);
    if (metadata !== null) since.set(entry.partition, { offset: entry.offset, sinceMs: metadata.recoverSinceMs });
  }
  if (since.size === 0) return null;
  const sinceMs = Math.min(...[...since.values()].map((entry) => entry.sinceMs)) - RECOVERY_CLOCK_SKEW_MS;
  const files = await findTopicFiles(lake, { topic, publishedSinceMs: sinceMs });
  const onDisk = new Map<number, { ranges: OffsetRange[]; files: Array<{ last: number; publishedAtMs: number }> }>();
  for (const partition of since.keys()) onDisk.set(partition, { ranges: [], files: [] });
  for (const file of files) {
    const footer = await readFooter(lake.store, file.key);
    if (footer.topic !== topic) continue;
    for (const [partition, ranges] of footer.ranges) {
      const state = since.get(partition);
      const found = onDisk.get(partition);
      if (state === undefined || found === undefined) continue;
      const past = mergeRanges(ranges, state.offset);
      if (past.length === 0) continue;
      found.ranges.push(...past);
      found.files.push({ last: past[past.length - 1][1], publishedAtMs: file.publishedAtMs });
    }
  }
  const skipped = new Map<number, OffsetRange[]>();
  for (const [partition, found] of onDisk) {
    ledger.recovered(topic, partition, found.ranges, found.files);
    if (found.ranges.length > 0) skipped.set(partition, mergeRanges(found.ranges));
  }
  return { topic, filesRead: files.length, skipped };
}
