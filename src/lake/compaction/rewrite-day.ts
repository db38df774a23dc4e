import { findDayFiles, nameOf, type TopicDay } from '../files';
import type { LakeStore } from '../store/lake-store';
import { footerMetadata } from '../footer';
import { closedMarkerName } from '../layout';
import { haveColumns } from '../topic-schema';
import { BATCH_ROWS, emptyResult, markerOf, offsetsObject, type CompactedFileInfo, type CompactionResult, type CompactorOptions, underDayLock } from './compact-day';
import { compactionColumns } from './day-schema';
import { mergeWindows } from './merge';
import { planMerge, sumOf, type SourceSummary } from './plan';
import { writeParquetStream } from './parquet-stream';
import { scanSource } from './sources';

/**
 * `compact --rewrite`: brings a closed data day compacted before a widening to its topic's schema.
 * Each compacted file of the day whose columns are not the topic's is written anew, with exactly
 * its rows and footer ranges, in the topic's columns, and put in its place by the store's atomic
 * replace, under the day's compaction lock; then the marker is written again. This is the one place
 * a data object is replaced, and what replaces it holds the same rows: a rewrite a crash interrupts
 * (some files done) is finished by the next one, and a rewriter paused past its lease can at worst
 * put back the same rows in an older schema, which the next rewrite mends. A day that still has
 * parts is left to compaction first.
 */
export async function rewriteDay(target: TopicDay, options: CompactorOptions): Promise<CompactionResult> {
  return underDayLock(target, options, 'rewrite', async ({ lock, folder, started }) => {
    const { store } = options.lake;
    const files = await findDayFiles(options.lake, target);
    if (target.kind !== 'data' || files.parts.length > 0 || files.compacted.length === 0) return emptyResult(target, 'nothing', options.now() - started);
    const sources: SourceSummary[] = [];
    for (const file of files.compacted) sources.push(await scanSource(store, file.key));
    const columns = await compactionColumns({ lake: options.lake, instanceId: options.owner, now: options.now }, target.topic, sources);
    const stale = sources.filter((source) => !haveColumns(source.columns, columns));
    await options.onStep?.('scanned', target);
    const markerKey = `${folder}${closedMarkerName(target.topic)}`;
    const rewritten = new Map<string, CompactedFileInfo>();
    // The day's files as they are now: the rewritten ones, and the others as the scan found them.
    const dayFiles = (): CompactedFileInfo[] =>
      files.compacted.map(
        (file, index) => rewritten.get(file.key) ?? { name: nameOf(file.key), rows: sumOf(sources[index].rowGroups, (group) => group.rows), bytes: file.bytes, offsets: offsetsObject(sources[index].ranges) },
      );
    if (stale.length === 0) {
      // A rewrite stopped after its files, before its marker: the marker still lists the old files.
      if (!(await listsFiles(store, markerKey, dayFiles()))) await store.replace(markerKey, markerOf(target, dayFiles(), 0, options, started));
      return emptyResult(target, 'nothing', options.now() - started);
    }
    for (const source of stale) {
      const plan = planMerge([source], { memoryBytes: options.memoryBytes, maxFileBytes: Number.POSITIVE_INFINITY });
      const metadata = footerMetadata({ topic: target.topic, kind: target.kind, version: options.version, offsets: source.ranges, compacted: true });
      const batches = mergeWindows(store, [source], { columns, held: plan.held }, plan.files.flatMap((file) => file.windows), BATCH_ROWS);
      await lock.assertHeld();
      const written = await writeParquetStream((body) => store.replace(source.key, body).then(() => true), batches, columns, metadata, options.encode);
      if (written !== null) rewritten.set(source.key, { name: nameOf(source.key), rows: written.rows, bytes: written.bytes, offsets: offsetsObject(source.ranges) });
      await options.onStep?.('created', target);
    }
    await store.replace(markerKey, markerOf(target, dayFiles(), 0, options, started));
    await options.onStep?.('marked', target);
    const written = [...rewritten.values()];
    return {
      target,
      status: 'compacted',
      files: written,
      rows: sumOf(written, (file) => file.rows),
      bytes: sumOf(written, (file) => file.bytes),
      partsRemoved: 0,
      duplicatesDropped: 0,
      windowsOverBudget: 0,
      durationMs: options.now() - started,
    };
  });
}

/** Whether the day's marker lists exactly these files (in any order), by name, rows and bytes. */
async function listsFiles(store: LakeStore, markerKey: string, files: readonly CompactedFileInfo[]): Promise<boolean> {
  const bytes = await store.read(markerKey);
  if (bytes === null) return false;
  const listed = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { files?: CompactedFileInfo[] }).files ?? [];
  const describe = (list: readonly CompactedFileInfo[]): string => JSON.stringify(list.map(({ name, rows, bytes: size }) => [name, rows, size]).sort());
  return describe(listed) === describe(files);
}
