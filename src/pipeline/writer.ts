import { setTimeout as sleep } from 'node:timers/promises';
import { CollectorError, describeError, isRetryable } from '../errors';
import { footerMetadata, type FooterFields } from '../lake/footer';
import { locationOf, type Lake } from '../lake/lake';
import { isFenceExpired } from '../lake/store/lake-store';
import { partFileName, type OutputKind } from '../lake/layout';
import { removeOffsets, type OffsetRange, type PartitionRanges } from '../lake/offset-range';
import { selectRows, type CellValue, type ColumnData, type SealedBatch } from '../parquet/batch';
import { TopicSchemas } from '../lake/topic-schema';
import type { DeclaredTopics } from '../lake/declared-schema';
import { RecordBuffer, type BufferKey, type RecordMetadata, type TypedColumn } from './buffer';
import type { Committer } from './committer';
import type { PipelineEvents, SealTrigger } from './events';
import { jsonReplacer } from './flatten';
import { appendDeadLetter } from './ingest';
import type { OffsetHolder, OffsetLedger } from './offset-ledger';

/**
 * sealed buffer → encode → publish, until it is on disk. The retry policy follows the error table:
 * a retryable failure (the disk, a lost encoder worker, the broker storing a recovery point) is
 * retried with backoff while the buffer's offsets stay uncommitted; a batch the encoder rejects for
 * good is split to find the rows at fault, which go to a dead-letter file with the reason, and the
 * rest is written as usual.
 *
 * A data file is written with its topic's schema (lake/topic-schema.ts): before sealing, the
 * buffer's column types are settled into it (widening it in the lake when they do not fit), and
 * the file carries every column the topic knows, with the topic's types, in the topic's order.
 * Dead-letter files keep their own fixed columns.
 */

export interface WriterOptions {
  readonly lake: Lake;
  readonly instanceId: string;
  readonly version: string;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** The columns declared per topic (SCHEMA_FILE): in its files whatever the data holds. */
  readonly declared: DeclaredTopics;
}

export interface WriterDeps {
  readonly encode: (batch: SealedBatch) => Promise<Uint8Array>;
  readonly committer: Pick<Committer, 'beforePublish' | 'request'>;
  readonly ledger: OffsetLedger;
  readonly events: PipelineEvents;
  readonly now: () => number;
  /** Test-only fault injection: called between publishing a file and committing its offsets. */
  readonly afterPublish?: () => void;
}

/** One file to publish: encoded bytes and the offsets they hold. */
interface EncodedFile {
  readonly kind: OutputKind;
  readonly bytes: Uint8Array;
  readonly rows: number;
  readonly ranges: PartitionRanges;
}

/** Where and when a file is published, chosen once: a retry after a lost answer looks for the same key. */
interface Placement {
  readonly key: string;
  readonly publishedAtMs: number;
}

/** A row the encoder rejects even alone, and why. */
interface RejectedRow {
  readonly row: number;
  readonly error: unknown;
}

export class Writer {
  private readonly options: WriterOptions;
  private readonly deps: WriterDeps;
  private readonly inFlight = new Set<RecordBuffer>();
  private readonly settledListeners = new Set<() => void>();
  private inFlightByteCount = 0;
  private fileSequence = 0;
  private failing = false;
  private lastPublishedAtMs: number | null = null;
  /** Writes taken before this abandon count are not published (abandonAll). */
  private abandons = 0;

  private readonly schemas: TopicSchemas;

  constructor(options: WriterOptions, deps: WriterDeps) {
    this.options = options;
    this.deps = deps;
    this.schemas = new TopicSchemas({ lake: options.lake, instanceId: options.instanceId, now: deps.now, onWidened: (schema) => deps.events.topicSchemaWidened(schema) });
  }

  /** True from a failed write attempt (disk full, read-only, permissions) until the next file is published. */
  get isFailing(): boolean {
    return this.failing;
  }

  /** When the last file was published, or null. */
  get lastPublishMs(): number | null {
    return this.lastPublishedAtMs;
  }

