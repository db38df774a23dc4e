import { CollectorError } from '../../errors';
import type { EncodeOptions } from '../../parquet/batch';
import { findDayFiles, listTopicDays, type LakeFile, type TopicDay } from '../files';
import { footerMetadata, readFooter } from '../footer';
import type { Lake } from '../lake';
import { closedMarkerName, compactedFileName, compactingKeyFor, compactionJournalName, compactionLockName, isCompactingName, isoDate, topicFolder } from '../layout';
import { serializeRanges } from '../offset-range';
import { applyJournal, readJournal, writeJournal, type CompactionJournal, type JournalStep } from './journal';
import { CompactionLock } from './lock';
import { mergeWindows } from './merge';
import { planMerge, sumOf, type MergePlan, type SourceSummary } from './plan';
import { writeParquetStream } from './parquet-stream';
import { scanSource } from './sources';
import { haveColumns } from '../topic-schema';
import { compactionColumns } from './day-schema';

/**
 * Compacts one closed (topic, day, kind): merges its parts, and the day's compacted files when
 * late parts arrived after an earlier pass, into `<topic>.parquet` (then `<topic>-0001.parquet`, …
 * past `maxFileBytes`) beside them, then removes the parts. Steps, each one safe to crash after:
 *
 *   lock → scan → write hidden outputs → commit (journal) → rename → remove parts → marker → done
 *
 * Before the commit a crash leaves only hidden `.compacting` files, which the repair removes;
 * after it, the repair finishes the journal. Readers of `YYYY/MM/DD/*.parquet` see the day's
 * compacted files appear by rename (a file is whole or absent); the parts disappear right after,
 * so a reader of both globs can, for that moment, see the same rows in a part and in the
 * compacted file.
 */

export interface CompactorOptions {
  readonly lake: Lake;
  /** Who holds the lock: the collector's instance id. */
  readonly owner: string;
  /** Written to the footers (`collector.version`) and the marker. */
  readonly version: string;
  /** Uncompressed row-group bytes one merge window reads (see plan.ts). */
  readonly memoryBytes: number;
  /** Estimated bytes after which the output continues in the next file. */
  readonly maxFileBytes: number;
  readonly encode: EncodeOptions;
  readonly leaseMs: number;
  readonly now: () => number;
  /** Called after each step; the daemon logs, tests simulate crashes. */
  readonly onStep?: (step: CompactionStep, target: TopicDay) => Promise<void> | void;
  readonly onProgress?: (progress: CompactionProgress) => void;
  /** `compact --rewrite`: a data day without parts is compacted again when its files do not have the topic's schema. */
  readonly rewrite?: boolean;
}

export type CompactionStep = 'locked' | 'scanned' | 'written' | 'committed' | JournalStep;

export interface CompactionProgress {
  readonly target: TopicDay;
  readonly rowsDone: number;
  readonly rowsEstimated: number;
}

export interface CompactedFileInfo {
  readonly name: string;
  readonly rows: number;
  readonly bytes: number;
  readonly offsets: Record<string, unknown>;
}

export interface CompactionResult {
  readonly target: TopicDay;
  /** locked: another collector holds the day's lock; nothing: no parts to merge. */
  readonly status: 'compacted' | 'locked' | 'nothing';
  readonly files: readonly CompactedFileInfo[];
  readonly rows: number;
  readonly bytes: number;
  readonly partsRemoved: number;
  readonly duplicatesDropped: number;
  readonly windowsOverBudget: number;
  readonly durationMs: number;
}

/** Rows per batch handed to the writer: bounds the JavaScript copies of one window's rows. */
const BATCH_ROWS = 65_536;

