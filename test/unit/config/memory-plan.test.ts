import path from 'node:path';
import { consumerProperties } from '../../../src/config/kafka-properties';
import { loadConfig } from '../../../src/config/load';
import { memoryPlan } from '../../../src/config/memory-plan';

const MIB = 1024 * 1024;
const EMPTY = path.resolve(__dirname, '..', '..', 'harness', 'empty-config.json');

describe('memoryPlan', () => {
  it('splits the default 256 MiB budget: a 16 MiB prefetch queue, half for buffers, a heap limit with headroom', () => {
    expect(memoryPlan(256 * MIB)).toEqual({
      prefetchQueueBytes: 16 * MIB,
      bufferedBytes: 128 * MIB,
      heldBytes: 240 * MIB,
      heapLimitMiB: 320,
      semiSpaceMiB: 8,
    });
  });

  it('keeps the prefetch queue between 1 KiB and librdkafka\'s default of 64 MiB, and semi-spaces at V8\'s 16 MiB at most', () => {
    expect(memoryPlan(4 * MIB)).toMatchObject({ prefetchQueueBytes: 256 * 1024, heldBytes: 3.75 * MIB, semiSpaceMiB: 1 });
    expect(memoryPlan(64 * MIB).semiSpaceMiB).toBe(2);
    expect(memoryPlan(200_000)).toMatchObject({ prefetchQueueBytes: 12_500, bufferedBytes: 100_000, heldBytes: 187_500 });
    expect(memoryPlan(1000).prefetchQueueBytes).toBe(1024);
    expect(memoryPlan(4096 * MIB)).toMatchObject({ prefetchQueueBytes: 64 * MIB, heapLimitMiB: 4160, semiSpaceMiB: 16 });
  });

  it('never plans a held-bytes limit below one byte (a one-byte budget waits for every write)', () => {
    expect(memoryPlan(1).heldBytes).toBe(1);
    expect(memoryPlan(1).bufferedBytes).toBe(0);
  });
});

describe('the consumer properties', () => {
  const properties = (env: NodeJS.ProcessEnv): Record<string, unknown> => consumerProperties(loadConfig({ env, file: EMPTY }).config);

  it('size librdkafka\'s prefetch queue from MEMORY_BUDGET_BYTES', () => {
    expect(properties({ MEMORY_BUDGET_BYTES: String(512 * MIB) })['queued.max.messages.kbytes']).toBe(32 * 1024);
  });

  it('let KAFKA_PROPERTIES override the planned queue', () => {
    expect(properties({ KAFKA_PROPERTIES: '{"queued.max.messages.kbytes": 2048}' })['queued.max.messages.kbytes']).toBe(2048);
  });
});