  get inFlightBytes(): number {
    return this.inFlightByteCount;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Whether a write under way holds records of this (topic, day). */
  holds(topic: string, day: number): boolean {
    for (const buffer of this.inFlight) if (buffer.key.topic === topic && buffer.key.day === day) return true;
    return false;
  }

  /** The writes under way, for the commit computation. */
  holders(): Iterable<OffsetHolder> {
    return this.inFlight;
  }

  /** Takes a sealed buffer; it is published in the background and the commit is asked for after. */
  write(buffer: RecordBuffer, trigger: SealTrigger): void {
    const sealedAtMs = this.deps.now();
    this.inFlight.add(buffer);
    this.inFlightByteCount += buffer.byteEstimate;
    const abandonsAtStart = this.abandons;
    void this.deliver(buffer, trigger, sealedAtMs, () => this.abandons !== abandonsAtStart).then(() => {
      this.inFlight.delete(buffer);
      this.inFlightByteCount -= buffer.byteEstimate;
      for (const listener of [...this.settledListeners]) listener();
      this.deps.committer.request();
    });
  }

  /** Resolves when the next write in flight is published. */
  nextSettled(): Promise<void> {
    return new Promise<void>((resolve) => {
      const listener = (): void => {
        this.settledListeners.delete(listener);
        resolve();
      };
      this.settledListeners.add(listener);
    });
  }

  async allSettled(): Promise<void> {
    while (this.inFlight.size > 0) await this.nextSettled();
  }

  /**
   * Drops every write under way that is not published yet (their partitions were lost: a file of
   * them published now could double their next owner's); resolves once none is left, with the
   * rows of the writes that were in flight. A write already publishing finishes: its recovery point
   * is stored, so the next owner finds its file.
   */
  async abandonAll(): Promise<number> {
    let rows = 0;
    for (const buffer of this.inFlight) rows += buffer.rowCount;
    this.abandons++;
    await this.allSettled();
    // A failure of a dropped write says nothing about the next one.
    this.failing = false;
    return rows;
  }

  private async deliver(buffer: RecordBuffer, trigger: SealTrigger, sealedAtMs: number, abandoned: () => boolean): Promise<void> {
    const { key } = buffer;
    const ranges = new Map(buffer.offsetRanges());
    const known = key.kind === 'data' ? await this.untilDone(key, abandoned, () => this.topicColumns(key.topic, buffer)) : NO_COLUMNS;
    if (known === null) return;
    const batch = buffer.seal(this.footer(key.topic, key.kind), known);
    const files = await this.untilDone(key, abandoned, () => this.encode(key, batch, ranges));
    for (const file of files ?? []) {
      const placement = this.place(key, file.kind);
      await this.untilDone(key, abandoned, () => this.publish(key, file, placement, trigger, sealedAtMs, abandoned));
    }
  }

  private async topicColumns(topic: string, buffer: RecordBuffer): Promise<readonly TypedColumn[]> {
    const declared = [...(this.options.declared.get(topic) ?? [])].map(([name, { type }]) => [name, type] as const);
    return (await this.schemas.settle(topic, [...buffer.columnTypes(), ...declared]))?.columns ?? NO_COLUMNS;
  }

  /**
   * Runs `attempt` until it succeeds, backing off; every failure that reaches here is retryable.
   * Null once the write is abandoned.
   */
  private async untilDone<T>(key: BufferKey, abandoned: () => boolean, attempt: () => Promise<T>): Promise<T | null> {
    for (let attemptNumber = 0; ; attemptNumber++) {
      if (abandoned()) return null;
      try {
        return await attempt();
      } catch (error) {
        const retryInMs = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** attemptNumber);
        // The committer reported its own failure: the output is fine, the broker did not store a recovery point.
        if (!isCommitFailure(error)) {
          this.failing = true;
          this.deps.events.writeFailed({ topic: key.topic, kind: key.kind, attempt: attemptNumber, retryInMs, error });
        }
        await sleep(retryInMs);
      }
    }
  }

  private async encode(key: BufferKey, batch: SealedBatch, ranges: PartitionRanges): Promise<EncodedFile[]> {
    try {
      return [{ kind: key.kind, bytes: await this.deps.encode(batch), rows: batch.rowCount, ranges }];
    } catch (error) {
      if (isRetryable(error)) throw error;
      return this.encodeAroundRejectedRows(key, batch, ranges, error);
    }
  }

