import { Table as WasmTable, transformParquetStream, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import type { ColumnLayout, EncodeOptions, SealedBatch } from '../../parquet/batch';
import { batchToIpc, writerProperties } from '../../parquet/encode';

/**
 * Writes one Parquet file from a stream of batches with parquet-wasm's streaming writer: batches
 * are encoded as they come and row groups reach the file as they fill, so a compacted file of any
 * size needs the memory of one row group being built, not of the file. Same writer settings as the
 * part files (parquet/encode.ts), with the compaction's larger row groups.
 */

export interface StreamedFile {
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Streams the file made of the batches into `write` (a store's create or replace of one key);
 * null (nothing written) when `write` answers false: the key was taken.
 */
export async function writeParquetStream(
  write: (body: AsyncIterable<Uint8Array>) => Promise<boolean>,
  batches: AsyncIterable<SealedBatch>,
  columns: ColumnLayout,
  metadata: Readonly<Record<string, string>>,
  options: EncodeOptions,
): Promise<StreamedFile | null> {
  let rows = 0;
  const iterator = batches[Symbol.asyncIterator]();
  let wroteAny = false;
  const input = new ReadableStream<WasmRecordBatch>({
    async pull(controller) {
      const next = await iterator.next();
      // The writer takes its schema from the first batch: a file without rows still gets one.
      const batch = next.done === true ? (wroteAny ? null : emptyBatch(columns)) : next.value;
      if (batch === null) {
        controller.close();
        return;
      }
      wroteAny = true;
      rows += batch.rowCount;
      const table = WasmTable.fromIPCStream(batchToIpc(batch));
      try {
        for (const recordBatch of table.recordBatches()) controller.enqueue(recordBatch);
      } finally {
        table.free();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  const output = (await transformParquetStream(input, writerProperties(metadata, options, columns))) as ReadableStream<Uint8Array>;
  let bytes = 0;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of output) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  };
  return (await write(counted())) ? { rows, bytes } : null;
}

function emptyBatch(columns: ColumnLayout): SealedBatch {
  return { rowCount: 0, columns: columns.map(({ name, type }) => ({ name, type, values: [] })), metadata: {} };
}
