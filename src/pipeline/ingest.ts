import type { SourceMessage } from '../kafka/consumer-port';
import type { OutputKind } from '../lake/layout';
import { RecordBuffer, type RecordMetadata } from './buffer';
import { decodeValue, hasInvalidUtf8Strings, type DecodeLimits } from './decode';
import type { BufferState, PipelineEvents, RecordsNotOurs, SealTrigger, ValuesMisfit } from './events';
import { createFlatFields, flattenPayload, plainValue, type FlattenLimits, type PlainValue } from './flatten';
import { flattenMessagePack } from './msgpack-flatten';
import { markWholeFloats } from './msgpack-floats';
import { fitDeclared, type FieldMisfit } from './declared-fields';
import { declaredFieldsOf, misfitReason, type DeclaredColumn, type DeclaredTopics } from '../lake/declared-schema';
import type { OffsetLedger } from './offset-ledger';
import { cutDay, type DayCutOptions } from '../lake/day-cut';
import { dayOfTimestamp } from './route';

/**
 * decode → flatten → route → buffer, and every reason to seal a buffer: rows, bytes and age
 * limits, the memory budget, revocation and shutdown. A sealed buffer leaves here for good, handed
 * to `onSealed` (the writer).
 */

export interface IngestOptions {
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly flushIntervalMs: number;
  readonly decodeLimits: DecodeLimits;
  readonly flattenLimits: FlattenLimits;
  /** Which day a record belongs to: time zone, and the payload field to take the instant from (or null). */
  readonly dayCut: DayCutOptions;
  /** Columns declared per topic (SCHEMA_FILE) and timestamp fields of every topic (TIMESTAMP_FIELDS): see declared-fields.ts. */
  readonly declared: DeclaredTopics;
  readonly timestampFields: readonly string[];
}

export interface IngestDeps {
  readonly ledger: OffsetLedger;
  readonly events: PipelineEvents;
  readonly now: () => number;
  /** Whether a record of this topic is still wanted (one-shot MAX_MESSAGES); counts it when so. */
  readonly admit: (topic: string) => boolean;
  readonly onSealed: (buffer: RecordBuffer, trigger: SealTrigger) => void;
}

export class Ingest {
  /** Records of the batch being ingested that are not this member's to write, per partition and reason. */
  private readonly notOurs = new Map<string, RecordsNotOurs>();
  /** Values of the batch being ingested nulled for not fitting their column, per topic and column. */
  private readonly misfits = new Map<string, ValuesMisfit>();
  /** The fields of the record under way that did not fit (reused). */
  private readonly recordMisfits: FieldMisfit[] = [];
  /** Each topic's fields with a declared type (none for most topics: nothing to do per record). */
  private readonly declaredFields = new Map<string, ReadonlyMap<string, DeclaredColumn>>();
  /** Whether any field is declared at all: without SCHEMA_FILE and TIMESTAMP_FIELDS a record costs no lookup. */
  private readonly anyDeclared: boolean;
  private readonly options: IngestOptions;
  private readonly deps: IngestDeps;
  private readonly open = new Map<string, RecordBuffer>();
  private readonly flat = createFlatFields();
  private lastBuffer: RecordBuffer | null = null;
  /** UTC days of the Kafka timestamp (the default) need no time-zone arithmetic. */
  private readonly utcKafkaDays: boolean;
  private readonly fieldOfRecord = (name: string): PlainValue | undefined => {
    const index = this.flat.names.indexOf(name);
    return index === -1 ? undefined : plainValue(this.flat.values[index]);
  };

  constructor(options: IngestOptions, deps: IngestDeps) {
    this.options = options;
    this.deps = deps;
    this.utcKafkaDays = options.dayCut.sourceField === null && options.dayCut.timeZone === 'UTC';
    this.anyDeclared = options.declared.size > 0 || options.timestampFields.length > 0;
  }

  /** Whether an open buffer holds records of this (topic, day). */
  holds(topic: string, day: number): boolean {
    for (const buffer of this.open.values()) if (buffer.key.topic === topic && buffer.key.day === day) return true;
    return false;
  }

  /** The day of the record whose fields are in `this.flat` (the Kafka timestamp's for dead letters). */
  private dayOf(topic: string, timestampMs: number, withFields: boolean): number {
    if (this.utcKafkaDays) return dayOfTimestamp(timestampMs);
    const cut = cutDay(timestampMs, withFields ? this.fieldOfRecord : noField, withFields ? this.options.dayCut : { ...this.options.dayCut, sourceField: null });
    if (cut.fallback !== null) this.deps.events.dayFellBack(topic, cut.fallback);
    return cut.day;
  }

  /** The open buffers (they hold records the commit must not pass). */
  buffers(): Iterable<RecordBuffer> {
    return this.open.values();
  }

  bufferedBytes(): number {
    let total = 0;
    for (const buffer of this.open.values()) total += buffer.byteEstimate;
    return total;
  }

