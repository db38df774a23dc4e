/**
 * How MEMORY_BUDGET_BYTES is spent. The budget bounds the data the collector holds on top of its
 * fixed runtime overhead, in three places:
 * - librdkafka's prefetch queue (messages fetched but not yet consumed), a sixteenth of the budget,
 *   between librdkafka's least (1 KiB) and its own default of 64 MiB: a larger queue did not
 *   consume faster;
 * - rows in the (topic, day) buffers, which live in the V8 heap: at most half of the budget;
 * - the rest holds buffers plus sealed files waiting for or inside the encoder.
 * The V8 heap limits the launcher sets (bin/redpanda-parquet-collector) leave room above the
 * buffers for garbage: without them V8 lets garbage grow to several times the live data before a
 * full collection, which alone took the collector past budget plus overhead. The young generation
 * scales with the budget up to V8's own 16 MiB semi-spaces, reached at a 512 MiB budget. At the
 * default 256 MiB, 8 MiB semi-spaces against 16 lowered the peak RSS of the 5,000,000-message
 * memory run from 358-366 to 343 MiB; on the throughput benchmark they cost about 3%.
 */

const MIB = 1024 * 1024;
const MIN_PREFETCH_BYTES = 1024;
const MAX_PREFETCH_BYTES = 64 * MIB;
/** Heap above the budget: the collector's own objects, caches and garbage between collections. */
const HEAP_HEADROOM_MIB = 64;
const MAX_SEMI_SPACE_MIB = 16;

export interface MemoryPlan {
  /** librdkafka's queued.max.messages.kbytes, in bytes. */
  readonly prefetchQueueBytes: number;
  /** Over this, the largest buffers are sealed early (buffer estimates). */
  readonly bufferedBytes: number;
  /** Buffered plus in-flight bytes over this seal every buffer and pause fetching until writes finish. */
  readonly heldBytes: number;
  /** V8 old-generation limit (`--max-old-space-size`) the launcher starts Node with. */
  readonly heapLimitMiB: number;
  /** V8 semi-space size (`--max-semi-space-size`): the young generation is a few of them. */
  readonly semiSpaceMiB: number;
}

export function memoryPlan(budgetBytes: number): MemoryPlan {
  const prefetchQueueBytes = Math.min(MAX_PREFETCH_BYTES, Math.max(MIN_PREFETCH_BYTES, Math.floor(budgetBytes / 16)));
  return {
    prefetchQueueBytes,
    bufferedBytes: Math.floor(budgetBytes / 2),
    heldBytes: Math.max(1, budgetBytes - prefetchQueueBytes),
    heapLimitMiB: Math.ceil(budgetBytes / MIB) + HEAP_HEADROOM_MIB,
    semiSpaceMiB: Math.min(MAX_SEMI_SPACE_MIB, Math.max(1, Math.floor(budgetBytes / 32 / MIB))),
  };
}
