/**
 * The runtime's ceiling: the collector's client (@confluentinc/kafka-javascript KafkaConsumer) with
 * the collector's consumer properties (consumerProperties() of src/config), its consume batch size
 * and consume timeout, in a fresh group, that only counts messages and value bytes, then leaves the
 * group and exits. Run by bench.ts as its own process, so its CPU time and RSS are its own.
 *
 *   node .cache/bench/test/bench/bare-consumer.js <bootstrap> <topic> <group> <expected> [processes]
 *
 * One process (the default) counts until it has `expected` messages. With `processes` N > 1 it is
 * a primary that forks N members of the same group, as the collector's MAX_WORKERS does: each
 * member reports the highest offset it read per partition, and the primary stops them all once
 * every partition was read to its end (the offsets add up to `expected`). Members commit what they
 * read when a rebalance takes partitions away, as a real consumer does, so that a member joining
 * late does not re-read from the beginning; what is re-read anyway is counted (`consumed`).
 * Each member plans librdkafka's prefetch with its share of MEMORY_BUDGET_BYTES, as the collector's
 * consumer processes do.
 *
 * Prints one JSON line: { messages, consumed, valueBytes, processes, assignedEpochMs, firstMessageS,
 * lastMessageS } (the last two in seconds after subscribe; with a group, of the earliest and latest
 * member). valueBytes counts every message consumed, re-reads included.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { KafkaConsumer, type LibrdKafkaError, type Message, type TopicPartition } from '@confluentinc/kafka-javascript';
import { consumerProperties } from '../../src/config/kafka-properties';
import { loadConfig } from '../../src/config/load';
import { processBudget } from '../../src/config/memory-plan';
import type { CollectorConfig } from '../../src/config/schema';
import { repoRoot } from '../harness/broker';

/** The collector's consume timeout (src/app.ts CONSUME_TIMEOUT_MS). */
const CONSUME_TIMEOUT_MS = 250;
const ERR_ASSIGN_PARTITIONS = -175;
const MEMBER_ARG = '--member';

/** Cooperative rebalancing exists in the client but is missing from its type declarations. */
interface IncrementalRebalancing {
  rebalanceProtocol(): string;
  incrementalAssign(partitions: TopicPartition[]): void;
  incrementalUnassign(partitions: TopicPartition[]): void;
}

export interface BareReport {
  /** Distinct messages: `expected` when the run completed. */
  readonly messages: number;
  /** Messages consumed, re-reads after a rebalance included. */
  readonly consumed: number;
  readonly valueBytes: number;
  readonly processes: number;
  readonly assignedEpochMs: number;
  readonly firstMessageS: number;
  readonly lastMessageS: number;
}

/** Member to primary: progress (highest offset read per partition) and the final count. */
type MemberMessage =
  | { readonly kind: 'progress'; readonly highest: ReadonlyArray<[number, number]> }
  | { readonly kind: 'done'; readonly report: BareReport; readonly startedEpochMs: number };

interface Args {
  readonly bootstrapServers: string;
  readonly topic: string;
  readonly groupId: string;
  readonly expected: number;
  readonly processes: number;
  readonly member: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const member = argv.includes(MEMBER_ARG);
  const [bootstrapServers, topic, groupId, expectedText, processesText = '1'] = argv.filter((arg) => arg !== MEMBER_ARG);
  const expected = Number(expectedText);
  const processes = Number(processesText);
  if (!bootstrapServers || !topic || !groupId || !Number.isSafeInteger(expected) || !Number.isSafeInteger(processes) || processes < 1) {
    throw new Error('usage: bare-consumer <bootstrap> <topic> <group> <expected> [processes]');
  }
  return { bootstrapServers, topic, groupId, expected, processes, member };
}

/** Sum over partitions of (highest offset read + 1): the distinct messages read, topics starting at offset 0. */
export function distinctRead(highest: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const offset of highest.values()) sum += offset + 1;
  return sum;
}

