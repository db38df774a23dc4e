/** Builds lakes of real part files, written by the project's own encoder and publish step. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ColumnData, SealedBatch } from '../../../../src/parquet/batch';
import { encodeParquet } from '../../../../src/parquet/encode';
import { coerce, inferColumnType, type RawValue } from '../../../../src/parquet/schema';
import { partFileName, seedLayout, type LakeLayout, type OutputKind } from '../../../../src/lake/layout';
import { footerMetadata } from '../../../../src/lake/footer';
import { mergeRanges, type OffsetRange } from '../../../../src/lake/offset-range';
import { LocalStore } from '../../../../src/lake/store/local';
import { localLake } from '../../../harness/local-lake';
import type { CompactorOptions } from '../../../../src/lake/compaction/compact-day';

export interface TestRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs?: number;
  readonly fields?: Readonly<Record<string, RawValue>>;
}

export const DAY = Date.UTC(2025, 9, 17) / 86_400_000;

export function tempLake(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'lake-compaction-'));
}

export function removeLake(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A copy of the lake as it is on disk right now: what a crash at this moment would leave. */
export function snapshotLake(dir: string): string {
  const copy = tempLake();
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/** The rows as the buffer stage seals them: Kafka columns first, then fields in first-seen order. */
export function batchOf(topic: string, records: readonly TestRecord[], kind: OutputKind = 'data'): SealedBatch {
  const sorted = [...records].sort((a, b) => a.partition - b.partition);
  const names: string[] = [];
  for (const record of sorted) for (const name of Object.keys(record.fields ?? {})) if (!names.includes(name)) names.push(name);
  const raw: Record<string, RawValue[]> = {
    kafka_topic: sorted.map(() => topic),
    kafka_partition: sorted.map((record) => record.partition),
    kafka_offset: sorted.map((record) => record.offset),
    kafka_timestamp: sorted.map((record) => new Date(record.timestampMs ?? DAY * 86_400_000 + record.offset * 1000)),
  };
  for (const name of names) raw[name] = sorted.map((record) => record.fields?.[name] ?? null);
  const columns: ColumnData[] = Object.entries(raw).map(([name, values]) => {
    const type = inferColumnType(values) ?? 'string';
    return { name, type, values: values.map((value) => coerce(value, type)) };
  });
  const byPartition = new Map<number, OffsetRange[]>();
  for (const record of sorted) byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), [record.offset, record.offset]]);
  const ranges = new Map([...byPartition].map(([partition, list]) => [partition, mergeRanges(list)]));
  return {
    rowCount: sorted.length,
    columns,
    metadata: footerMetadata({ topic, kind, version: 'test', offsets: ranges }),
  };
}

let sequence = 0;

export async function writePart(
  outputDir: string,
  topic: string,
  records: readonly TestRecord[],
  options: { day?: number; kind?: OutputKind; layout?: LakeLayout; publishedAtMs?: number } = {},
): Promise<string> {
  const layout = options.layout ?? seedLayout;
  const kind = options.kind ?? 'data';
  const key = `${layout.partFolder(topic, options.day ?? DAY, kind)}${partFileName(options.publishedAtMs ?? Date.UTC(2025, 9, 17, 12) + ++sequence, 'abcd1234', ++sequence)}`;
  const store = new LocalStore(outputDir);
  await store.create(key, encodeParquet(batchOf(topic, records, kind), { compression: 'zstd', rowGroupSize: 1000 }));
  return store.pathOf(key);
}

export function records(partition: number, from: number, to: number, fields: (offset: number) => Record<string, RawValue> = () => ({})): TestRecord[] {
  const list: TestRecord[] = [];
  for (let offset = from; offset <= to; offset++) list.push({ partition, offset, fields: fields(offset) });
  return list;
}

export function compactorOptions(outputDir: string, overrides: Partial<CompactorOptions> = {}): CompactorOptions {
  return {
    lake: localLake(outputDir),
    owner: 'owner-a',
    version: 'test',
    memoryBytes: 64 * 1024 * 1024,
    maxFileBytes: 1024 * 1024 * 1024,
    encode: { compression: 'zstd', rowGroupSize: 1_000_000 },
    leaseMs: 30_000,
    now: Date.now,
    ...overrides,
  };
}
