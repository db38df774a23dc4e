import { CollectorError } from '../../errors';
import type { EncodeOptions } from '../../parquet/batch';
import { findDayFiles, listTopicDays, nameOf, type LakeFile, type TopicDay } from '../files';
import { footerMetadata, readFooter } from '../footer';
import type { Lake } from '../lake';
import { closedMarkerName, compactedFileName, compactionLockName, isoDate } from '../layout';
import { mergePartitionRanges, serializeRanges, type PartitionRanges } from '../offset-range';
import { CompactionLock } from './lock';
import { mergeWindows } from './merge';
import { planMerge, sumOf, type MergePlan, type SourceSummary } from './plan';
import { writeParquetStream } from './parquet-stream';
import { scanSource } from './sources';
import { compactionColumns } from './day-schema';

/**
 * Compacts one closed (topic, day, kind) without ever replacing an object. The rows of its parts
 * that the day's compacted files do not hold yet are merged into new compacted files, each created
 * only if its key is free, at the day's next index: `<topic>.parquet` at the first pass, then
 * `<topic>-0001.parquet`, … (a large day split, or records that came after the day was compacted).
 * Then the closed-day marker is written and the merged parts are removed:
 *
 *   lock → scan → create outputs (one by one) → marker → remove parts
 *
 * Correctness rests on create-only writes and the files' footers, not on the lock (which only
 * keeps two collectors from doing the same work): a part is removed only once every row of it is
 * in a compacted file that exists; rows whose offsets a compacted file's footer holds are never
 * written again; and two compactors that saw different compacted files aim their first new file
 * at the same free key, so the one that was not first is refused and stops there. A crash at any
 * step leaves whole files only; the next pass removes the parts that are covered and merges the
 * rest. Readers of `YYYY/MM/DD/*.parquet` see whole compacted files appear; a reader of the parts
 * too can, between a file's creation and the parts' removal, see rows twice.
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
  /** Called after each step ('created' after each new file); the daemon logs, tests simulate crashes. */
  readonly onStep?: (step: CompactionStep, target: TopicDay) => Promise<void> | void;
  readonly onProgress?: (progress: CompactionProgress) => void;
}

export type CompactionStep = 'locked' | 'scanned' | 'created' | 'marked' | 'removed';

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
  /**
   * locked: another collector holds the day's lock, or created the key this pass aimed at first
   * (what this pass created stays, its parts wait for the next pass); nothing: no parts.
   */
  readonly status: 'compacted' | 'locked' | 'nothing';
  /** The files this pass created. */
  readonly files: readonly CompactedFileInfo[];
  readonly rows: number;
  readonly bytes: number;
  readonly partsRemoved: number;
  /** Rows of the parts not written: second copies of an offset, or offsets a compacted file held. */
  readonly duplicatesDropped: number;
  readonly windowsOverBudget: number;
  readonly durationMs: number;
}

/** Rows per batch handed to the writer: bounds the JavaScript copies of one window's rows. */
export const BATCH_ROWS = 65_536;

export interface HeldFile {
  readonly info: CompactedFileInfo;
  readonly ranges: PartitionRanges;
}

interface Outputs {
  readonly created: CompactedFileInfo[];
  /** Another compactor created one of the keys first. */
  readonly refused: boolean;
}

export async function compactDay(target: TopicDay, options: CompactorOptions): Promise<CompactionResult> {
  return underDayLock(target, options, 'compaction', async ({ lock, folder, started }) => {
    const { store } = options.lake;
    const files = await findDayFiles(options.lake, target);
    if (files.parts.length === 0) return emptyResult(target, 'nothing', options.now() - started);
    const held: HeldFile[] = [];
    for (const file of files.compacted) held.push(await heldFile(options.lake, file));
    const heldRanges = mergePartitionRanges(held.map((file) => file.ranges));
    const parts: SourceSummary[] = [];
    for (const file of files.parts) parts.push(await scanSource(store, file.key));
    const merge = planMerge(parts, { memoryBytes: options.memoryBytes, maxFileBytes: options.maxFileBytes }, heldRanges);
    // A data day is written with the topic's schema (lake/topic-schema.ts), dead letters with their own columns.
    const plan = target.kind === 'data' ? { ...merge, columns: await compactionColumns({ lake: options.lake, instanceId: options.owner, now: options.now }, target.topic, parts) } : merge;
    await options.onStep?.('scanned', target);
    const firstIndex = files.compacted.length === 0 ? 0 : Math.max(...files.compacted.map((file) => file.index)) + 1;
    // Parts whose every offset is held need no new file; a part without ranges (not the collector's) is always merged.
    const allHeld = plan.ranges.size === 0 && parts.every((part) => part.ranges.size > 0);
    const outputs = allHeld ? { created: [], refused: false } : await createOutputs(target, folder, parts, plan, firstIndex, { options, lock });
    const partRows = sumOf(parts, (part) => sumOf(part.rowGroups, (group) => group.rows));
    const result = {
      target,
      files: outputs.created,
      rows: sumOf(outputs.created, (file) => file.rows),
      bytes: sumOf(outputs.created, (file) => file.bytes),
      duplicatesDropped: partRows - sumOf(outputs.created, (file) => file.rows),
      windowsOverBudget: plan.windowsOverBudget,
    };
    if (outputs.refused) return { ...result, status: 'locked', partsRemoved: 0, duplicatesDropped: 0, durationMs: options.now() - started };
    const dayFiles = [...held.map((file) => file.info), ...outputs.created];
    await store.replace(`${folder}${closedMarkerName(target.topic)}`, markerOf(target, dayFiles, parts.length, options, started));
    await options.onStep?.('marked', target);
    await store.remove(files.parts.map((file) => file.key));
    await options.onStep?.('removed', target);
    return { ...result, status: 'compacted', partsRemoved: files.parts.length, durationMs: options.now() - started };
  });
}