export function mergeHighest(into: Map<number, number>, from: Iterable<readonly [number, number]>): void {
  for (const [partition, offset] of from) into.set(partition, Math.max(into.get(partition) ?? -1, offset));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.member) await runMember(args);
  else if (args.processes > 1) await runPrimary(args);
  else await runAlone(args);
}

/** One process, counting to `expected` (the bench's single bare consumer, as before groups). */
async function runAlone(args: Args): Promise<void> {
  const counter = await startCounting(args, () => undefined);
  await counter.consumeWhile(() => counter.consumed < args.expected);
  await counter.disconnect();
  print({ ...counter.report(1), messages: counter.consumed });
}

async function runMember(args: Args): Promise<void> {
  let stopping = false;
  process.on('message', () => {
    stopping = true;
  });
  // Resolves once the message is handed to the channel: the last one must not be lost to process.exit.
  const send = (message: MemberMessage): Promise<void> =>
    new Promise((resolve) => {
      if (process.send === undefined) resolve();
      else process.send(message, undefined, {}, () => resolve());
    });
  const counter = await startCounting(args, (highest) => void send({ kind: 'progress', highest: [...highest] }));
  await counter.consumeWhile(() => !stopping);
  await counter.disconnect();
  await send({ kind: 'done', report: { ...counter.report(1), messages: distinctRead(counter.highest) }, startedEpochMs: counter.startedEpochMs });
  process.disconnect();
}

async function runPrimary(args: Args): Promise<void> {
  const highest = new Map<number, number>();
  const members = Array.from({ length: args.processes }, () =>
    fork(__filename, [args.bootstrapServers, args.topic, args.groupId, String(args.expected), String(args.processes), MEMBER_ARG], { stdio: 'inherit' }),
  );
  const finals: Array<{ report: BareReport; startedEpochMs: number }> = [];
  let stopSent = false;
  const exits = members.map(
    (member) =>
      new Promise<void>((resolve, reject) => {
        member.on('message', (message: MemberMessage) => {
          if (message.kind === 'done') {
            finals.push(message);
            return;
          }
          mergeHighest(highest, message.highest);
          if (!stopSent && distinctRead(highest) >= args.expected) {
            stopSent = true;
            for (const each of members) each.send('stop');
          }
        });
        member.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`group member exited with code ${String(code)}`))));
      }),
  );
  await Promise.all(exits);
  print(combine(finals, distinctRead(highest)));
}

/** The group's report: counts added, the earliest assignment, first and last message over all members. */
export function combine(finals: ReadonlyArray<{ report: BareReport; startedEpochMs: number }>, distinct: number): BareReport {
  const started = Math.min(...finals.map((final) => final.startedEpochMs));
  const shifted = (final: { report: BareReport; startedEpochMs: number }, seconds: number): number =>
    seconds + (final.startedEpochMs - started) / 1000;
  // A member the group gave no partition read nothing: its first and last message are undefined.
  const reading = finals.filter((final) => final.report.consumed > 0);
  const assigned = finals.map((final) => final.report.assignedEpochMs).filter((at) => at > 0);
  return {
    messages: distinct,
    consumed: finals.reduce((sum, final) => sum + final.report.consumed, 0),
    valueBytes: finals.reduce((sum, final) => sum + final.report.valueBytes, 0),
    processes: finals.length,
    assignedEpochMs: assigned.length > 0 ? Math.min(...assigned) : -1,
    firstMessageS: Math.min(...reading.map((final) => shifted(final, final.report.firstMessageS))),
    lastMessageS: Math.max(...reading.map((final) => shifted(final, final.report.lastMessageS))),
  };
}

interface Counter {
  readonly highest: ReadonlyMap<number, number>;
  readonly consumed: number;
  readonly startedEpochMs: number;
  consumeWhile(go: () => boolean): Promise<void>;
  disconnect(): Promise<void>;
  report(processes: number): BareReport;
}

