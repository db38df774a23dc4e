/**
 * How MEMORY_BUDGET_BYTES is spent. The budget bounds the data the collector holds on top of the
 * fixed runtime overhead of its processes. With several consumer processes (MAX_WORKERS) each plans
 * with an equal share (`processBudget`); the primary holds no data. Within one process's share:
 *
 * - librdkafka's prefetch queue, a sixteenth (at most librdkafka's default of 64 MiB), counted as
 *   the native memory it really takes. librdkafka allocates an operation of 1 KiB per fetched
 *   message (sizeof(rd_kafka_op_t) in 2.x) beside the message's bytes, while its queue limit
 *   (queued.max.messages.kbytes) counts value bytes only: with messages of the seed's size (165
 *   value bytes) a queue takes about seven times what that limit counts. So half of the share stops
 *   fetching, both as a message count (queued.min.messages, at NATIVE_BYTES_PER_MESSAGE each) and
 *   as value bytes; the other half is for what one fetch response adds once the queue is just
 *   under those limits. librdkafka decompresses a whole response as it arrives, and its size limits
 *   (fetch.max.bytes, max.partition.fetch.bytes) count compressed bytes, so they are a 128th of the
 *   share (at least 64 KiB): at a compression ratio of 8 (zstd on the seed's messages: 7) a
 *   response of seed-sized messages then stays within that half. Two things can still take a
 *   queue past its share: a response holds at least one whole producer batch, whatever the limits
 *   (about 1 MB uncompressed from a librdkafka producer, 7 MiB of native memory at the seed's size),
 *   and small, highly compressible messages multiply what one compressed byte costs. With a queue
 *   this short, librdkafka's default one-second pause after finding it full would starve the
 *   consumer: the pause is 10 ms (kafka-properties.ts).
 * - rows in the (topic, day) buffers, in the V8 heap: an eighth; past it the largest buffers are
 *   sealed early. A sealed file exists several times more while it is written (its Arrow IPC
 *   stream, the encoder's copy of it in wasm memory, the Parquet bytes), so this also bounds the
 *   files in flight.
 * - buffered plus in-flight rows over half of the share: every buffer is sealed and fetching pauses
 *   until writes finish. The other half is for what these estimates do not see: the prefetch queue,
 *   the copies of files in flight, and garbage between collections.
 *
 * The V8 heap limits the launcher sets (bin/redpanda-parquet-collector) leave room above the
 * buffers for garbage: without them V8 lets garbage grow to several times the live data before a
 * full collection. The young generation scales with the budget up to V8's own 16 MiB semi-spaces,
 * reached at a 512 MiB budget: smaller semi-spaces lower the peak for a few percent of throughput.
 * Half of the share (the same room for garbage as above) is also the old generation's floor:
 * below it V8 starts no full collection. V8 otherwise sets its next limit a few megabytes above
 * the live heap, which is small here (the rows live in typed arrays outside it), and starts marking
 * about 20 MB before that limit, so with the client's message objects promoted from the young
 * generation it marked the whole heap again after every megabyte or so (docs/performance.md,
 * "Garbage collection").
 */

const KIB = 1024;
const MIB = 1024 * KIB;
const MIN_PREFETCH_BYTES = 64 * KIB;
const MAX_PREFETCH_BYTES = 64 * MIB;
/** librdkafka's operation per fetched message (1 KiB), its allocation, and the record's framing. */
export const NATIVE_BYTES_PER_MESSAGE = 1200;
/** Below a consume call's default batch the consumer would wait for the queue on every call. */
const MIN_QUEUED_MESSAGES = 1000;
const MIN_FETCH_BYTES = 64 * KIB;
/** Heap above the budget: the collector's own objects, caches and garbage between collections. */
const HEAP_HEADROOM_MIB = 64;
const MAX_SEMI_SPACE_MIB = 16;

export interface MemoryPlan {
  /** Native memory planned for librdkafka's prefetch queue: the three settings below keep to it. */
  readonly prefetchBytes: number;
  /** librdkafka's queued.min.messages: the message count that stops fetching. */
  readonly queuedMessages: number;
  /** librdkafka's queued.max.messages.kbytes: the value bytes that stop fetching. */
  readonly queuedKbytes: number;
  /** librdkafka's fetch.max.bytes and max.partition.fetch.bytes: compressed bytes of one fetch response. */
  readonly fetchBytes: number;
  /** Over this, the largest buffers are sealed early (buffer estimates). */
  readonly bufferedBytes: number;
  /** Buffered plus in-flight bytes over this seal every buffer and pause fetching until writes finish. */
  readonly heldBytes: number;
  /** V8 old-generation limit (`--max-old-space-size`) the process starts with. */
  readonly heapLimitMiB: number;
  /** V8 semi-space size (`--max-semi-space-size`): the young generation is a few of them. */
  readonly semiSpaceMiB: number;
  /** V8 old-generation size below which no full collection starts (`--initial-old-space-size`). */
  readonly oldSpaceFloorMiB: number;
}

