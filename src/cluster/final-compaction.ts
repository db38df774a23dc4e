import type { CollectorConfig } from '../config/schema';
import { newInstanceId } from '../lake/instance-id';
import { lakeAt } from '../lake/lake';
import { lakeRetentionFor } from '../lake/retention';
import type { Logger } from '../observability/logger';
import { CollectorMetrics } from '../observability/metrics';
import { Telemetry } from '../observability/telemetry';
import { dayCloserFor } from '../pipeline/day-closer';
import { COLLECTOR_VERSION } from '../version';

/**
 * COMPACT_AFTER_ONCE with several consumer processes: one pass by the primary once every process
 * has finished, then lake retention (LAKE_RETENTION_DAYS). A pass of each process at its own stop
 * would find days the other still writes or compacts, and leave them in parts. The primary loads
 * this module only then: it consumes nothing, and keeps the compaction code (Arrow, parquet-wasm)
 * out of its memory otherwise.
 */
export async function compactAfterOnce(config: CollectorConfig, logger: Logger): Promise<void> {
  // Every process has exited: nothing of any day is buffered or being written here.
  const events = new Telemetry(logger, new CollectorMetrics({ defaultMetrics: false }));
  const lake = lakeAt(config);
  try {
    const run = { owner: newInstanceId(), version: COLLECTOR_VERSION, now: Date.now };
    const holdsDay = (): boolean => false;
    const afterPass = lakeRetentionFor(config, lake, run, { events, holdsDay }) ?? undefined;
    await dayCloserFor(config, lake, run, { holdsDay, events, afterPass }).pass();
  } finally {
    lake.store.close();
  }
}
