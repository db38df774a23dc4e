import { tableFromIPC } from 'apache-arrow';
import { withParquetFile } from './footer';
import type { LakeStore } from './store/lake-store';

/** The (partition, offset) pairs a published file holds, read from its two Kafka columns only. */
export async function readPartitionOffsets(store: LakeStore, key: string): Promise<{ partitions: Int32Array; offsets: Float64Array }> {
  return withParquetFile(store, key, async (file) => {
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
  });
}
