/**
 * In-memory parts for unit tests of the orchestration: a consumer group member, an event
 * recorder, and a pipeline wired to them with the real encoder and a temp output folder.
 * Broker suites in test/integration/ remain the proof that the collector works.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CollectorError } from '../../../src/errors';
import { partitionKey, type CommittedOffset, type ConsumerClient, type PartitionRef, type RebalanceHandlers, type SourceMessage, type Watermarks } from '../../../src/kafka/consumer-port';
import { encodeParquet } from '../../../src/parquet/encode';
import type { SealedBatch } from '../../../src/parquet/batch';
import type { PipelineEvents } from '../../../src/pipeline/events';
import { localLake } from '../../harness/local-lake';
import { Pipeline, type PipelineOptions } from '../../../src/pipeline/pipeline';

export function message(topic: string, partition: number, offset: number, payload: unknown = { data: { n: offset } }): SourceMessage {
  const value = Buffer.from(JSON.stringify(payload));
  return { topic, partition, offset, timestamp: Date.UTC(2025, 9, 17, 12), key: null, value, size: value.length };
}

/** A group member whose batches, commits and failures the test controls; `calls` records what was asked, in order. */
export class FakeConsumer implements ConsumerClient {
  assignment: PartitionRef[] = [];
  rebalancing = false;
  assignmentLost = false;
  isConnected = false;
  brokersReachable = true;
  connectionProblem: string | undefined = undefined;
  handlers: RebalanceHandlers | null = null;
  /** What connect() waits for (a never-settling promise keeps the collector starting). */
  connecting: Promise<void> = Promise.resolve();
  /** Makes the next rebalance hand-off wait from the consume call with this number (1-based) on. */
  holdRebalanceAtConsume = 0;
  readonly calls: string[] = [];
  readonly commits: CommittedOffset[][] = [];
  readonly stored = new Map<string, CommittedOffset>();
  readonly high = new Map<string, number>();
  /** Batches handed out by consume(), in order; an empty queue answers [] after a short wait. */
  readonly batches: Array<SourceMessage[] | Promise<SourceMessage[]>> = [];
  /** How many of the next commits fail. */
  failCommits = 0;
  /** Called at every commit, before it is stored (for example to look at the lake at that moment). */
  onCommit: (offsets: readonly CommittedOffset[]) => void = () => undefined;
  private settled: Promise<void> = Promise.resolve();
  /** Ends a rebalance held by `holdRebalanceAtConsume`. */
  releaseRebalance: () => void = () => undefined;

  async connect(handlers: RebalanceHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connecting;
    this.isConnected = true;
  }

  async disconnect(): Promise<void> {
    this.isConnected = false;
  }

  /** Runs the assignment hand-off as the client does, then owns the partitions. */
  async assign(partitions: PartitionRef[]): Promise<void> {
    await this.handlers?.onAssigned(partitions);
    this.assignment = partitions;
  }

  rebalanceSettled(): Promise<void> {
    return this.settled;
  }

  /** Makes the consume loop wait until the returned function is called. */
  holdRebalance(): () => void {
    let release: () => void = () => undefined;
    this.rebalancing = true;
    this.settled = new Promise((resolve) => {
      release = () => {
        this.rebalancing = false;
        resolve();
      };
    });
    return release;
  }

