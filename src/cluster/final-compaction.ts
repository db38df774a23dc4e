import type { CollectorConfig } from '../config/schema';
import { newInstanceId } from '../lake/instance-id';
import { lakeAt } from '../lake/lake';
import type { Logger } from '../observability/logger';
import { CollectorMetrics } from '../observability/metrics';
import { Telemetry } from '../observability/telemetry';
import { dayCloserFor } from '../pipeline/day-closer';
import { COLLECTOR_VERSION } from '../version';

/**
 * COMPACT_AFTER_ONCE with several consumer processes: one pass by the primary once every process
 * has finished. A pass of each process at its own stop would find days the other still writes or
 * compacts, and leave them in parts. The primary loads this module only then: it consumes nothing,
 * and keeps the compaction code (Arrow, parquet-wasm) out of its memory otherwise.
 */
export async function compactAfterOnce(config: CollectorConfig, logger: Logger): Promise<void> {
  // Every process has exited: nothing of any day is buffered or being written here.
  const events = new Telemetry(logger, new CollectorMetrics({ defaultMetrics: false }));
  const lake = lakeAt(config);
  try {
    await dayCloserFor(config, lake, { owner: newInstanceId(), version: COLLECTOR_VERSION, now: Date.now }, { holdsDay: () => false, events }).pass();
  } finally {
    lake.store.close();
  }
}