  private async encodeAroundRejectedRows(key: BufferKey, batch: SealedBatch, ranges: PartitionRanges, error: unknown): Promise<EncodedFile[]> {
    const all = Array.from({ length: batch.rowCount }, (_, row) => row);
    let rejected = await this.rejectedRows(batch, all, error);
    const rejectedSet = new Set(rejected.map(({ row }) => row));
    const kept = all.filter((row) => !rejectedSet.has(row));
    const files: EncodedFile[] = [];
    if (kept.length > 0) {
      const keptRanges = rangesWithout(ranges, batch, rejected);
      const keptBatch = selectRows(batch, kept, this.footerWith(key.topic, key.kind, keptRanges));
      try {
        files.push({ kind: key.kind, bytes: await this.deps.encode(keptBatch), rows: kept.length, ranges: keptRanges });
      } catch (keptError) {
        if (isRetryable(keptError)) throw keptError;
        // Rows that encode in every half but not together: none of them can be written as data.
        rejected = all.map((row) => ({ row, error: keptError }));
        files.length = 0;
      }
    }
    this.deps.events.rowsRejectedByEncoder({ topic: key.topic, kind: key.kind, rejected: rejected.length, kept: batch.rowCount - rejected.length, error });
    const deadLetters = deadLetterBuffer(key, batch, rejected, this.deps.now());
    const deadLetterRanges = new Map(deadLetters.offsetRanges());
    const deadLetterBatch = deadLetters.seal(this.footer(key.topic, 'dead-letter'));
    files.push({ kind: 'dead-letter', bytes: await this.deps.encode(deadLetterBatch), rows: deadLetterBatch.rowCount, ranges: deadLetterRanges });
    return files;
  }

  /** Bisects `rows` (which fail together with `error`) down to the rows that fail alone. */
  private async rejectedRows(batch: SealedBatch, rows: readonly number[], error: unknown): Promise<RejectedRow[]> {
    if (rows.length === 1) return [{ row: rows[0], error }];
    const middle = rows.length >> 1;
    const found: RejectedRow[] = [];
    for (const half of [rows.slice(0, middle), rows.slice(middle)]) {
      try {
        await this.deps.encode(selectRows(batch, half, {}));
      } catch (halfError) {
        if (isRetryable(halfError)) throw halfError;
        found.push(...(await this.rejectedRows(batch, half, halfError)));
      }
    }
    return found;
  }

  private place(key: BufferKey, kind: OutputKind): Placement {
    const publishedAtMs = this.deps.now();
    const name = partFileName(publishedAtMs, this.options.instanceId, ++this.fileSequence);
    return { key: `${this.options.lake.layout.partFolder(key.topic, key.day, kind)}${name}`, publishedAtMs };
  }

  private async publish(key: BufferKey, file: EncodedFile, placement: Placement, trigger: SealTrigger, sealedAtMs: number, abandoned: () => boolean): Promise<void> {
    const { publishedAtMs } = placement;
    const fenceHoldsUntilMs = await this.deps.committer.beforePublish(key.topic, key.day, file.ranges.keys(), publishedAtMs);
    if (abandoned()) return;
    const fenceHolds = (): boolean => this.deps.now() <= fenceHoldsUntilMs;
    try {
      await this.create(placement.key, file.bytes, fenceHolds);
    } catch (error) {
      if (isFenceExpired(error)) this.deps.events.commitFailed(error, 'fence');
      throw error;
    }
    const lateForFence = !fenceHolds();
    this.deps.ledger.filePublished(key.topic, key.day, file.ranges, publishedAtMs);
    this.deps.afterPublish?.();
    this.failing = false;
    this.lastPublishedAtMs = publishedAtMs;
    this.deps.events.filePublished({
      topic: key.topic,
      kind: file.kind,
      path: locationOf(this.options.lake, placement.key),
      rows: file.rows,
      bytes: file.bytes.byteLength,
      ranges: file.ranges,
      trigger,
      durationMs: this.deps.now() - sealedAtMs,
      publishedAtMs,
      lateForFence,
    });
  }