  consume(max: number): Promise<SourceMessage[]> {
    this.calls.push(`consume ${max}`);
    if (this.calls.filter((call) => call.startsWith('consume')).length === this.holdRebalanceAtConsume) this.releaseRebalance = this.holdRebalance();
    const next = this.batches.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => setTimeout(() => resolve([]), 5));
  }

  async commit(offsets: readonly CommittedOffset[]): Promise<void> {
    this.calls.push(`commit ${offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`).join(',')}`);
    this.onCommit(offsets);
    if (this.failCommits > 0) {
      this.failCommits--;
      throw new CollectorError('KAFKA_COMMIT_FAILED', 'the broker did not store the commit');
    }
    this.commits.push([...offsets]);
    for (const entry of offsets) this.stored.set(`${entry.topic}[${entry.partition}]`, entry);
  }

  async committed(partitions: readonly PartitionRef[]): Promise<CommittedOffset[]> {
    return partitions.flatMap(({ topic, partition }) => {
      const entry = this.stored.get(`${topic}[${partition}]`);
      return entry === undefined ? [] : [entry];
    });
  }

  /** Partitions of the subscription (the assignment unless a test sets more). */
  subscribed: PartitionRef[] | null = null;

  async subscribedPartitions(): Promise<PartitionRef[]> {
    return this.subscribed ?? this.assignment;
  }

  async watermarks(partitions: readonly PartitionRef[]): Promise<Map<string, Watermarks>> {
    return new Map(partitions.map(({ topic, partition }) => [partitionKey(topic, partition), { low: 0, high: this.high.get(`${topic}[${partition}]`) ?? 0 }]));
  }

  /** Per partition (`topic[partition]`), the first offset at or after each time a test gives; none by default. */
  readonly firstOffsetAfter = new Map<string, (timestampMs: number) => number | null>();

  async offsetsForTime(partitions: readonly PartitionRef[], timestampMs: number): Promise<Map<string, number | null>> {
    return new Map(partitions.map(({ topic, partition }) => [partitionKey(topic, partition), this.firstOffsetAfter.get(`${topic}[${partition}]`)?.(timestampMs) ?? null]));
  }

  pause(partitions: readonly PartitionRef[]): void {
    this.calls.push(`pause ${partitions.length}`);
  }

  resume(partitions: readonly PartitionRef[]): void {
    this.calls.push(`resume ${partitions.length}`);
  }

  /** The last committed offset of a partition, or undefined. */
  committedOffset(topic: string, partition: number): number | undefined {
    return this.stored.get(`${topic}[${partition}]`)?.offset;
  }
}

export type RecordedEvent = { readonly name: keyof PipelineEvents; readonly args: unknown[] };

/** Records every pipeline event by name, in order. */
export function recordEvents(): { events: PipelineEvents; log: RecordedEvent[]; named: (name: keyof PipelineEvents) => unknown[][] } {
  const log: RecordedEvent[] = [];
  const events = new Proxy({} as PipelineEvents, {
    get: (_target, name) => (...args: unknown[]) => log.push({ name: name as keyof PipelineEvents, args }),
  });
  return { events, log, named: (name) => log.filter((entry) => entry.name === name).map((entry) => entry.args) };
}

export const DEFAULT_INGEST: PipelineOptions['ingest'] = {
  maxRows: 1000,
  maxBytes: 64 * 1024 * 1024,
  flushIntervalMs: 60_000,
  decodeLimits: { maxValueBytes: 1024 * 1024 },
  flattenLimits: { maxDepth: 16, maxFields: 100 },
  declared: new Map(),
  timestampFields: [],
  dayCut: { timeZone: 'UTC', sourceField: null },
};

/** Messages of one partition with consecutive offsets. */
export function messages(topic: string, partition: number, from: number, count: number): SourceMessage[] {
  return Array.from({ length: count }, (_, i) => message(topic, partition, from + i));
}

export interface TestPipeline {
  readonly pipeline: Pipeline;
  readonly consumer: FakeConsumer;
  readonly outputDir: string;
  readonly recorded: ReturnType<typeof recordEvents>;
  /** The fake clock: tests move it forward. */
  readonly clock: { now: number };
}

export function testPipeline(
  overrides: Partial<PipelineOptions> & { outputDir?: string; encode?: (batch: SealedBatch) => Promise<Uint8Array> } = {},
): TestPipeline {
  const outputDir = overrides.outputDir ?? mkdtempSync(path.join(os.tmpdir(), 'rpc-pipeline-'));
  const consumer = new FakeConsumer();
  const recorded = recordEvents();
  const clock = { now: Date.UTC(2025, 9, 17, 12) };
  const encode = overrides.encode ?? (async (batch: SealedBatch) => encodeParquet(batch, { compression: 'zstd', rowGroupSize: 10_000 }));
  const options: PipelineOptions = {
    lake: localLake(outputDir),
    instanceId: 'abcd1234',
    version: 'test',
    ingest: DEFAULT_INGEST,
    memory: { bufferedBytes: 64 * 1024 * 1024, heldBytes: 128 * 1024 * 1024 },
    consumeBatchSize: 100,
    oneShot: null,
    kafkaTimeoutMs: 1000,
    fenceHoldsMs: 20_000,
    writeRetry: { minMs: 5, maxMs: 20 },
    ...overrides,
  };
  const pipeline = new Pipeline(options, { port: consumer, encode, events: recorded.events, now: () => clock.now });
  return { pipeline, consumer, outputDir, recorded, clock };
}

/** Assigns partitions through the hand-off, as the consumer would. */
export async function assign(test: TestPipeline, partitions: PartitionRef[]): Promise<void> {
  await test.pipeline.onAssigned(partitions);
  test.consumer.assignment = partitions;
}

/** Starts the consume loop with `batch` queued; resolves once the batch was ingested, with the loop (wrapped: awaiting it would wait for the loop's end). */
export async function startWithBatch(test: TestPipeline, batch: SourceMessage[]): Promise<{ loop: Promise<void> }> {
  test.consumer.batches.push(batch);
  const loop = test.pipeline.start();
  await eventually(() => test.consumer.calls.filter((call) => call.startsWith('consume')).length >= 3, 'the batch ingested');
  return { loop };
}

/** A promise and the functions that settle it. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
