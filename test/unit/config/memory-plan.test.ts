import path from 'node:path';
import { consistentFetchLimits, consumerProperties } from '../../../src/config/kafka-properties';
import { loadConfig } from '../../../src/config/load';
import { HEAP_SIZE_OPTION, heapOptions, memoryPlan, NATIVE_BYTES_PER_MESSAGE, processBudget } from '../../../src/config/memory-plan';

const KIB = 1024;
const MIB = 1024 * KIB;
const EMPTY = path.resolve(__dirname, '..', '..', 'harness', 'empty-config.json');

describe('memoryPlan', () => {
  it('splits the default 256 MiB budget: a 16 MiB prefetch queue in native bytes, an eighth for buffers, half for buffers and writes', () => {
    expect(memoryPlan(256 * MIB)).toEqual({
      prefetchBytes: 16 * MIB,
      queuedMessages: Math.floor((8 * MIB) / NATIVE_BYTES_PER_MESSAGE),
      queuedKbytes: 8 * 1024,
      fetchBytes: 128 * KIB,
      bufferedBytes: 32 * MIB,
      heldBytes: 128 * MIB,
      heapLimitMiB: 320,
      semiSpaceMiB: 8,
      oldSpaceFloorMiB: 128,
    });
  });

  it('plans a consumer process of the default two with 128 MiB', () => {
    expect(memoryPlan(processBudget(256 * MIB, 2))).toEqual({
      prefetchBytes: 8 * MIB,
      queuedMessages: 3495,
      queuedKbytes: 4 * 1024,
      fetchBytes: 64 * KIB,
      bufferedBytes: 16 * MIB,
      heldBytes: 64 * MIB,
      heapLimitMiB: 192,
      semiSpaceMiB: 4,
      oldSpaceFloorMiB: 64,
    });
  });

  it('stops fetching within half the prefetch share, and bounds one response of seed-sized messages by the other half', () => {
    // From 128 MiB on; below it the 64 KiB floor of a response takes more than its half.
    for (const budget of [128 * MIB, 256 * MIB, 1024 * MIB]) {
      const plan = memoryPlan(budget);
      // A message count that stops tiny messages, value bytes that stop large ones.
      expect(plan.queuedMessages * NATIVE_BYTES_PER_MESSAGE).toBeLessThanOrEqual(plan.prefetchBytes / 2);
      expect(plan.queuedKbytes * KIB).toBeLessThanOrEqual(plan.prefetchBytes / 2);
      // One response of seed-sized messages (190 bytes with framing) compressed 8 times fits the other half.
      expect(((plan.fetchBytes * 8) / 190) * (190 + NATIVE_BYTES_PER_MESSAGE)).toBeLessThanOrEqual(plan.prefetchBytes / 2);
    }
  });

  it('keeps the prefetch queue between 64 KiB and librdkafka\'s default of 64 MiB, responses of at least 64 KiB', () => {
    expect(memoryPlan(4 * MIB)).toMatchObject({ prefetchBytes: 256 * KIB, queuedMessages: 1000, queuedKbytes: 128, fetchBytes: 64 * KIB, semiSpaceMiB: 1 });
    expect(memoryPlan(1000)).toMatchObject({ prefetchBytes: 64 * KIB, fetchBytes: 64 * KIB, bufferedBytes: 125, heldBytes: 500 });
    expect(memoryPlan(4096 * MIB)).toMatchObject({ prefetchBytes: 64 * MIB, fetchBytes: 512 * KIB, queuedKbytes: 32 * 1024, heapLimitMiB: 4160, semiSpaceMiB: 16 });
    expect(memoryPlan(64 * MIB).semiSpaceMiB).toBe(2);
  });

  it('lets garbage reach half of the budget before a full collection, within the heap limit', () => {
    expect(memoryPlan(4096 * MIB).oldSpaceFloorMiB).toBe(2048);
    expect(memoryPlan(1000).oldSpaceFloorMiB).toBe(1);
    for (const budget of [1000, 64 * MIB, 256 * MIB, 4096 * MIB]) {
      const plan = memoryPlan(budget);
      expect(plan.oldSpaceFloorMiB).toBeLessThanOrEqual(plan.heapLimitMiB / 2);
    }
  });

  it('gives Node the plan as heap options, which a process with its own share recognises and replaces', () => {
    const options = heapOptions(memoryPlan(128 * MIB));
    expect(options).toEqual(['--max-old-space-size=192', '--max-semi-space-size=4', '--initial-old-space-size=64']);
    expect(options.every((option) => HEAP_SIZE_OPTION.test(option))).toBe(true);
    expect(['--max_old_space_size=1', '--initial_old_space_size=1'].every((option) => HEAP_SIZE_OPTION.test(option))).toBe(true);
    expect(['--cpu-prof', '--stack-size=900', '--max-http-header-size=1'].some((option) => HEAP_SIZE_OPTION.test(option))).toBe(false);
  });

  it('never plans a held-bytes limit below one byte (a one-byte budget waits for every write)', () => {
    expect(memoryPlan(1).heldBytes).toBe(1);
    expect(memoryPlan(1).bufferedBytes).toBe(0);
  });
});