export async function compactDay(target: TopicDay, options: CompactorOptions): Promise<CompactionResult> {
  const started = options.now();
  const { store } = options.lake;
  const folder = options.lake.layout.dayFileFolder(target.topic, target.day, target.kind);
  const lock = await CompactionLock.acquire(store, `${folder}${compactionLockName(target.topic)}`, options);
  if (lock === null) return emptyResult(target, 'locked', options.now() - started);
  const written: string[] = [];
  let committed = false;
  try {
    await options.onStep?.('locked', target);
    await finishOrUndo(options.lake, folder, target.topic);
    const files = await findDayFiles(options.lake, target);
    const rewriting = files.parts.length === 0 && options.rewrite === true && target.kind === 'data';
    if (files.parts.length === 0 && !rewriting) return emptyResult(target, 'nothing', options.now() - started);
    const inputs = [...files.compacted, ...files.parts];
    const sources: SourceSummary[] = [];
    for (const file of inputs) sources.push(await scanSource(store, file.key));
    const merge = planMerge(sources, { memoryBytes: options.memoryBytes, maxFileBytes: options.maxFileBytes });
    // A data day is written with the topic's schema (lake/topic-schema.ts), dead letters with their own columns.
    const plan = target.kind === 'data' ? { ...merge, columns: await compactionColumns({ lake: options.lake, instanceId: options.owner, now: options.now }, target.topic, sources) } : merge;
    if (rewriting && sources.every((source) => haveColumns(source.columns, plan.columns))) return emptyResult(target, 'nothing', options.now() - started);
    await options.onStep?.('scanned', target);
    const outputs = await writeOutputs(target, folder, sources, plan, options, written);
    await options.onStep?.('written', target);
    const journal = journalFor(target, folder, inputs, files.compacted, outputs, options, started);
    await lock.assertHeld();
    const journalKey = `${folder}${compactionJournalName(target.topic)}`;
    await writeJournal(store, journalKey, journal);
    committed = true;
    await options.onStep?.('committed', target);
    await applyJournal(store, journalKey, journal, (step) => options.onStep?.(step, target));
    return {
      target,
      status: 'compacted',
      files: outputs,
      rows: sumOf(outputs, (file) => file.rows),
      bytes: sumOf(outputs, (file) => file.bytes),
      partsRemoved: files.parts.length,
      duplicatesDropped: sumOf(sources, (source) => sumOf(source.rowGroups, (group) => group.rows)) - sumOf(outputs, (file) => file.rows),
      windowsOverBudget: plan.windowsOverBudget,
      durationMs: options.now() - started,
    };
  } catch (error) {
    if (!committed) await store.remove(written).catch(() => undefined);
    if (error instanceof CollectorError) throw error;
    throw new CollectorError('COMPACTION_FAILED', `compaction of ${target.topic} ${isoDate(target.day)} (${target.kind}) failed: ${(error as Error).message}`, {
      cause: error,
      context: { topic: target.topic, day: isoDate(target.day), kind: target.kind, committed },
    });
  } finally {
    await lock.release();
  }
}

async function writeOutputs(
  target: TopicDay,
  folder: string,
  sources: readonly SourceSummary[],
  plan: MergePlan,
  options: CompactorOptions,
  written: string[],
): Promise<CompactedFileInfo[]> {
  const outputs: CompactedFileInfo[] = [];
  const rowsEstimated = sumOf(plan.files, (file) => sumOf(file.windows, (window) => window.estimatedRows));
  let rowsDone = 0;
  for (const [index, file] of plan.files.entries()) {
    const name = compactedFileName(target.topic, index);
    await assertNotAnotherTopics(options.lake, `${folder}${name}`, target.topic);
    const temp = compactingKeyFor(`${folder}${name}`);
    written.push(temp);
    const metadata = footerMetadata({ topic: target.topic, kind: target.kind, version: options.version, offsets: file.ranges, compacted: true });
    const batches = mergeWindows(options.lake.store, sources, plan.columns, file.windows, BATCH_ROWS, (update) => {
      rowsDone += update.rows + update.duplicates;
      options.onProgress?.({ target, rowsDone, rowsEstimated });
    });
    const result = await writeParquetStream(options.lake.store, temp, batches, plan.columns, metadata, options.encode);
    outputs.push({ name, rows: result.rows, bytes: result.bytes, offsets: JSON.parse(serializeRanges(file.ranges)) as Record<string, unknown> });
  }
  return outputs;
}

