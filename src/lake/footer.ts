import { ParquetFile } from 'parquet-wasm';
import type { LakeStore } from './store/lake-store';
import { parseOffsetRanges, serializeRanges, type OffsetRange, type PartitionRanges } from './offset-range';

/**
 * What a published file says about itself in its Parquet footer (key-value metadata), both ways:
 * the `collector.*` keys are written and read only here. And the one place a Parquet file of the
 * lake is opened: lazily, through the store, so that a footer or one row group is all that is read.
 */

const KEYS = {
  version: 'collector.version',
  topic: 'collector.topic',
  kind: 'collector.kind',
  instance: 'collector.instance',
  offsets: 'collector.offsets',
  compacted: 'collector.compacted',
} as const;

export interface FooterFields {
  readonly version: string;
  readonly topic: string;
  readonly kind: string;
  /** The collector process that wrote a part. */
  readonly instance?: string;
  readonly offsets?: PartitionRanges;
  readonly compacted?: boolean;
}

/** The key-value metadata of a file with these fields. */
export function footerMetadata(fields: FooterFields): Record<string, string> {
  const metadata: Record<string, string> = { [KEYS.version]: fields.version, [KEYS.topic]: fields.topic, [KEYS.kind]: fields.kind };
  if (fields.instance !== undefined) metadata[KEYS.instance] = fields.instance;
  if (fields.offsets !== undefined) metadata[KEYS.offsets] = serializeRanges(fields.offsets);
  if (fields.compacted === true) metadata[KEYS.compacted] = 'true';
  return metadata;
}

export interface FileFooter {
  readonly topic: string | null;
  readonly kind: string | null;
  readonly version: string | null;
  readonly rows: number;
  readonly ranges: ReadonlyMap<number, readonly OffsetRange[]>;
}

/** The footer of an open file. */
export function footerOf(file: ParquetFile): FileFooter {
  const fileMetadata = file.metadata().fileMetadata();
  const keyValue = fileMetadata.keyValueMetadata() as Map<string, string>;
  return {
    topic: keyValue.get(KEYS.topic) ?? null,
    kind: keyValue.get(KEYS.kind) ?? null,
    version: keyValue.get(KEYS.version) ?? null,
    rows: Number(fileMetadata.numRows()),
    ranges: parseOffsetRanges(keyValue.get(KEYS.offsets) ?? '{}'),
  };
}

/** Opens the Parquet file at `key`, hands it to `use`, and frees it. */
export async function withParquetFile<T>(store: LakeStore, key: string, use: (file: ParquetFile) => Promise<T> | T): Promise<T> {
  const file = await ParquetFile.fromFile(await store.open(key));
  try {
    return await use(file);
  } finally {
    file.free();
  }
}

export async function readFooter(store: LakeStore, key: string): Promise<FileFooter> {
  return withParquetFile(store, key, footerOf);
}