/** Node options naming V8 heap sizes: the plan's, which a process started with its own share replaces. */
export const HEAP_SIZE_OPTION = /^--(max[-_]old|max[-_]semi|initial[-_]old)[-_]space[-_]size/;

/** The Node options that hold a process to its plan (the launcher's and each consumer process's). */
export function heapOptions(plan: MemoryPlan): string[] {
  return [`--max-old-space-size=${plan.heapLimitMiB}`, `--max-semi-space-size=${plan.semiSpaceMiB}`, `--initial-old-space-size=${plan.oldSpaceFloorMiB}`];
}

/**
 * Below this share of the budget a process seals files too small to be useful (its buffers get an
 * eighth of the share: 8 MiB here) and the prefetch queue's floors take a larger part of it.
 * MAX_WORKERS=auto never starts more processes than the budget has shares of this size.
 */
export const MIN_PROCESS_SHARE_BYTES = 64 * MIB;
/**
 * The runtime on top of the budget, measured by `npm run bench:memory` on a 1,000-message topic
 * (docs/performance.md, Memory): about 140 MiB for a single process; with several, about 90 MiB
 * for the primary and 130 MiB for each consumer process.
 */
const SINGLE_PROCESS_RUNTIME_BYTES = 140 * MIB;
const PRIMARY_RUNTIME_BYTES = 90 * MIB;
const CONSUMER_PROCESS_RUNTIME_BYTES = 130 * MIB;

/** What `processes` consumer processes are expected to take at most: the budget plus their runtime. */
export function expectedPeakBytes(budgetBytes: number, processes: number): number {
  return budgetBytes + (processes <= 1 ? SINGLE_PROCESS_RUNTIME_BYTES : PRIMARY_RUNTIME_BYTES + processes * CONSUMER_PROCESS_RUNTIME_BYTES);
}

/** The most consumer processes (at least 1) whose expected peak fits in a memory limit. */
export function processesWithin(limitBytes: number, budgetBytes: number): number {
  let processes = 1;
  while (expectedPeakBytes(budgetBytes, processes + 1) <= limitBytes) processes++;
  return processes;
}

/** One consumer process's share of the budget when `processes` consumer processes split it. */
export function processBudget(budgetBytes: number, processes: number): number {
  return Math.floor(budgetBytes / Math.max(1, processes));
}

export function memoryPlan(budgetBytes: number): MemoryPlan {
  const prefetchBytes = clamp(Math.floor(budgetBytes / 16), MIN_PREFETCH_BYTES, MAX_PREFETCH_BYTES);
  return {
    prefetchBytes,
    queuedMessages: Math.max(MIN_QUEUED_MESSAGES, Math.floor(prefetchBytes / 2 / NATIVE_BYTES_PER_MESSAGE)),
    queuedKbytes: Math.floor(prefetchBytes / 2 / KIB),
    fetchBytes: Math.max(MIN_FETCH_BYTES, Math.floor(prefetchBytes / 128)),
    bufferedBytes: Math.floor(budgetBytes / 8),
    heldBytes: Math.max(1, Math.floor(budgetBytes / 2)),
    heapLimitMiB: Math.ceil(budgetBytes / MIB) + HEAP_HEADROOM_MIB,
    semiSpaceMiB: clamp(Math.floor(budgetBytes / 32 / MIB), 1, MAX_SEMI_SPACE_MIB),
    oldSpaceFloorMiB: Math.max(1, Math.floor(budgetBytes / 2 / MIB)),
  };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * Whether the buffers passed their share, or buffers and writes in flight together theirs: the
 * largest buffers are then sealed early, and fetching pauses while the writes alone are over it.
 */
export function isOverBudget(plan: Pick<MemoryPlan, 'bufferedBytes' | 'heldBytes'>, bufferedBytes: number, inFlightBytes: number): boolean {
  return bufferedBytes > plan.bufferedBytes || bufferedBytes + inFlightBytes > plan.heldBytes;
}