  /**
   * Creates the part. The key is this process's alone (instance id and sequence), so an object
   * already there was created by an earlier attempt whose answer was lost: it is the same file when
   * its size matches.
   */
  private async create(key: string, bytes: Uint8Array, stillValid: () => boolean): Promise<void> {
    const { store } = this.options.lake;
    if (await store.create(key, bytes, stillValid)) return;
    const existing = await store.stat(key);
    if (existing?.size === bytes.byteLength) return;
    throw new CollectorError('COMPACTION_INCONSISTENT', `${key} exists with ${existing?.size ?? 'no'} bytes, not the ${bytes.byteLength} this writer created it with`, {
      context: { key, bytes: bytes.byteLength, existing: existing?.size ?? null },
    });
  }

  private footer(topic: string, kind: OutputKind): Omit<FooterFields, 'offsets'> {
    return { version: this.options.version, topic, kind, instance: this.options.instanceId };
  }

  private footerWith(topic: string, kind: OutputKind, ranges: PartitionRanges): Record<string, string> {
    return footerMetadata({ ...this.footer(topic, kind), offsets: ranges });
  }
}

const NO_COLUMNS: readonly TypedColumn[] = [];

/** The fence before a publish failed or expired: the committer or the publish reported it, the output is fine. */
function isCommitFailure(error: unknown): boolean {
  return (error instanceof CollectorError && error.code === 'KAFKA_COMMIT_FAILED') || isFenceExpired(error);
}

/** The ranges of a batch without the offsets of its rejected rows. */
function rangesWithout(ranges: PartitionRanges, batch: SealedBatch, rejected: readonly RejectedRow[]): Map<number, OffsetRange[]> {
  const partitions = column(batch, 'kafka_partition');
  const offsets = column(batch, 'kafka_offset');
  const removed = new Map<number, Set<number>>();
  for (const { row } of rejected) {
    const partition = Number(partitions[row]);
    const set = removed.get(partition) ?? new Set<number>();
    set.add(Number(offsets[row]));
    removed.set(partition, set);
  }
  const result = new Map<number, OffsetRange[]>();
  for (const [partition, list] of ranges) {
    const left = removeOffsets(list, removed.get(partition) ?? new Set());
    if (left.length > 0) result.set(partition, left);
  }
  return result;
}

/**
 * The dead-letter rows of rejected rows. The raw message bytes are gone by now (the batch holds
 * flattened columns), so `raw_value` holds the row's payload fields as JSON text.
 */
function deadLetterBuffer(key: BufferKey, batch: SealedBatch, rejected: readonly RejectedRow[], nowMs: number): RecordBuffer {
  const buffer = new RecordBuffer({ topic: key.topic, day: key.day, kind: 'dead-letter' }, nowMs);
  const byName = new Map(batch.columns.map((entry) => [entry.name, entry.values]));
  const payloadColumns = batch.columns.filter(({ name }) => !name.startsWith('kafka_'));
  for (const { row, error } of rejected) {
    const record: RecordMetadata = {
      partition: Number(byName.get('kafka_partition')?.[row]),
      offset: Number(byName.get('kafka_offset')?.[row]),
      previousOffset: -1,
      timestampMs: timestampOf(byName.get('kafka_timestamp')?.[row] ?? null),
      key: keyOf(byName.get('kafka_key_bytes')?.[row] ?? null, byName.get('kafka_key')?.[row] ?? null),
    };
    // A null cell is a field the message did not have.
    const payload = Object.fromEntries(payloadColumns.filter(({ values }) => values[row] !== null).map(({ name, values }) => [name, values[row]]));
    const value = Buffer.from(JSON.stringify(payload, jsonReplacer), 'utf8');
    appendDeadLetter(buffer, record, value, { stage: 'encode', reason: 'rejected-by-encoder', message: describeError(error) });
  }
  return buffer;
}

function column(batch: SealedBatch, name: string): ColumnData['values'] {
  return batch.columns.find((entry) => entry.name === name)?.values ?? [];
}

function timestampOf(value: CellValue): number {
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : -1;
}

function keyOf(bytes: CellValue, text: CellValue): Uint8Array | null {
  if (bytes instanceof Uint8Array) return bytes;
  return typeof text === 'string' ? Buffer.from(text, 'utf8') : null;
}
