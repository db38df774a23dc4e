import { openAsBlob } from 'node:fs';
import { ParquetFile } from 'parquet-wasm';
import type { OffsetRange } from '../pipeline/buffer';

/**
 * Reads what a published file says about itself in its footer: which topic it holds and the
 * offset ranges per partition. Only the footer is read (the file is opened as a lazy Blob).
 */

export interface FileFooter {
  readonly topic: string | null;
  readonly kind: string | null;
  readonly version: string | null;
  readonly rows: number;
  readonly ranges: ReadonlyMap<number, readonly OffsetRange[]>;
}

export async function readFooter(filePath: string): Promise<FileFooter> {
  const file = await ParquetFile.fromFile(await openAsBlob(filePath));
  try {
    const metadata = file.metadata();
    const fileMetadata = metadata.fileMetadata();
    const keyValue = fileMetadata.keyValueMetadata() as Map<string, string>;
    return {
      topic: keyValue.get('collector.topic') ?? null,
      kind: keyValue.get('collector.kind') ?? null,
      version: keyValue.get('collector.version') ?? null,
      rows: Number(fileMetadata.numRows()),
      ranges: parseOffsetRanges(keyValue.get('collector.offsets') ?? '{}'),
    };
  } finally {
    file.free();
  }
}

/** Parses the footer's `collector.offsets` ({"<partition>": [[first, last], …]}); malformed entries are dropped. */
export function parseOffsetRanges(json: string): Map<number, OffsetRange[]> {
  const ranges = new Map<number, OffsetRange[]>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return ranges;
  }
  if (typeof parsed !== 'object' || parsed === null) return ranges;
  for (const [partition, list] of Object.entries(parsed)) {
    if (!Array.isArray(list)) continue;
    const valid = list.filter(
      (range): range is OffsetRange => Array.isArray(range) && range.length === 2 && Number.isSafeInteger(range[0]) && Number.isSafeInteger(range[1]) && range[0] <= range[1],
    );
    if (valid.length > 0 && /^\d+$/.test(partition)) ranges.set(Number(partition), valid);
  }
  return ranges;
}