describe('processBudget', () => {
  it('gives each consumer process an equal share, rounded down, so that the shares never add up past the budget', () => {
    expect(processBudget(256 * MIB, 1)).toBe(256 * MIB);
    expect(processBudget(256 * MIB, 2)).toBe(128 * MIB);
    expect(processBudget(100, 3)).toBe(33);
    expect(processBudget(256 * MIB, 0)).toBe(256 * MIB);
  });
});

describe('the consumer properties', () => {
  const properties = (env: NodeJS.ProcessEnv): Record<string, unknown> => consumerProperties(loadConfig({ env, file: EMPTY }).config);

  it('size librdkafka\'s prefetch from MEMORY_BUDGET_BYTES', () => {
    expect(properties({ MEMORY_BUDGET_BYTES: String(512 * MIB) })).toMatchObject({
      'queued.max.messages.kbytes': 16 * 1024,
      'queued.min.messages': Math.floor((16 * MIB) / NATIVE_BYTES_PER_MESSAGE),
      'fetch.max.bytes': 256 * KIB,
      'max.partition.fetch.bytes': 256 * KIB,
      'message.max.bytes': 256 * KIB,
      'fetch.queue.backoff.ms': 10,
    });
    expect(properties({ MEMORY_BUDGET_BYTES: String(4096 * MIB) })).toMatchObject({ 'fetch.max.bytes': 512 * KIB, 'message.max.bytes': 512 * KIB });
  });

  it('let KAFKA_PROPERTIES override the planned queue', () => {
    expect(properties({ KAFKA_PROPERTIES: '{"queued.max.messages.kbytes": 2048}' })['queued.max.messages.kbytes']).toBe(2048);
  });

  it('keep fetch.max.bytes at least message.max.bytes when KAFKA_PROPERTIES sets only one of them', () => {
    expect(properties({ KAFKA_PROPERTIES: '{"message.max.bytes": 2000000}' })).toMatchObject({ 'message.max.bytes': 2_000_000, 'fetch.max.bytes': 2_000_000 });
    expect(properties({ KAFKA_PROPERTIES: '{"fetch.max.bytes": 32768}' })).toMatchObject({ 'message.max.bytes': 32_768, 'fetch.max.bytes': 32_768 });
    expect(properties({ KAFKA_PROPERTIES: '{"fetch.max.bytes": 52428800}' })).toMatchObject({ 'message.max.bytes': 128 * KIB, 'fetch.max.bytes': 52_428_800 });
  });
});

describe('consistentFetchLimits', () => {
  it('leaves two values the user set alone, even when librdkafka will refuse them', () => {
    const both = { 'fetch.max.bytes': 1000, 'message.max.bytes': 5000 };
    expect(consistentFetchLimits(both, both)).toEqual(both);
  });

  it('never lowers message.max.bytes below librdkafka\'s least, 1000', () => {
    expect(consistentFetchLimits({ 'fetch.max.bytes': 10, 'message.max.bytes': 65_536 }, { 'fetch.max.bytes': 10 })['message.max.bytes']).toBe(1000);
  });
});