function journalFor(
  target: TopicDay,
  folder: string,
  inputs: readonly LakeFile[],
  compacted: readonly LakeFile[],
  outputs: readonly CompactedFileInfo[],
  options: CompactorOptions,
  startedMs: number,
): CompactionJournal {
  const finals = new Set(outputs.map((output) => `${folder}${output.name}`));
  const marker = {
    topic: target.topic,
    date: isoDate(target.day),
    kind: target.kind,
    closed: true,
    files: outputs,
    rows: sumOf(outputs, (output) => output.rows),
    partsMerged: inputs.length - compacted.length,
    compactedAt: new Date(startedMs).toISOString(),
    collectorVersion: options.version,
  };
  return {
    version: 1,
    owner: options.owner,
    outputs: [...finals].map((final) => ({ temp: compactingKeyFor(final), final })),
    remove: inputs.filter((file) => !finals.has(file.key)).map((file) => file.key),
    marker: { path: `${folder}${closedMarkerName(target.topic)}`, content: marker },
  };
}

/**
 * `x-0001.parquet` is both topic x's second file and topic `x-0001`'s first (Kafka allows both
 * names): a compaction never replaces a file whose footer names another topic.
 */
async function assertNotAnotherTopics(lake: Lake, finalKey: string, topic: string): Promise<void> {
  const footer = await readFooter(lake.store, finalKey).catch(() => null);
  if (footer !== null && footer.topic !== topic) {
    throw new CollectorError('COMPACTION_INCONSISTENT', `${finalKey} holds topic ${footer.topic ?? '(unknown)'}, not ${topic}: topic names clash with split file names`, {
      context: { key: finalKey, topic, other: footer.topic },
    });
  }
}

/**
 * What a crashed compaction of this topic left in `folder` (the caller holds the lock): a journal
 * is finished, hidden outputs without one are removed.
 */
export async function finishOrUndo(lake: Lake, folder: string, topic: string): Promise<'finished' | 'undone' | 'clean'> {
  const journalKey = `${folder}${compactionJournalName(topic)}`;
  const journal = await readJournal(lake.store, journalKey);
  if (journal !== null) {
    await applyJournal(lake.store, journalKey, journal);
    return 'finished';
  }
  const prefix = `${folder}.${topicFolder(topic)}`;
  const stale = (await lake.store.list(prefix, { delimiter: true })).objects.map((object) => object.key).filter((key) => isOwnCompactingKey(key, prefix));
  await lake.store.remove(stale);
  return stale.length > 0 ? 'undone' : 'clean';
}

/** `<folder>.<topic>.parquet.compacting` or `<folder>.<topic>-NNNN.parquet.compacting`, not another topic's. */
function isOwnCompactingKey(key: string, prefix: string): boolean {
  return key.startsWith(prefix) && isCompactingName(key.slice(key.lastIndexOf('/') + 1)) && /^(-\d{4})?\.parquet\.compacting$/.test(key.slice(prefix.length));
}

/** The (topic, day, kind)s with parts on a day that `isClosed` says is over, oldest day first. */
export async function daysToCompact(lake: Lake, isClosed: (day: number) => boolean): Promise<TopicDay[]> {
  const pending: TopicDay[] = [];
  for (const entry of await listTopicDays(lake)) {
    if (!isClosed(entry.day)) continue;
    const files = await findDayFiles(lake, entry);
    if (files.parts.length > 0) pending.push(entry);
  }
  return pending;
}

function emptyResult(target: TopicDay, status: 'locked' | 'nothing', durationMs: number): CompactionResult {
  return { target, status, files: [], rows: 0, bytes: 0, partsRemoved: 0, duplicatesDropped: 0, windowsOverBudget: 0, durationMs };
}
