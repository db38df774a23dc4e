import { findDayFiles, type TopicDay } from '../files';
import { readFooter } from '../footer';
import { mergePartitionRanges, subtractPartitionRanges } from '../offset-range';
import { emptyResult, heldFile, underDayLock, type CompactionResult, type CompactorOptions } from './compact-day';

/**
 * Removes the parts of a day that its compacted files already hold whole (a compaction that stopped
 * before removing its parts; a part that reached the store after its day was compacted), merging
 * nothing. That is safe while the day may still take records, so the daemon does it for a day it
 * may not compact yet (the group has not read past the day's end): readers of the day's files do
 * not see those records twice until then. A part without offsets (not the collector's) stays.
 */
export async function removeCoveredParts(target: TopicDay, options: CompactorOptions): Promise<CompactionResult> {
  return underDayLock(target, options, 'removal of covered parts', async ({ started }) => {
    const { lake } = options;
    const files = await findDayFiles(lake, target);
    if (files.parts.length === 0 || files.compacted.length === 0) return emptyResult(target, 'nothing', options.now() - started);
    const held = mergePartitionRanges((await Promise.all(files.compacted.map((file) => heldFile(lake, file)))).map((file) => file.ranges));
    const covered: string[] = [];
    let rows = 0;
    for (const part of files.parts) {
      const footer = await readFooter(lake.store, part.key);
      if (footer.ranges.size === 0) continue;
      if (subtractPartitionRanges(footer.ranges, held).size === 0) {
        covered.push(part.key);
        rows += footer.rows;
      }
    }
    if (covered.length === 0) return emptyResult(target, 'nothing', options.now() - started);
    await lake.store.remove(covered);
    await options.onStep?.('removed', target);
    return { ...emptyResult(target, 'compacted', options.now() - started), partsRemoved: covered.length, duplicatesDropped: rows };
  });
}
