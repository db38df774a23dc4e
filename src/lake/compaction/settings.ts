import type { CollectorConfig } from '../../config/schema';
import type { Lake } from '../lake';
import type { CompactorOptions } from './compact-day';

/** The compactor's options from the configuration: one mapping for the daemon and the `compact` command. */
export function compactorOptionsFrom(
  config: CollectorConfig,
  lake: Lake,
  run: { readonly owner: string; readonly version: string; readonly now: () => number },
): CompactorOptions {
  const compaction = config.lake.compaction;
  return {
    lake,
    owner: run.owner,
    version: run.version,
    memoryBytes: compaction.memoryBytes,
    maxFileBytes: compaction.maxFileBytes,
    encode: { compression: config.output.compression, rowGroupSize: compaction.rowGroupSize },
    leaseMs: compaction.lockLeaseMs,
    now: run.now,
  };
}