  ingestBatch(messages: readonly SourceMessage[]): void {
    const counts = new Map<string, { messages: number; bytes: number }>();
    for (const message of messages) {
      if (!this.deps.admit(message.topic)) continue;
      let count = counts.get(message.topic);
      if (count === undefined) {
        count = { messages: 0, bytes: 0 };
        counts.set(message.topic, count);
      }
      count.messages++;
      count.bytes += message.size + (message.key?.length ?? 0);
      this.ingest(message);
    }
    for (const [topic, count] of counts) this.deps.events.messagesConsumed(topic, count.messages, count.bytes);
    for (const skipped of this.notOurs.values()) this.deps.events.recordsNotOursSkipped(skipped);
    this.notOurs.clear();
    for (const misfit of this.misfits.values()) this.deps.events.valuesMisfit(misfit);
    this.misfits.clear();
  }

  private ingest(message: SourceMessage): void {
    const { topic, partition, offset } = message;
    const state = this.deps.ledger.owned(topic, partition);
    if (state === undefined || state.isBelowCommit(offset)) {
      this.skipNotOurs(topic, partition, state === undefined ? 'not-assigned' : 'below-commit');
      return;
    }
    const previousOffset = state.advance(offset);
    if (state.skip.length > 0 && state.isPublished(offset)) return;
    const timestampMs = message.timestamp ?? -1;
    const record: RecordMetadata = { partition, offset, previousOffset, timestampMs, key: toKeyBytes(message.key) };
    const value = message.value ?? null;
    if (value === null || value.length > this.options.decodeLimits.maxValueBytes || !flattenMessagePack(value, this.flat, this.options.flattenLimits)) {
      if (!this.decodeAndFlatten(topic, record, value)) return;
    }
    if (this.anyDeclared) {
      const declared = this.declaredFieldsOf(topic);
      if (declared.size > 0 && !this.fitDeclared(topic, record, value, declared)) return;
    }
    const buffer = this.bufferFor(topic, this.dayOf(topic, timestampMs, true), 'data');
    buffer.beginRow(record);
    buffer.setFields(this.flat.names, this.flat.values);
    this.sealIfFull(buffer);
  }

  private declaredFieldsOf(topic: string): ReadonlyMap<string, DeclaredColumn> {
    let fields = this.declaredFields.get(topic);
    if (fields === undefined) {
      fields = declaredFieldsOf(this.options.declared, this.options.timestampFields, topic);
      this.declaredFields.set(topic, fields);
    }
    return fields;
  }

  /** Declared fields made to fit their types (nulled and counted); false when a misfit dead-lettered the record. */
  private fitDeclared(topic: string, record: RecordMetadata, value: Uint8Array | null, declared: ReadonlyMap<string, DeclaredColumn>): boolean {
    const misfits = this.recordMisfits;
    fitDeclared(this.flat, declared, misfits);
    if (misfits.length === 0) return true;
    const deadLettering = misfits.find((misfit) => misfit.declared.onMisfit === 'dead-letter');
    if (deadLettering !== undefined) {
      misfits.length = 0;
      const { name, declared: column } = deadLettering;
      this.deadLetter(topic, record, value, 'schema', misfitReason(column.type), `field ${name} does not fit its declared type ${column.type}`);
      return false;
    }
    for (const { name, declared: column } of misfits) {
      const key = `${topic}\u0000${name}`;
      const counted = this.misfits.get(key);
      if (counted === undefined) this.misfits.set(key, { topic, column: name, reason: misfitReason(column.type), values: 1 });
      else counted.values++;
    }
    misfits.length = 0;
    return true;
  }

  private skipNotOurs(topic: string, partition: number, reason: RecordsNotOurs['reason']): void {
    const key = `${topic}\u0000${partition}\u0000${reason}`;
    const skipped = this.notOurs.get(key);
    if (skipped === undefined) this.notOurs.set(key, { topic, partition, reason, records: 1 });
    else skipped.records++;
  }

  /** The general path of decode and flatten into `this.flat`; false when the record was dead-lettered. */
  private decodeAndFlatten(topic: string, record: RecordMetadata, value: Uint8Array | null): boolean {
    const decoded = decodeValue(value, this.options.decodeLimits);
    if (!decoded.ok) {
      this.deadLetter(topic, record, value, 'decode', decoded.reason, decoded.message);
      return false;
    }
    if (decoded.payload === null) {
      this.flat.names.length = 0;
      this.flat.values.length = 0;
      return true;
    }
    const failure = flattenPayload(decoded.payload, this.flat, this.options.flattenLimits);
    if (failure !== null) {
      this.deadLetter(topic, record, value, 'flatten', failure.reason, failure.message);
      return false;
    }
    if (decoded.format !== 'msgpack' || value === null) return true;
    if (this.flat.sawReplacementCharacter && hasInvalidUtf8Strings(value)) {
      this.deadLetter(topic, record, value, 'decode', 'invalid-utf8', 'a MessagePack string holds bytes that are not UTF-8');
      return false;
    }
    markWholeFloats(value, this.flat);
    return true;
  }