/**
 * Runs `work` under the (topic, day, kind)'s compaction lock (a 'locked' result while another
 * collector holds it), then releases it; an unexpected error becomes COMPACTION_FAILED naming the day.
 */
export async function underDayLock(
  target: TopicDay,
  options: CompactorOptions,
  what: string,
  work: (held: { readonly lock: CompactionLock; readonly folder: string; readonly started: number }) => Promise<CompactionResult>,
): Promise<CompactionResult> {
  const started = options.now();
  const folder = options.lake.layout.dayFileFolder(target.topic, target.day, target.kind);
  const lock = await CompactionLock.acquire(options.lake.store, `${folder}${compactionLockName(target.topic)}`, options);
  if (lock === null) return emptyResult(target, 'locked', options.now() - started);
  try {
    await options.onStep?.('locked', target);
    return await work({ lock, folder, started });
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    throw new CollectorError('COMPACTION_FAILED', `${what} of ${target.topic} ${isoDate(target.day)} (${target.kind}) failed: ${(error as Error).message}`, {
      cause: error,
      context: { topic: target.topic, day: isoDate(target.day), kind: target.kind },
    });
  } finally {
    await lock.release();
  }
}

export async function heldFile(lake: Lake, file: LakeFile): Promise<HeldFile> {
  const footer = await readFooter(lake.store, file.key);
  return { info: { name: nameOf(file.key), rows: footer.rows, bytes: file.bytes, offsets: offsetsObject(footer.ranges) }, ranges: footer.ranges };
}


export function offsetsObject(ranges: PartitionRanges): Record<string, unknown> {
  return JSON.parse(serializeRanges(ranges)) as Record<string, unknown>;
}

/** Creates the plan's files at `firstIndex` on, in order, stopping at the first key another compactor took. */
async function createOutputs(
  target: TopicDay,
  folder: string,
  sources: readonly SourceSummary[],
  plan: MergePlan,
  firstIndex: number,
  run: { readonly options: CompactorOptions; readonly lock: CompactionLock },
): Promise<Outputs> {
  const { options, lock } = run;
  const created: CompactedFileInfo[] = [];
  const rowsEstimated = sumOf(plan.files, (file) => sumOf(file.windows, (window) => window.estimatedRows));
  let rowsDone = 0;
  for (const [position, file] of plan.files.entries()) {
    const name = compactedFileName(target.topic, firstIndex + position);
    const key = `${folder}${name}`;
    await lock.assertHeld();
    const metadata = footerMetadata({ topic: target.topic, kind: target.kind, version: options.version, offsets: file.ranges, compacted: true });
    const batches = mergeWindows(options.lake.store, sources, plan, file.windows, BATCH_ROWS, (update) => {
      rowsDone += update.rows + update.duplicates;
      options.onProgress?.({ target, rowsDone, rowsEstimated });
    });
    const written = await writeParquetStream((body) => options.lake.store.create(key, body), batches, plan.columns, metadata, options.encode);
    if (written === null) {
      await assertSameTopic(options.lake, key, target.topic);
      return { created, refused: true };
    }
    created.push({ name, rows: written.rows, bytes: written.bytes, offsets: offsetsObject(file.ranges) });
    await options.onStep?.('created', target);
  }
  return { created, refused: false };
}

/**
 * `x-0001.parquet` is both topic x's second file and topic `x-0001`'s first (Kafka allows both
 * names): a key taken by another topic's file is a clash of names, not a lost race, and a later
 * pass would meet it again.
 */
async function assertSameTopic(lake: Lake, key: string, topic: string): Promise<void> {
  const footer = await readFooter(lake.store, key).catch(() => null);
  if (footer !== null && footer.topic !== topic) {
    throw new CollectorError('COMPACTION_INCONSISTENT', `${key} holds topic ${footer.topic ?? '(unknown)'}, not ${topic}: topic names clash with split file names`, {
      context: { key, topic, other: footer.topic },
    });
  }
}

export function markerOf(target: TopicDay, files: readonly CompactedFileInfo[], partsMerged: number, options: CompactorOptions, startedMs: number): Uint8Array {
  const marker = {
    topic: target.topic,
    date: isoDate(target.day),
    kind: target.kind,
    closed: true,
    files,
    rows: sumOf(files, (file) => file.rows),
    partsMerged,
    compactedAt: new Date(startedMs).toISOString(),
    collectorVersion: options.version,
  };
  return Buffer.from(`${JSON.stringify(marker, null, 2)}\n`);
}

/** A closed (topic, day, kind) with parts, and whether it has compacted files already. */
export interface DayToCompact extends TopicDay {
  readonly compacted: boolean;
}

/** The (topic, day, kind)s with parts on a day that `isClosed` says is over, oldest day first. */
export async function daysToCompact(lake: Lake, isClosed: (day: number) => boolean): Promise<DayToCompact[]> {
  const pending: DayToCompact[] = [];
  for (const entry of await listTopicDays(lake)) {
    if (!isClosed(entry.day)) continue;
    const files = await findDayFiles(lake, entry);
    if (files.parts.length > 0) pending.push({ ...entry, compacted: files.compacted.length > 0 });
  }
  return pending;
}

export function emptyResult(target: TopicDay, status: CompactionResult['status'], durationMs: number): CompactionResult {
  return { target, status, files: [], rows: 0, bytes: 0, partsRemoved: 0, duplicatesDropped: 0, windowsOverBudget: 0, durationMs };
}
