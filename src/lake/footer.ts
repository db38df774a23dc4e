import { openAsBlob } from 'node:fs';
import { ParquetFile } from 'parquet-wasm';
import { parseOffsetRanges, type OffsetRange } from './offset-range';

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