  private deadLetter(topic: string, record: RecordMetadata, value: Uint8Array | null, stage: string, reason: string, message: string): void {
    this.deps.events.deadLettered({ topic, partition: record.partition, offset: record.offset, stage, reason, message });
    const buffer = this.bufferFor(topic, this.dayOf(topic, record.timestampMs, false), 'dead-letter');
    appendDeadLetter(buffer, record, value, { stage, reason, message });
    this.sealIfFull(buffer);
  }

  private bufferFor(topic: string, day: number, kind: OutputKind): RecordBuffer {
    const last = this.lastBuffer;
    if (last !== null && last.key.day === day && last.key.topic === topic && last.key.kind === kind) return last;
    const id = bufferId(topic, day, kind);
    let buffer = this.open.get(id);
    if (buffer === undefined) {
      buffer = new RecordBuffer({ topic, day, kind }, this.deps.now());
      this.open.set(id, buffer);
    }
    this.lastBuffer = buffer;
    return buffer;
  }

  private sealIfFull(buffer: RecordBuffer): void {
    if (buffer.rowCount >= this.options.maxRows) this.seal(buffer, 'rows');
    else if (buffer.byteEstimate >= this.options.maxBytes) this.seal(buffer, 'bytes');
  }

  /** Seals the buffers older than the flush interval, so an idle topic still flushes. */
  sealAged(): void {
    const now = this.deps.now();
    for (const buffer of [...this.open.values()]) {
      if (now - buffer.createdAtMs >= this.options.flushIntervalMs) this.seal(buffer, 'age');
    }
  }

  /** Seals the largest buffers first (the fewest early seals free the most memory) while `overBudget` says so. */
  sealForMemory(overBudget: () => boolean): void {
    const bySize = [...this.open.values()].sort((a, b) => b.byteEstimate - a.byteEstimate);
    for (const buffer of bySize) {
      if (!overBudget()) return;
      this.seal(buffer, 'memory');
    }
  }

  /** Seals every buffer holding a record of one of these (topic, partition) keys. */
  sealHolding(topic: string, partitions: ReadonlySet<number>, trigger: SealTrigger): void {
    for (const buffer of [...this.open.values()]) {
      if (buffer.key.topic !== topic) continue;
      if ([...buffer.offsetRanges().keys()].some((partition) => partitions.has(partition))) this.seal(buffer, trigger);
    }
  }

  sealAll(trigger: SealTrigger): void {
    for (const buffer of [...this.open.values()]) this.seal(buffer, trigger);
  }

  /** Forgets every open buffer without publishing it (the partitions were lost); returns their rows. */
  dropAll(): number {
    let rows = 0;
    for (const buffer of this.open.values()) rows += buffer.rowCount;
    this.open.clear();
    this.lastBuffer = null;
    return rows;
  }

  /** Rows, bytes and age of what is buffered, for the gauges. */
  measure(inFlightBytes: number): BufferState {
    const now = this.deps.now();
    const rowsByTopic = new Map<string, number>();
    const oldestAgeMsByTopic = new Map<string, number>();
    for (const buffer of this.open.values()) {
      const topic = buffer.key.topic;
      rowsByTopic.set(topic, (rowsByTopic.get(topic) ?? 0) + buffer.rowCount);
      oldestAgeMsByTopic.set(topic, Math.max(oldestAgeMsByTopic.get(topic) ?? 0, now - buffer.createdAtMs));
    }
    return { heldBytes: this.bufferedBytes() + inFlightBytes, rowsByTopic, oldestAgeMsByTopic };
  }

  private seal(buffer: RecordBuffer, trigger: SealTrigger): void {
    const id = bufferId(buffer.key.topic, buffer.key.day, buffer.key.kind);
    if (this.open.get(id) !== buffer) return;
    this.open.delete(id);
    if (this.lastBuffer === buffer) this.lastBuffer = null;
    this.deps.onSealed(buffer, trigger);
  }
}

/** The dead-letter row of a record: its metadata, its raw bytes and why it is here. */
export function appendDeadLetter(buffer: RecordBuffer, record: RecordMetadata, value: Uint8Array | null, why: { stage: string; reason: string; message: string }): void {
  buffer.beginRow(record);
  buffer.setField('raw_value', value);
  buffer.setField('error_stage', why.stage);
  buffer.setField('error_reason', why.reason);
  buffer.setField('error_message', why.message);
}

const noField = (): undefined => undefined;

function bufferId(topic: string, day: number, kind: OutputKind): string {
  return `${kind}\u0000${day}\u0000${topic}`;
}

function toKeyBytes(key: SourceMessage['key']): Uint8Array | null {
  if (key === undefined || key === null) return null;
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}