/** Connects, subscribes and returns the counting loop; `onBatch` hears the highest offsets after each non-empty batch. */
async function startCounting(args: Args, onBatch: (highest: ReadonlyMap<number, number>) => void): Promise<Counter> {
  const config = loadCollectorConfig(args);
  const highest = new Map<number, number>();
  let assignedEpochMs = -1;
  let consumed = 0;
  let valueBytes = 0;
  let firstMs = -1;
  let lastMs = -1;
  // The revocation that leaving the group brings commits nothing: the client is closing by then.
  let closing = false;
  // As the collector does: a rebalance callback that assigns what the group hands out, incrementally
  // under the cooperative protocol; it also notes when the group assigned partitions, so the bench
  // can tell group join from consuming.
  const consumer: KafkaConsumer = new KafkaConsumer({
    ...consumerProperties(config),
    rebalance_cb: (error: LibrdKafkaError, partitions: TopicPartition[]) => {
      const incremental = consumer as unknown as IncrementalRebalancing;
      const cooperative = incremental.rebalanceProtocol() === 'COOPERATIVE';
      if (error.code === ERR_ASSIGN_PARTITIONS) {
        if (assignedEpochMs < 0) assignedEpochMs = Date.now();
        if (cooperative) incremental.incrementalAssign(partitions);
        else consumer.assign(partitions);
        return;
      }
      const read = partitions
        .filter((partition) => highest.has(partition.partition))
        .map((partition) => ({ topic: partition.topic, partition: partition.partition, offset: (highest.get(partition.partition) ?? -1) + 1 }));
      if (read.length > 0 && !closing) consumer.commitSync(read);
      if (cooperative) incremental.incrementalUnassign(partitions);
      else consumer.unassign();
    },
  });
  await new Promise<void>((resolve, reject) => {
    consumer.connect({ timeout: 30_000 }, (error) => (error ? reject(error) : resolve()));
  });
  consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
  consumer.subscribe([args.topic]);
  const startedEpochMs = Date.now();
  const startedMs = performance.now();
  const consumeWhile = (go: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const step = (): void => {
        consumer.consume(config.kafka.consumeBatchSize, (error: LibrdKafkaError, batch: Message[]) => {
          if (error) {
            reject(error);
            return;
          }
          if (batch.length > 0) {
            if (firstMs < 0) firstMs = performance.now();
            lastMs = performance.now();
            for (const message of batch) {
              consumed++;
              valueBytes += message.size;
              if (message.offset > (highest.get(message.partition) ?? -1)) highest.set(message.partition, message.offset);
            }
            onBatch(highest);
          }
          if (go()) step();
          else resolve();
        });
      };
      step();
    });
  return {
    highest,
    get consumed() {
      return consumed;
    },
    startedEpochMs,
    consumeWhile,
    disconnect: () => {
      closing = true;
      return new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    },
    report: (processes) => ({
      messages: consumed,
      consumed,
      valueBytes,
      processes,
      assignedEpochMs,
      firstMessageS: (firstMs - startedMs) / 1000,
      lastMessageS: (lastMs - startedMs) / 1000,
    }),
  };
}

/** A member of a group plans its prefetch with its share of the budget, as the collector's consumer processes do. */
function loadCollectorConfig(args: Args): CollectorConfig {
  const config = loadConfig({
    env: { BOOTSTRAP_SERVERS: args.bootstrapServers, TOPICS: args.topic, GROUP_ID: args.groupId, ...passThroughEnv() },
    file: path.join(repoRoot(), 'test', 'harness', 'empty-config.json'),
  }).config;
  if (!args.member) return config;
  return { ...config, flush: { ...config.flush, memoryBudgetBytes: processBudget(config.flush.memoryBudgetBytes, args.processes) } };
}

/** Settings a benchmark run may vary for both Node consumers alike. */
function passThroughEnv(): Record<string, string> {
  const names = ['KAFKA_PROPERTIES', 'CONSUME_BATCH_SIZE', 'MEMORY_BUDGET_BYTES'];
  return Object.fromEntries(names.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name] as string]));
}

function print(report: BareReport): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
