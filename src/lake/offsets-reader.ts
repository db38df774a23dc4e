import { openAsBlob } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';

/** The (partition, offset) pairs a published file holds, read from its two Kafka columns only. */
export async function readPartitionOffsets(filePath: string): Promise<{ partitions: Int32Array; offsets: Float64Array }> {
  const file = await ParquetFile.fromFile(await openAsBlob(filePath));
  try {
    const wasmTable = await file.read({ columns: ['kafka_partition', 'kafka_offset'] });
    const table = tableFromIPC(wasmTable.intoIPCStream());
    const partitionColumn = table.getChild('kafka_partition');
    const offsetColumn = table.getChild('kafka_offset');
    const partitions = new Int32Array(table.numRows);
    const offsets = new Float64Array(table.numRows);
    for (let row = 0; row < table.numRows; row++) {
      partitions[row] = Number(partitionColumn?.get(row));
      offsets[row] = Number(offsetColumn?.get(row));
    }
    return { partitions, offsets };
  } finally {
    file.free();
  }
}
