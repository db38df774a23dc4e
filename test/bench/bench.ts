/**
 * End-to-end benchmark (issues 5 and 11): the collector in one-shot mode against kcat (librdkafka's
 * raw rate), a bare Node consumer (the same client and settings, counting only) and a Python peer
 * written from the seed README's design, on the same topic of the same broker in one run.
 *
 *   npm run bench                     # throughput: 3,000,000 messages, lz4, median of 3 rounds
 *   npm run bench:memory              # 5,000,000-message backlogs (lz4, then zstd), MEMORY_BUDGET_BYTES = 256 MiB
 *   npm run bench -- --profile        # one collector run under --cpu-prof (500,000 messages)
 *   npm run bench -- --many-topics    # the many-topics case alone (issue 22)
 *
 * Each throughput round runs, one after the other:
 *   1. kcat (-G, to /dev/null), with the collector's consumer properties;
 *   2. the bare Node consumer, one process;
 *   3. the bare Node consumer, N processes in one group (N: BENCH_BARE_PROCESSES, by default the
 *      consumer processes the collector runs with under the bench's environment: MAX_WORKERS, or
 *      for auto the available cores, src/cluster/process-count.ts);
 *   4. the Python peer (test/bench/python-peer.py with .cache/pyenv's python): confluent-kafka with
 *      per-message poll(), msgpack then JSON, the seed's flattening, Polars, zstd Parquet;
 *   5. the collector --once with MAX_WORKERS=1;
 *   6. the collector --once with the environment as given (MAX_WORKERS unset: its default); the
 *      table names the MAX_WORKERS each collector run had;
 *   7. the same as 6 into an S3 bucket (OUTPUT_DIR=s3://…) of an S3-compatible server the bench
 *      starts on loopback (S3Proxy, test/harness/s3-server.ts), with the requests the run made to it
 *      (the collector's store_requests log lines).
 * Then the many-topics case (a cron backup of every topic of a broker, issue 22): BENCH_MANY_TOPICS
 * topics of BENCH_MANY_TOPICS_PARTITIONS partitions, BENCH_MANY_TOPICS_MESSAGES small messages
 * each over two days; per round the collector --once with MAX_WORKERS=1, with MAX_WORKERS=2, and
 * the Python peer, each on all the topics. Its table and results file are its own.
 *
 * Method, for every run alike (measure.ts, process-tree.ts):
 *   - msg/s: messages / wall time from spawn to exit (start, connect, group join, consume, and for
 *     the writers the final flush, commit and exit);
 *   - CPU s: user + system seconds of the whole process tree. GNU time's figure covers the command
 *     and every descendant it waited for; the tree is also sampled from /proc every 100 ms, and a
 *     larger sampled figure (a child nobody waited for) replaces it, flagged in the JSON;
 *   - peak RSS: the largest sum of the tree's resident sets over the 100 ms samples;
 *   - broker CPU s: the broker's utime + stime (/proc/<pid>/stat) from spawn to exit of the run;
 *     the broker shares the machine's cores with the consumer measured;
 *   - bytes/row: the Parquet output's size / N (collector and Python peer).
 * Checks: every collector and Python peer run's output reads back (DuckDB) as exactly N distinct
 * (partition, offset) rows, no dead letters, and the group's committed offsets equal the end offsets;
 * kcat's end offsets and the bare consumers' counts add up to N.
 *
 * Settings (environment):
 *   BENCH_MESSAGES=3000000          messages in the throughput topic
 *   BENCH_RUNS=3                    rounds; each round runs every consumer once
 *   BENCH_PARTITIONS=6
 *   BENCH_PRODUCE_COMPRESSION=lz4   codec of the produced batches (none, lz4, zstd, ...)
 *   BENCH_BARE_PROCESSES            processes of the bare consumer group (default above)
 *   BENCH_PYTHON_PEER=0             skip the Python peer
 *   BENCH_CONSUMERS                 run only these consumers, e.g. collector-1,collector (names
 *                                   as in the results: kcat, bare-node, bare-node-group,
 *                                   python-peer, collector-1, collector, collector-s3)
 *   BENCH_PYTHON=.cache/pyenv/bin/python
 *                                   the Python peer's interpreter (npm run setup installs its packages)
 *   BENCH_MEMORY_MESSAGES=5000000   backlog of the memory run
 *   BENCH_MEMORY_COMPRESSIONS=lz4,zstd
 *                                   one backlog per codec in the memory run
 *   BENCH_MEMORY_BUDGET=268435456   MEMORY_BUDGET_BYTES of the memory run
 *   BENCH_PROFILE_MESSAGES=500000   messages of the profile run
 *   BENCH_MANY_TOPICS=200           topics of the many-topics case; 0 leaves the case out of the
 *                                   throughput run
 *   BENCH_MANY_TOPICS_MESSAGES=500  messages per topic of the many-topics case
 *   BENCH_MANY_TOPICS_PARTITIONS=3
 *   BENCH_PYARROW=0                 skip the pyarrow bytes/row reference
 *   BENCH_TIMEOUT_S                 per-process timeout (default scales with the message count)
 *   BENCH_KEEP_LOGS=1               keep the children's stdout/stderr (temp dir named at the end)
 *   BENCH_KEEP_TOPICS=1             external broker: do not delete the benchmark topics
 *   BENCH_KEEP_OUTPUT=1             keep the first collector run's Parquet files (path printed)
 *   BENCH_COLLECTOR=path/bin/redpanda-parquet-collector
 *                                   run another checkout's collector (default: this one's launcher)
 *   KAFKA_BOOTSTRAP_SERVERS         use this broker instead of starting the harness's
 *   BENCH_BROKER_PID                with KAFKA_BOOTSTRAP_SERVERS: the broker's pid, for its CPU time
 *   BENCH_BROKER_HEAP_MB=1024       heap of the harness broker the bench starts
 * Collector settings (MAX_WORKERS, ENCODER_THREADS, BATCH_SIZE, COMPRESSION, LOG_LEVEL, ...) set
 * in the environment reach the collector unchanged (run 5 overrides MAX_WORKERS only); the effective
 * configuration is stored with the results. The Python peer gets only the seed's variables.
 *
 * Results: a table on stdout, and the same as JSON in bench-results/<timestamp>[-memory|-profile|-many-topics].json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { librdkafkaVersion } from '@confluentinc/kafka-javascript';
import { availableCores } from '../../src/cluster/process-count';
import { processesFor } from '../../src/cluster/roles';
import { consumerProperties } from '../../src/config/kafka-properties';
import { loadConfig } from '../../src/config/load';
import { repoRoot, startBroker, type BrokerHandle } from '../harness/broker';
import { TestKafka, uniqueName } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { s3LakeOf, startS3Server, type S3ServerHandle } from '../harness/s3-server';
import { verifyOutput } from '../../src/commands/verify';
import type { Lake } from '../../src/lake/lake';
import type { BareReport } from './bare-consumer';
import { produceMarketData, type ProduceResult } from './bench-producer';
import { formatSummary, summariseProfile, type ProfileSummary } from './cpuprofile-summary';
import { findProcess } from './process-tree';
import { GNU_TIME, median, runMeasured, type Measured, type RunOptions } from './measure';

const ROOT = repoRoot();
const MIB = 1024 * 1024;
const EMPTY_CONFIG = path.join(ROOT, 'test', 'harness', 'empty-config.json');
/**
 * The collector is started as users start it, through its launcher (the image's entry point and
 * `npm start`), which sets the heap limit and malloc settings. BENCH_COLLECTOR: another checkout's
 * launcher, to compare a branch or an experiment.
 */
const COLLECTOR_LAUNCHER = path.resolve(process.env.BENCH_COLLECTOR ?? path.join(ROOT, 'bin', 'redpanda-parquet-collector'));
const BARE_CONSUMER = path.join(__dirname, 'bare-consumer.js');
const PYTHON_PEER = path.join(ROOT, 'test', 'bench', 'python-peer.py');
const RESULTS_DIR = path.join(ROOT, 'bench-results');

const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
};

const listEnv = (name: string, fallback: string): string[] =>
  (process.env[name] || fallback)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const SETTINGS = {
  messages: intEnv('BENCH_MESSAGES', 3_000_000),
  runs: intEnv('BENCH_RUNS', 3),
  partitions: intEnv('BENCH_PARTITIONS', 6),
  produceCompression: process.env.BENCH_PRODUCE_COMPRESSION || 'lz4',
  /** Unset: the collector's own process count under the bench's environment (collectorProcesses). */
  bareProcesses: process.env.BENCH_BARE_PROCESSES ? intEnv('BENCH_BARE_PROCESSES', 1) : null,
  pythonPeer: process.env.BENCH_PYTHON_PEER !== '0',
  consumers: listEnv('BENCH_CONSUMERS', 'kcat,bare-node,bare-node-group,python-peer,collector-1,collector,collector-s3'),
  python: path.resolve(ROOT, process.env.BENCH_PYTHON || path.join('.cache', 'pyenv', 'bin', 'python')),
  memoryMessages: intEnv('BENCH_MEMORY_MESSAGES', 5_000_000),
  memoryCompressions: listEnv('BENCH_MEMORY_COMPRESSIONS', 'lz4,zstd'),
  memoryBudget: intEnv('BENCH_MEMORY_BUDGET', 256 * MIB),
  profileMessages: intEnv('BENCH_PROFILE_MESSAGES', 500_000),
  /** 0: no many-topics case in the throughput run. */
  manyTopics: process.env.BENCH_MANY_TOPICS === '0' ? 0 : intEnv('BENCH_MANY_TOPICS', 200),
  manyTopicsMessages: intEnv('BENCH_MANY_TOPICS_MESSAGES', 500),
  manyTopicsPartitions: intEnv('BENCH_MANY_TOPICS_PARTITIONS', 3),
  pyarrow: process.env.BENCH_PYARROW !== '0',
};

type Mode = 'throughput' | 'memory' | 'profile' | 'many-topics';

interface Bench {
  readonly kafka: TestKafka;
  readonly bootstrap: string;
  /** The broker's JVM, for its CPU time during each run; undefined for an external broker without BENCH_BROKER_PID. */
  readonly brokerPid: number | undefined;
  readonly stamp: string;
  readonly workDir: string;
}

/** The data a run reads: one topic, or for the many-topics case a set of them (`name` names the set). */
interface Topic {
  readonly name: string;
  /** Every topic of the data: [name] for one topic. */
  readonly names: readonly string[];
  readonly partitions: number;
  readonly produced: ProduceResult;
  readonly messages: number;
  readonly compression: string;
}

const CONSUMERS = ['kcat', 'bare-node', 'bare-node-group', 'python-peer', 'collector-1', 'collector', 'collector-s3'] as const;
type Consumer = (typeof CONSUMERS)[number];

interface RunResult {
  readonly consumer: Consumer;
  /** What ran, as the table names it (for the collector: the MAX_WORKERS it had). */
  readonly label: string;
  readonly round: number;
  readonly messages: number;
  readonly wallS: number;
  /** CPU seconds of the process tree (measure.ts). */
  readonly cpuS: number;
  readonly cpuUsPerMessage: number;
  readonly userS: number;
  readonly sysS: number;
  readonly treeCpuLowerBoundS: number;
  readonly unreapedCpu: boolean;
  /** Peak of the process tree's summed RSS. */
  readonly peakRssBytes: number;
  readonly maxSingleRssBytes: number;
  /** The processes of the measured tree alive at once, as most samples saw it (the primary included). */
  readonly processes: number;
  /** The broker's CPU seconds during the run; null when its pid is unknown. */
  readonly brokerCpuS: number | null;
  readonly messagesPerS: number;
  readonly mbPerS: number;
  readonly loadAvg1mBefore: number;
  /** Seconds from spawn until the group assigned partitions (process start, connect, group join). */
  readonly assignedAfterS: number | null;
  /** Rate over the time from assignment to exit: consuming (and, for the collector, its final flush). */
  readonly messagesPerSAfterAssign: number | null;
  readonly bytesPerRow?: number;
  readonly outputBytes?: number;
  readonly files?: number;
  /** Bare consumer only: first and last message, seconds after its consumer subscribed. */
  readonly firstMessageS?: number;
  readonly lastMessageS?: number;
  /** Bare consumer group only: messages consumed, re-reads after rebalances included. */
  readonly consumed?: number;
  /** Collector on S3 only: requests made to the store, by operation and result. */
  readonly storeRequests?: Record<string, number>;
  readonly rssSamples: Array<[number, number]>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode: Mode = args.includes('--memory') ? 'memory' : args.includes('--profile') ? 'profile' : args.includes('--many-topics') ? 'many-topics' : 'throughput';
  ensureTool(GNU_TIME, 'time');
  if (!existsSync(path.join(path.dirname(COLLECTOR_LAUNCHER), '..', 'dist', 'main.js'))) {
    throw new Error(`the collector next to ${COLLECTOR_LAUNCHER} is not built: run \`npm run build\` first`);
  }

  let broker: BrokerHandle | undefined;
  let bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (!bootstrap) {
    log('starting the harness broker (KAFKA_BOOTSTRAP_SERVERS is not set)...');
    broker = await startBroker({ heapMb: intEnv('BENCH_BROKER_HEAP_MB', 1024) });
    bootstrap = broker.bootstrapServers;
  }
  const bench: Bench = {
    kafka: new TestKafka(bootstrap),
    bootstrap,
    brokerPid: brokerPid(broker),
    stamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-'),
    workDir: mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-')),
  };
  const topics: string[] = [];
  try {
    if (mode === 'throughput') await throughput(bench, topics);
    else if (mode === 'memory') await memory(bench, topics);
    else if (mode === 'many-topics') await manyTopics(bench, topics);
    else await profile(bench, topics);
  } finally {
    if (broker !== undefined) {
      await broker.stop();
    } else if (process.env.BENCH_KEEP_TOPICS !== '1') {
      for (const topic of topics) await bench.kafka.deleteTopic(topic).catch(() => undefined);
    }
    if (process.env.BENCH_KEEP_LOGS === '1') log(`child process logs kept in ${bench.workDir}`);
    else rmSync(bench.workDir, { recursive: true, force: true });
  }
}

/** The harness broker's JVM is the process started with the server.properties in its directory. */
function brokerPid(broker: BrokerHandle | undefined): number | undefined {
  if (broker === undefined) return process.env.BENCH_BROKER_PID ? intEnv('BENCH_BROKER_PID', 0) : undefined;
  const pid = findProcess(path.join(broker.dir, 'server.properties'));
  if (pid === undefined) log('the broker JVM was not found in /proc: its CPU time will not be reported');
  return pid;
}

// ---- modes ----------------------------------------------------------------------------------

async function throughput(bench: Bench, topics: string[]): Promise<void> {
  // Only this mode runs kcat (the warm-up and the raw rate).
  ensureTool('kcat', 'kcat');
  if (SETTINGS.pythonPeer) ensurePythonPeer();
  const topic = await createAndFill(bench, topics, 'bench', SETTINGS.messages, SETTINGS.produceCompression);
  const timeoutMs = processTimeoutMs(topic.messages);
  const results: RunResult[] = [];
  let firstOutput: string | undefined;
  // Keeps the first output of the default collector for the pyarrow reference, removes the rest.
  const keepFirst = (outputDir: string): void => {
    if (firstOutput === undefined) firstOutput = outputDir;
    else rmSync(outputDir, { recursive: true, force: true });
  };
  warmUp(bench, topic);
  const processes = SETTINGS.bareProcesses ?? collectorProcesses(bench);
  const wanted = (consumer: Consumer): boolean => SETTINGS.consumers.includes(consumer);
  const s3 = wanted('collector-s3') ? await startS3Server({ bucket: 'bench-lake' }) : null;
  try {
    for (let round = 1; round <= SETTINGS.runs; round++) {
      if (wanted('kcat')) results.push(await runKcat(bench, topic, round, timeoutMs));
      if (wanted('bare-node')) results.push(await runBareConsumer(bench, topic, round, timeoutMs, 1));
      if (wanted('bare-node-group')) results.push(await runBareConsumer(bench, topic, round, timeoutMs, processes));
      if (SETTINGS.pythonPeer && wanted('python-peer')) results.push(await runPythonPeer(bench, topic, round, timeoutMs));
      if (wanted('collector-1')) {
        const single = await runCollector(bench, topic, round, timeoutMs, { MAX_WORKERS: '1' }, [], 'collector-1');
        rmSync(single.outputDir, { recursive: true, force: true });
        results.push(single.result);
      }
      if (wanted('collector')) {
        const asConfigured = await runCollector(bench, topic, round, timeoutMs, {});
        results.push(asConfigured.result);
        keepFirst(asConfigured.outputDir);
      }
      if (s3 !== null) results.push((await runCollector(bench, topic, round, timeoutMs, {}, [], 'collector-s3', s3)).result);
    }
  } finally {
    await s3?.stop();
  }
  const summary = summarise(results, processes);
  const pyarrow = firstOutput !== undefined && SETTINGS.pyarrow ? pyarrowReference(firstOutput) : null;
  if (firstOutput !== undefined) {
    if (process.env.BENCH_KEEP_OUTPUT === '1') log(`first collector run's output kept in ${firstOutput}`);
    else rmSync(firstOutput, { recursive: true, force: true });
  }

  const table = formatThroughputTable(summary, topic, processes);
  process.stdout.write(`\n${machineLine()}\n${table}\n`);
  const s3Run = results.find((run) => run.consumer === 'collector-s3');
  if (s3Run?.storeRequests !== undefined) process.stdout.write(`\nrequests to the S3 store in round 1's run (operation:result): ${JSON.stringify(s3Run.storeRequests)}\n`);
  if (pyarrow !== null) process.stdout.write(`\n${formatPyarrow(pyarrow)}\n`);
  const file = writeResults(`${bench.stamp}.json`, {
    kind: 'throughput',
    ...commonRecord(bench, topic),
    median: summary.medians,
    ratios: summary.ratios,
    pyarrow,
    runs: results,
    table,
  });
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`);
  if (SETTINGS.manyTopics > 0) await manyTopics(bench, topics);
}

/** Every topic of a broker backed up by a one-shot run (issue 22): the collector with one and two consumer processes, and the Python peer. */
async function manyTopics(bench: Bench, topics: string[]): Promise<void> {
  if (SETTINGS.pythonPeer) ensurePythonPeer();
  const { manyTopics: count, manyTopicsMessages: perTopic, manyTopicsPartitions: partitions } = SETTINGS;
  // Two days of records, whatever the number of messages.
  const msPerMessage = Math.floor((2 * 86_400_000) / (count * perTopic));
  const set = await createAndFill(bench, topics, 'bench-many', count * perTopic, 'lz4', { topics: count, partitions, msPerMessage });
  const timeoutMs = processTimeoutMs(set.messages);
  const results: RunResult[] = [];
  for (let round = 1; round <= SETTINGS.runs; round++) {
    for (const [consumer, processes] of [['collector-1', '1'], ['collector', '2']] as const) {
      const { result, outputDir } = await runCollector(bench, set, round, timeoutMs, { MAX_WORKERS: processes }, [], consumer);
      rmSync(outputDir, { recursive: true, force: true });
      results.push(result);
    }
    if (SETTINGS.pythonPeer) results.push(await runPythonPeer(bench, set, round, timeoutMs));
  }
  const summary = summarise(results, 2);
  const table = formatManyTopicsTable(summary, set);
  process.stdout.write(`\n${machineLine()}\n${table}\n`);
  const file = writeResults(`${bench.stamp}-many-topics.json`, { kind: 'many-topics', ...commonRecord(bench, set), median: summary.medians, ratios: summary.ratios, runs: results, table });
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`);
}

async function memory(bench: Bench, topics: string[]): Promise<void> {
  // The runtime's fixed overhead: the collector's peak RSS (its whole process tree) on a topic too
  // small to buffer anything, with the budget of the backlog runs (the heap limits follow it).
  const tiny = await createAndFill(bench, topics, 'bench-tiny', 1_000, SETTINGS.memoryCompressions[0] ?? 'none');
  const overheadRuns: RunResult[] = [];
  for (let round = 1; round <= SETTINGS.runs; round++) {
    const { result, outputDir } = await runCollector(bench, tiny, round, processTimeoutMs(tiny.messages), { MEMORY_BUDGET_BYTES: String(SETTINGS.memoryBudget) });
    overheadRuns.push(result);
    rmSync(outputDir, { recursive: true, force: true });
  }
  const fixedOverhead = median(overheadRuns.map((run) => run.peakRssBytes));
  const limit = SETTINGS.memoryBudget + fixedOverhead;

  const backlogs: BacklogMemory[] = [];
  for (const compression of SETTINGS.memoryCompressions) backlogs.push(await memoryOnBacklog(bench, topics, compression, limit));
  const pass = backlogs.every((backlog) => backlog.withinLimit);
  const rows = [
    [`fixed overhead (collector, 1,000 messages, median, ${processCount(overheadRuns[0]?.processes ?? 0)})`, mib(fixedOverhead)],
    ['largest single process of the collector on 1,000 messages (median)', mib(median(overheadRuns.map((run) => run.maxSingleRssBytes)))],
    ['memory budget (MEMORY_BUDGET_BYTES)', mib(SETTINGS.memoryBudget)],
    ['limit = budget + fixed overhead', mib(limit)],
    ...backlogs.flatMap(backlogRows),
    ['all within the limit', pass ? 'yes' : 'NO'],
  ];
  const table = [
    'peak RSS: the sum over the process tree (every process of the collector, of the bare consumer), sampled every 100 ms',
    '',
    '| | |',
    '|---|---:|',
    ...rows.map(([name, value]) => `| ${name} | ${value} |`),
  ].join('\n');
  process.stdout.write(`\n${machineLine()}\n${table}\n`);
  const file = writeResults(`${bench.stamp}-memory.json`, {
    kind: 'memory',
    ...commonRecord(bench, backlogs[0]?.backlog ?? tiny),
    budgetBytes: SETTINGS.memoryBudget,
    fixedOverheadBytes: fixedOverhead,
    limitBytes: limit,
    withinLimit: pass,
    overheadRuns,
    backlogs,
    table,
  });
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`);
  if (!pass) process.exitCode = 1;
}

interface BacklogMemory {
  readonly compression: string;
  readonly backlog: Topic;
  readonly bare: RunResult;
  readonly collector: RunResult;
  readonly withinLimit: boolean;
  readonly memoryAtPeak: ProbeSample | null;
  readonly memoryProbe: ProbeSample[];
}

/** One backlog produced with `compression`: the bare consumer's and the collector's peak tree RSS on it. */
async function memoryOnBacklog(bench: Bench, topics: string[], compression: string, limit: number): Promise<BacklogMemory> {
  const backlog = await createAndFill(bench, topics, `bench-backlog-${compression}`, SETTINGS.memoryMessages, compression);
  const timeoutMs = processTimeoutMs(backlog.messages);
  const bare = await runBareConsumer(bench, backlog, 1, timeoutMs, 1);
  const probeFile = path.join(bench.workDir, `memory-probe-${compression}.jsonl`);
  const { result: collector, outputDir } = await runCollector(
    bench,
    backlog,
    1,
    timeoutMs,
    { MEMORY_BUDGET_BYTES: String(SETTINGS.memoryBudget), BENCH_MEMORY_PROBE_FILE: probeFile },
    ['--require', path.join(__dirname, 'memory-probe.js')],
  );
  rmSync(outputDir, { recursive: true, force: true });
  const probe = readProbe(probeFile);
  const atPeak = probe.reduce<ProbeSample | null>((best, sample) => (best === null || sample.rss > best.rss ? sample : best), null);
  return { compression, backlog, bare, collector, withinLimit: collector.peakRssBytes <= limit, memoryAtPeak: atPeak, memoryProbe: probe };
}

function backlogRows(result: BacklogMemory): string[][] {
  const { collector, bare, memoryAtPeak: atPeak } = result;
  const on = `${fmtInt(result.backlog.messages)} messages, ${result.compression}`;
  const rows = [
    [`collector peak RSS, ${on} (${processCount(collector.processes)})`, mib(collector.peakRssBytes)],
    [`largest single process of the collector, peak RSS, ${result.compression}`, mib(collector.maxSingleRssBytes)],
    [`bare Node consumer peak RSS, ${on}`, mib(bare.peakRssBytes)],
    [`collector rate, ${result.compression}`, `${fmtInt(collector.messagesPerS)} msg/s, ${collector.wallS.toFixed(1)} s, ${collector.cpuS.toFixed(1)} CPU s`],
    [`within the limit, ${result.compression}`, result.withinLimit ? 'yes' : 'NO'],
  ];
  if (atPeak !== null) {
    rows.push([
      `a main thread at the highest sampled RSS of one process (pid ${atPeak.pid ?? '?'}, ${atPeak.t.toFixed(1)} s), ${result.compression}`,
      `RSS ${mib(atPeak.rss)}: V8 heap ${mib(atPeak.heapTotal)} (${mib(atPeak.heapUsed)} used), external ${mib(atPeak.external)} ` +
        `(array buffers ${mib(atPeak.arrayBuffers)}), rest ${mib(atPeak.rss - atPeak.heapTotal - atPeak.external)}`,
    ]);
  }
  return rows;
}

interface ProbeSample {
  /** Absent in probes written before worker processes. */
  readonly pid?: number;
  readonly t: number;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

function readProbe(file: string): ProbeSample[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ProbeSample);
}

async function profile(bench: Bench, topics: string[]): Promise<void> {
  const topic = await createAndFill(bench, topics, 'bench-profile', SETTINGS.profileMessages, SETTINGS.produceCompression);
  const profileDir = path.join(RESULTS_DIR, `${bench.stamp}-profile`);
  mkdirSync(profileDir, { recursive: true });
  const { result, outputDir } = await runCollector(bench, topic, 1, processTimeoutMs(topic.messages), {}, [
    '--cpu-prof',
    `--cpu-prof-dir=${profileDir}`,
  ]);
  rmSync(outputDir, { recursive: true, force: true });
  const summaries: ProfileSummary[] = readdirSync(profileDir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => summariseProfile(path.join(profileDir, name), ROOT))
    .sort((a, b) => (a.thread === 'main' ? -1 : b.thread === 'main' ? 1 : b.busyMs - a.busyMs));
  process.stdout.write(
    `\n${machineLine()}\ncollector under --cpu-prof: ${fmtInt(topic.messages)} messages in ${result.wallS.toFixed(2)} s ` +
      `(${fmtInt(result.messagesPerS)} msg/s), ${result.cpuS.toFixed(2)} CPU s, peak RSS ${mib(result.peakRssBytes)}\n\n`,
  );
  for (const summary of summaries) process.stdout.write(`${formatSummary(summary, 25)}\n\n`);
  const file = writeResults(`${bench.stamp}-profile.json`, {
    kind: 'profile',
    ...commonRecord(bench, topic),
    collector: result,
    profileDir: path.relative(ROOT, profileDir),
    threads: summaries.map((summary) => ({ ...summary, functions: summary.functions.slice(0, 60) })),
  });
  process.stdout.write(`results: ${path.relative(ROOT, file)} (open the .cpuprofile files in ${path.relative(ROOT, profileDir)} with Chrome DevTools)\n`);
}

// ---- the three consumers --------------------------------------------------------------------

/**
 * Not timed: the first group a fresh broker sees makes it create __consumer_offsets (about a
 * second), which would otherwise land on round 1's kcat only.
 */
function warmUp(bench: Bench, topic: Topic): void {
  const run = spawnSync(
    'kcat',
    ['-b', bench.bootstrap, '-G', uniqueName('bench-warmup'), '-c', '1', '-q', '-f', '', '-X', 'auto.offset.reset=earliest', topic.name],
    { timeout: 60_000, stdio: 'ignore' },
  );
  if (run.status !== 0) log(`warm-up kcat exited with ${String(run.status)} (ignored)`);
}

async function runKcat(bench: Bench, topic: Topic, round: number, timeoutMs: number): Promise<RunResult> {
  const group = uniqueName('bench-kcat');
  // The collector's consumer properties, except those kcat's -G/-e mode owns and those its older
  // built-in librdkafka (2.0.2 in Debian's kcat 1.7.1) does not know (it refuses to start).
  const properties = Object.entries(collectorConsumerProperties(bench, group)).filter(
    ([key]) => !['bootstrap.servers', 'group.id', 'enable.partition.eof', ...UNKNOWN_TO_KCAT].includes(key),
  );
  const args = ['-b', bench.bootstrap, '-G', group, '-e', '-f', '', ...properties.flatMap(([key, value]) => ['-X', `${key}=${String(value)}`]), topic.name];
  const loadAvg = os.loadavg()[0];
  const measured = await measure(bench, 'kcat', args, { name: `kcat-${round}`, timeoutMs, timestampStderr: true });
  checkExit(measured, 'kcat');
  // Without -q, kcat reports where each partition ended: the offsets it reached must add up to N.
  const stderr = readFileSync(measured.stderrFile, 'utf8');
  const ends = new Map<string, number>();
  for (const match of stderr.matchAll(/Reached end of topic (\S+) \[(\d+)\] at offset (\d+)/g)) ends.set(match[2], Number(match[3]));
  const reached = [...ends.values()].reduce((sum, offset) => sum + offset, 0);
  if (ends.size !== topic.partitions || reached !== topic.messages) {
    throw new Error(`kcat reached offsets summing to ${reached} on ${ends.size} partitions, expected ${topic.messages} on ${topic.partitions}:\n${stderr}`);
  }
  // "% Group <g> rebalanced (memberid ...): assigned: <topic> [0], ..." arrives when kcat assigns;
  // "rebalanced: incremental assignment of <n> partition(s)" under the cooperative protocol.
  const assigned = measured.stderrLines.find(([, line]) => /rebalanced.*(: assigned: |incremental assignment)/.test(line));
  return record('kcat', 'kcat (librdkafka, -G, to /dev/null)', round, topic, measured, loadAvg, assigned?.[0] ?? null, {});
}

/** The bare Node consumer: one process, or a primary with `processes` members in one group. */
async function runBareConsumer(bench: Bench, topic: Topic, round: number, timeoutMs: number, processes: number): Promise<RunResult> {
  const group = uniqueName('bench-bare');
  const loadAvg = os.loadavg()[0];
  const measured = await measure(bench, process.execPath, [BARE_CONSUMER, bench.bootstrap, topic.name, group, String(topic.messages), String(processes)], {
    name: `bare-${processes}-${round}`,
    timeoutMs,
  });
  checkExit(measured, 'bare consumer');
  const report = JSON.parse(readFileSync(measured.stdoutFile, 'utf8').trim()) as BareReport;
  // Re-reads after a rebalance add bytes: only the single process must see exactly the produced bytes.
  if (report.messages !== topic.messages || (processes === 1 && report.valueBytes !== topic.produced.valueBytes)) {
    throw new Error(`bare consumer counted ${report.messages} messages / ${report.valueBytes} bytes, expected ${topic.messages} / ${topic.produced.valueBytes}`);
  }
  const [consumer, label]: [Consumer, string] =
    processes === 1 ? ['bare-node', 'bare Node consumer (count only)'] : ['bare-node-group', `bare Node consumer, ${processes} processes in one group`];
  return record(consumer, label, round, topic, measured, loadAvg, report.assignedEpochMs > 0 ? report.assignedEpochMs : null, {
    firstMessageS: report.firstMessageS,
    lastMessageS: report.lastMessageS,
    consumed: report.consumed,
  });
}

/** The npm setup installs the peer's packages; a checkout set up before it existed gets a clear message. */
function ensurePythonPeer(): void {
  const check = spawnSync(SETTINGS.python, ['-c', 'import confluent_kafka, msgpack, polars'], { encoding: 'utf8' });
  if (check.status !== 0) {
    throw new Error(`the Python peer needs confluent-kafka, msgpack and polars in ${SETTINGS.python}: run \`npm run setup\` (or BENCH_PYTHON_PEER=0)\n${check.stderr}`);
  }
}

async function runPythonPeer(bench: Bench, topic: Topic, round: number, timeoutMs: number): Promise<RunResult> {
  const group = uniqueName('bench-python');
  const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-peer-'));
  // Only the seed's variables: the collector's settings in the bench's environment are not the peer's.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BOOTSTRAP_SERVERS: bench.bootstrap,
    TOPICS: topic.names.join(','),
    GROUP_ID: group,
    OUTPUT_DIR: outputDir,
  };
  const loadAvg = os.loadavg()[0];
  try {
    const measured = await measure(bench, SETTINGS.python, [PYTHON_PEER], { env, cwd: ROOT, name: `python-peer-${round}`, timeoutMs });
    checkExit(measured, 'Python peer');
    const report = JSON.parse(readFileSync(measured.stdoutFile, 'utf8').trim()) as { messages: number; rows: number; decode_errors: number };
    if (report.messages !== topic.messages || report.rows !== topic.messages || report.decode_errors !== 0) {
      throw new Error(`Python peer read ${report.messages} messages into ${report.rows} rows (${report.decode_errors} undecodable), expected ${topic.messages}`);
    }
    const lake = await checkLake(bench, topic, group, outputDir, 'Python peer');
    return record('python-peer', 'Python peer (seed design: confluent-kafka poll(), Polars, zstd)', round, topic, measured, loadAvg, null, lake);
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

async function runCollector(
  bench: Bench,
  topic: Topic,
  round: number,
  timeoutMs: number,
  extraEnv: Readonly<Record<string, string>>,
  /** Node options for the collector alone (the launcher's helper does not get them). */
  nodeFlags: readonly string[] = [],
  consumer: Extract<Consumer, 'collector' | 'collector-1' | 'collector-s3'> = 'collector',
  /** Into a bucket of this server instead of a folder. */
  s3?: S3ServerHandle,
): Promise<{ result: RunResult; outputDir: string }> {
  const group = uniqueName('bench-collector');
  const bucketLake = s3 === undefined ? null : s3LakeOf(s3, uniqueName('bench-lake'));
  const outputDir = bucketLake?.outputDir ?? mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-out-'));
  const env = collectorEnv(bench, topic.names.join(','), group, outputDir, { ...bucketLake?.env, ...extraEnv });
  if (nodeFlags.length > 0) env.COLLECTOR_NODE_ARGS = nodeFlags.join(' ');
  const loadAvg = os.loadavg()[0];
  const measured = await measure(bench, COLLECTOR_LAUNCHER, ['--once'], {
    env,
    cwd: ROOT,
    name: `collector-${topic.name}-${consumer}-${round}`,
    timeoutMs,
  });
  checkExit(measured, 'collector');
  const workers = env.MAX_WORKERS === undefined ? 'MAX_WORKERS unset' : `MAX_WORKERS=${env.MAX_WORKERS}`;
  if (bucketLake !== null) {
    try {
      const lake = await checkBucketLake(bench, topic, group, bucketLake.lake);
      const result = record(consumer, `collector --once into S3, ${workers}`, round, topic, measured, loadAvg, collectorAssignedEpochMs(measured.stdoutFile), { ...lake, storeRequests: storeRequestsOf(measured.stdoutFile) });
      return { result, outputDir };
    } finally {
      bucketLake.lake.store.close();
    }
  }
  const lake = await checkLake(bench, topic, group, outputDir, 'collector');
  const result = record(consumer, `collector --once, ${workers}`, round, topic, measured, loadAvg, collectorAssignedEpochMs(measured.stdoutFile), lake);
  return { result, outputDir };
}

/** The bucket holds every offset once (`verify`, the collector's own reader: DuckDB cannot read s3:// here) and no dead letter; the group committed the end offsets. */
async function checkBucketLake(bench: Bench, topic: Topic, group: string, lake: Lake): Promise<{ outputBytes: number; files: number; bytesPerRow: number }> {
  const verified = await verifyOutput({ lake, topics: topic.names });
  const rows = verified.reports.reduce((sum, report) => sum + report.rows, 0);
  const duplicates = verified.reports.reduce((sum, report) => sum + report.duplicates, 0);
  const objects = (await lake.store.list('')).objects.filter(({ key }) => key.endsWith('.parquet'));
  if (objects.some(({ key }) => key.includes('_dead_letter/'))) throw new Error(`the collector on S3 wrote dead letters in ${lake.store.location}`);
  if (rows !== topic.messages || duplicates !== 0) throw new Error(`the collector on S3 wrote ${rows} rows (${duplicates} duplicates), expected ${topic.messages}, in ${lake.store.location}`);
  await checkCommitted(bench, topic, group, 'the collector on S3');
  const outputBytes = objects.reduce((sum, object) => sum + object.size, 0);
  return { outputBytes, files: objects.length, bytesPerRow: outputBytes / topic.messages };
}

/** The requests the collector's processes made to the lake store, summed over their store_requests log lines. */
function storeRequestsOf(stdoutFile: string): Record<string, number> {
  const total: Record<string, number> = {};
  for (const line of readFileSync(stdoutFile, 'utf8').split('\n')) {
    if (!line.includes('"store_requests"')) continue;
    const requests = (JSON.parse(line) as { requests?: Record<string, number> }).requests ?? {};
    for (const [kind, count] of Object.entries(requests)) total[kind] = (total[kind] ?? 0) + count;
  }
  return total;
}

/**
 * A writer's output is right: no dead letters, DuckDB reads exactly N distinct (topic, partition,
 * offset) rows, and the group committed the end offsets. Returns the output's size.
 */
async function checkLake(
  bench: Bench,
  topic: Topic,
  group: string,
  outputDir: string,
  what: string,
): Promise<{ outputBytes: number; files: number; bytesPerRow: number }> {
  const files = parquetFiles(outputDir);
  const deadLetters = parquetFiles(outputDir, 'dead-letter');
  if (deadLetters.length > 0) throw new Error(`${what} wrote ${deadLetters.length} dead-letter files in ${outputDir}`);
  const [counts] = await queryFiles(files, 'SELECT count(*) AS n, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) AS d FROM {files}');
  if (Number(counts.n) !== topic.messages || Number(counts.d) !== topic.messages) {
    throw new Error(`${what} output has ${String(counts.n)} rows (${String(counts.d)} distinct offsets), expected ${topic.messages}; in ${outputDir}`);
  }
  await checkCommitted(bench, topic, group, what);
  const outputBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  return { outputBytes, files: files.length, bytesPerRow: outputBytes / topic.messages };
}

async function checkCommitted(bench: Bench, topic: Topic, group: string, what: string): Promise<void> {
  const committed = await bench.kafka.committedOffsetsOfTopics(group, topic.names);
  for (const [name, ends] of await bench.kafka.endOffsetsOfTopics(topic.names)) {
    for (const [partition, end] of ends) {
      const at = committed.get(name)?.get(partition);
      if (at !== end) throw new Error(`${what} committed ${String(at)} on ${name} [${partition}], end offset is ${end}`);
    }
  }
}

/** runMeasured with the bench's log directory, watching the broker's CPU time. */
function measure(
  bench: Bench,
  command: string,
  args: readonly string[],
  options: Omit<RunOptions, 'logDir' | 'watchPid'>,
): Promise<Measured> {
  return runMeasured(command, args, { ...options, logDir: bench.workDir, watchPid: bench.brokerPid });
}

function collectorEnv(
  bench: Bench,
  topic: string,
  group: string,
  outputDir: string,
  extra: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The schema's defaults, not whatever config/collector.json holds today.
    CONFIG_FILE: EMPTY_CONFIG,
    BOOTSTRAP_SERVERS: bench.bootstrap,
    TOPICS: topic,
    GROUP_ID: group,
    OUTPUT_DIR: outputDir,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // JSON lines: the bench reads the partitions_assigned event's time from them.
    LOG_FORMAT: 'json',
    ...extra,
  };
  delete env.TOPIC_PATTERN;
  delete env.RUN_MODE;
  return env;
}

/** The consumer processes the collector starts under the bench's environment (MAX_WORKERS, auto: the cores). */
function collectorProcesses(bench: Bench): number {
  const env = collectorEnv(bench, 'unused', 'unused', bench.workDir, {});
  return processesFor(loadConfig({ env, file: EMPTY_CONFIG }).config, availableCores());
}

/** Newer than the librdkafka 2.0.2 built into kcat 1.7.1. */
const UNKNOWN_TO_KCAT = ['fetch.queue.backoff.ms'];

/** The consumer properties the collector derives from the same environment (for kcat's -X). */
function collectorConsumerProperties(bench: Bench, group: string): Record<string, string | number | boolean> {
  const env = collectorEnv(bench, 'unused', group, bench.workDir, {});
  return consumerProperties(loadConfig({ env, file: EMPTY_CONFIG }).config);
}

/** Time of the collector's first `partitions_assigned` log event (pino JSON lines on stdout). */
function collectorAssignedEpochMs(stdoutFile: string): number | null {
  for (const line of readFileSync(stdoutFile, 'utf8').split('\n')) {
    if (!line.includes('partitions_assigned')) continue;
    try {
      const entry = JSON.parse(line) as { event?: string; time?: number | string };
      if (entry.event !== 'partitions_assigned' || entry.time === undefined) continue;
      const at = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
      if (Number.isFinite(at)) return at;
    } catch {
      // Not a JSON line.
    }
  }
  return null;
}

function record(
  consumer: Consumer,
  label: string,
  round: number,
  topic: Topic,
  measured: Measured,
  loadAvg1mBefore: number,
  assignedEpochMs: number | null,
  extra: Partial<RunResult>,
): RunResult {
  const afterAssignS = assignedEpochMs === null ? null : (measured.exitEpochMs - assignedEpochMs) / 1000;
  const result: RunResult = {
    consumer,
    label,
    round,
    messages: topic.messages,
    wallS: measured.wallS,
    cpuS: measured.cpuS,
    cpuUsPerMessage: (measured.cpuS / topic.messages) * 1e6,
    userS: measured.userS,
    sysS: measured.sysS,
    treeCpuLowerBoundS: measured.treeCpuLowerBoundS,
    unreapedCpu: measured.unreapedCpu,
    peakRssBytes: measured.peakRssBytes,
    maxSingleRssBytes: measured.maxSingleRssBytes,
    processes: measured.processes,
    brokerCpuS: measured.watchedCpuS,
    messagesPerS: topic.messages / measured.wallS,
    mbPerS: topic.produced.valueBytes / 1e6 / measured.wallS,
    loadAvg1mBefore,
    assignedAfterS: assignedEpochMs === null ? null : (assignedEpochMs - measured.spawnEpochMs) / 1000,
    messagesPerSAfterAssign: afterAssignS === null || afterAssignS <= 0 ? null : topic.messages / afterAssignS,
    rssSamples: measured.rssSamples,
    ...extra,
  };
  log(
    `  round ${round} ${consumer.padEnd(15)} ${result.wallS.toFixed(2)} s wall, ${fmtInt(result.messagesPerS)} msg/s, ` +
      `${result.cpuS.toFixed(2)} CPU s (${processCount(result.processes)}${result.unreapedCpu ? ', some not waited for' : ''}), ` +
      `broker ${result.brokerCpuS === null ? '?' : result.brokerCpuS.toFixed(2)} CPU s, peak RSS ${mib(result.peakRssBytes)}` +
      (result.assignedAfterS !== null ? `, assigned at ${result.assignedAfterS.toFixed(2)} s` : '') +
      (result.bytesPerRow !== undefined ? `, ${result.bytesPerRow.toFixed(2)} B/row in ${String(result.files)} files` : '') +
      ` (load ${loadAvg1mBefore.toFixed(2)} before)`,
  );
  return result;
}

function checkExit(measured: Measured, what: string): void {
  if (measured.exitCode === 0) return;
  const tail = (file: string): string => readFileSync(file, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
  throw new Error(
    `${what} failed (exit ${String(measured.exitCode)}, signal ${String(measured.signal)}): ${measured.command}\n` +
      `--- stdout ---\n${tail(measured.stdoutFile)}\n--- stderr ---\n${tail(measured.stderrFile)}`,
  );
}

// ---- data ----------------------------------------------------------------------------------

/** One topic (or `shape.topics` of them, sharing the messages) of `count` messages, each on its own name. */
async function createAndFill(
  bench: Bench,
  topics: string[],
  prefix: string,
  count: number,
  compression: string,
  shape: { readonly topics: number; readonly partitions: number; readonly msPerMessage: number } = { topics: 1, partitions: SETTINGS.partitions, msPerMessage: 1 },
): Promise<Topic> {
  const name = uniqueName(prefix);
  const names = shape.topics === 1 ? [name] : Array.from({ length: shape.topics }, (_, i) => `${name}-${String(i).padStart(4, '0')}`);
  // The records carry a fixed 2025 timestamp (stable output): time retention must not delete them.
  await bench.kafka.createTopics(names, shape.partitions, { 'retention.ms': '-1' });
  topics.push(...names);
  const where = names.length === 1 ? name : `${names.length} topics ${name}-*`;
  log(`producing ${fmtInt(count)} messages to ${where} (${shape.partitions} partitions each, compression ${compression}; not timed)...`);
  const produced = await produceMarketData(bench.bootstrap, names, count, shape.partitions, compression, (done) => {
    if (done > 0 && done % 1_000_000 === 0) log(`  ${fmtInt(done)} produced`);
  }, shape.msPerMessage);
  const ends = await bench.kafka.endOffsetsOfTopics(names);
  const total = [...ends.values()].flatMap((byPartition) => [...byPartition.values()]).reduce((sum, offset) => sum + offset, 0);
  if (total !== count) throw new Error(`${where} hold ${total} messages after producing ${count}`);
  log(
    `  produced in ${produced.seconds.toFixed(1)} s: ${(produced.valueBytes / count).toFixed(1)} value bytes/message, ` +
      `${(produced.valueBytes / MIB).toFixed(1)} MiB of values`,
  );
  return { name, names, partitions: shape.partitions, produced, messages: count, compression };
}

// ---- results -------------------------------------------------------------------------------

interface Medians {
  readonly label: string;
  readonly processes: number;
  readonly messagesPerS: number;
  readonly messagesPerSAfterAssign: number | null;
  readonly assignedAfterS: number | null;
  readonly mbPerS: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly cpuUsPerMessage: number;
  readonly brokerCpuS: number | null;
  readonly peakRssBytes: number;
  readonly bytesPerRow: number | null;
}

type Summary = { medians: Partial<Record<Consumer, Medians>>; ratios: Record<string, number> };

/** Median of the values present, null when there are none. */
function medianOf(values: ReadonlyArray<number | null | undefined>): number | null {
  const known = values.filter((value): value is number => value !== null && value !== undefined);
  return known.length > 0 ? median(known) : null;
}

function mediansOf(runs: readonly RunResult[]): Medians {
  const of = (pick: (run: RunResult) => number): number => median(runs.map(pick));
  return {
    label: runs[0].label,
    processes: of((run) => run.processes),
    messagesPerS: of((run) => run.messagesPerS),
    messagesPerSAfterAssign: medianOf(runs.map((run) => run.messagesPerSAfterAssign)),
    assignedAfterS: medianOf(runs.map((run) => run.assignedAfterS)),
    mbPerS: of((run) => run.mbPerS),
    wallS: of((run) => run.wallS),
    cpuS: of((run) => run.cpuS),
    cpuUsPerMessage: of((run) => run.cpuUsPerMessage),
    brokerCpuS: medianOf(runs.map((run) => run.brokerCpuS)),
    peakRssBytes: of((run) => run.peakRssBytes),
    bytesPerRow: medianOf(runs.map((run) => run.bytesPerRow)),
  };
}

/** `processes`: the bare consumer group's size, the collector's consumer processes. */
function summarise(results: readonly RunResult[], processes: number): Summary {
  const medians: Partial<Record<Consumer, Medians>> = {};
  for (const consumer of CONSUMERS) {
    const runs = results.filter((run) => run.consumer === consumer);
    if (runs.length > 0) medians[consumer] = mediansOf(runs);
  }
  const rate = (consumer: Consumer): number | null => medians[consumer]?.messagesPerS ?? null;
  // The bare consumer's single-process rate times the group's process count: perfect scaling.
  const bareTimesProcesses = ratioOf(rate('bare-node'), 1 / processes);
  return {
    medians,
    ratios: {
      collectorOverPythonPeer: ratioOf(rate('collector'), rate('python-peer')),
      collector1OverPythonPeer: ratioOf(rate('collector-1'), rate('python-peer')),
      collectorOverBareTimesProcesses: ratioOf(rate('collector'), bareTimesProcesses),
      collectorOverBareGroup: ratioOf(rate('collector'), rate('bare-node-group')),
      collector1OverBare: ratioOf(rate('collector-1'), rate('bare-node')),
      bareGroupOverBareTimesProcesses: ratioOf(rate('bare-node-group'), bareTimesProcesses),
      collectorOverKcat: ratioOf(rate('collector'), rate('kcat')),
      bareOverKcat: ratioOf(rate('bare-node'), rate('kcat')),
      collectorCpuOverPythonPeerCpu: ratioOf(medians.collector?.cpuS ?? null, medians['python-peer']?.cpuS ?? null),
      collectorS3OverCollector: ratioOf(rate('collector-s3'), rate('collector')),
      afterAssignCollectorOverBareGroup: ratioOf(medians.collector?.messagesPerSAfterAssign ?? null, medians['bare-node-group']?.messagesPerSAfterAssign ?? null),
    },
  };
}

function ratioOf(a: number | null, b: number | null): number {
  return a === null || b === null ? Number.NaN : a / b;
}

const orDash = (value: number | null, format: (value: number) => string): string => (value === null ? '-' : format(value));

function tableRow(index: number, m: Medians): string {
  return (
    `| ${index}. ${m.label} | ${m.processes} | ${fmtInt(m.messagesPerS)} | ${m.mbPerS.toFixed(1)} | ${m.wallS.toFixed(2)} | ${m.cpuS.toFixed(2)} | ` +
    `${m.cpuUsPerMessage.toFixed(2)} | ${orDash(m.brokerCpuS, (v) => v.toFixed(2))} | ${(m.peakRssBytes / MIB).toFixed(0)} | ` +
    `${orDash(m.bytesPerRow, (v) => v.toFixed(2))} | ${orDash(m.assignedAfterS, (v) => v.toFixed(2))} | ${orDash(m.messagesPerSAfterAssign, fmtInt)} |`
  );
}

/** The head of a results table and a row per consumer that ran, in CONSUMERS order. */
function resultRows(summary: Summary, topic: Topic, what: string): string[] {
  const lines = [
    `${what}, ${(topic.produced.valueBytes / topic.messages).toFixed(1)} value bytes/message, ` +
      `produced with compression ${topic.compression}; median of ${SETTINGS.runs} runs; MB = 10^6 bytes of message values`,
    'processes: alive at once in the measured tree (most samples; a primary counts); CPU s: user + sys of the whole tree; peak RSS: summed over the tree; ' +
      'broker CPU s: the broker JVM during the run',
    '',
    '| consumer | processes | msg/s | MB/s | wall s | CPU s | CPU µs/msg | broker CPU s | peak RSS MiB | output bytes/row | assigned at s | msg/s after assignment |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  CONSUMERS.forEach((consumer, index) => {
    const m = summary.medians[consumer];
    if (m !== undefined) lines.push(tableRow(index + 1, m));
  });
  return lines;
}

function formatManyTopicsTable(summary: Summary, set: Topic): string {
  const fmt = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(3));
  return [
    ...resultRows(summary, set, `many topics: ${fmtInt(set.messages)} messages in ${set.names.length} topics of ${set.partitions} partitions, over two days`),
    '',
    `collector MAX_WORKERS=1 / Python peer: ${fmt(summary.ratios.collector1OverPythonPeer)}`,
    `collector MAX_WORKERS=2 / Python peer: ${fmt(summary.ratios.collectorOverPythonPeer)}`,
    'msg/s = messages / process wall time (start, connect, group join, consume, final flush, commit and exit).',
  ].join('\n');
}

function formatThroughputTable(summary: Summary, topic: Topic, n: number): string {
  const { ratios } = summary;
  const lines = resultRows(summary, topic, `${fmtInt(topic.messages)} messages, ${topic.partitions} partitions`);
  const fmt = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(3));
  const ratioLines: Array<[string, number, string]> = [
    ['collector / Python peer', ratios.collectorOverPythonPeer, '  (goal >= 2)'],
    ['collector MAX_WORKERS=1 / Python peer', ratios.collector1OverPythonPeer, ''],
    [`collector / (bare Node × ${n})`, ratios.collectorOverBareTimesProcesses, ''],
    [`collector / bare Node group of ${n}`, ratios.collectorOverBareGroup, '  (goal >= 0.9)'],
    ['collector MAX_WORKERS=1 / bare Node', ratios.collector1OverBare, ''],
    [`bare Node group of ${n} / (bare Node × ${n})`, ratios.bareGroupOverBareTimesProcesses, ''],
    ['collector / kcat', ratios.collectorOverKcat, ''],
    ['bare Node / kcat', ratios.bareOverKcat, ''],
    ['collector CPU s / Python peer CPU s', ratios.collectorCpuOverPythonPeerCpu, ''],
    ['after assignment: collector / bare Node group', ratios.afterAssignCollectorOverBareGroup, '  (group join excluded)'],
    ['collector into S3 / collector into a folder', ratios.collectorS3OverCollector, '  (goal >= 0.8)'],
  ];
  const width = Math.max(...ratioLines.map(([name]) => name.length)) + 2;
  lines.push('', ...ratioLines.map(([name, value, note]) => `${`${name}:`.padEnd(width)}${fmt(value)}${note}`));
  lines.push(
    'msg/s = messages / process wall time (start, connect, group join, consume, and for the writers the final flush, commit and exit).',
  );
  return lines.join('\n');
}

interface PyarrowResult {
  readonly perFile: Record<string, number | string> | null;
  readonly referenceScript: string | null;
  readonly error?: string;
}

/** pyarrow's bytes/row for the same rows (dev-only check; installs pyarrow with pip when missing). */
function pyarrowReference(outputDir: string): PyarrowResult {
  // .cache/pyenv (npm run setup) has pyarrow and polars; PYTHON picks another interpreter.
  const python = process.env.PYTHON ?? SETTINGS.python;
  const has = (module: string): boolean => spawnSync(python, ['-c', `import ${module}`]).status === 0;
  if (!has('pyarrow')) {
    log('pyarrow is missing: pip install pyarrow (dev-only check)...');
    spawnSync(python, ['-m', 'pip', 'install', '--quiet', 'pyarrow'], { stdio: 'inherit' });
    if (!has('pyarrow')) return { perFile: null, referenceScript: null, error: 'pyarrow is not installed and pip could not install it' };
  }
  const files = parquetFiles(outputDir);
  const run = spawnSync(python, [path.join(ROOT, 'test', 'bench', 'pyarrow-bytes-per-row.py'), ...files], { encoding: 'utf8' });
  if (run.status !== 0) return { perFile: null, referenceScript: null, error: run.stderr };
  // The existing reference script also checks that pyarrow and polars read our file (needs polars).
  const reference = has('polars')
    ? spawnSync(python, [path.join(ROOT, 'test', 'bench', 'pyarrow-reference.py'), files[0]], { encoding: 'utf8' })
    : null;
  return {
    perFile: JSON.parse(run.stdout) as Record<string, number | string>,
    referenceScript: reference === null ? 'skipped: polars is not installed' : `${reference.stdout}${reference.stderr}`.trim(),
  };
}

function formatPyarrow(result: PyarrowResult): string {
  if (result.perFile === null) return `pyarrow reference: ${result.error ?? 'not run'}`;
  const r = result.perFile;
  const n = (key: string): number => Number(r[key]);
  return [
    `output size against pyarrow ${String(r.pyarrow)} (zstd, pyarrow defaults), first collector run: ${fmtInt(n('rows'))} rows in ${n('files')} files`,
    '',
    '| writer | bytes | bytes/row | ours / it |',
    '|---|---:|---:|---:|',
    `| collector (parquet-wasm, zstd), ${n('our_row_groups')} row groups | ${fmtInt(n('ours_bytes'))} | ${n('ours_bytes_per_row').toFixed(2)} | |`,
    `| pyarrow, each of our files re-written (same rows per file) | ${fmtInt(n('per_file_bytes'))} | ${n('per_file_bytes_per_row').toFixed(2)} | ${n('ours_over_per_file').toFixed(3)} |`,
    `| pyarrow, all rows in one file | ${fmtInt(n('one_file_bytes'))} | ${n('one_file_bytes_per_row').toFixed(2)} | ${n('ours_over_one_file').toFixed(3)} |`,
    '',
    `goal: ours / pyarrow (same rows per file) <= 1.25`,
    result.referenceScript === null ? '' : `\npyarrow-reference.py on the first file:\n${result.referenceScript}`,
  ].join('\n');
}

function commonRecord(bench: Bench, topic: Topic): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    machine: machineInfo(),
    settings: { ...SETTINGS, runsPerConsumer: SETTINGS.runs },
    topic: { name: topic.name, topics: topic.names.length, partitions: topic.partitions, ...topic.produced },
    collectorConfig: effectiveCollectorConfig(bench),
    brokerExternal: Boolean(process.env.KAFKA_BOOTSTRAP_SERVERS),
    collectorLauncher: path.relative(ROOT, COLLECTOR_LAUNCHER),
  };
}

function machineInfo(): Record<string, unknown> {
  // No kcat (only the throughput mode needs it): its stdout is null.
  const kcat = (spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout ?? '').split('\n').find((line) => line.startsWith('Version')) ?? '';
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    librdkafkaNode: librdkafkaVersion,
    kcat: kcat.trim(),
    loadAvg: os.loadavg(),
  };
}

function machineLine(): string {
  const m = machineInfo();
  return `${new Date().toISOString()} | nproc ${String(m.nproc)} | ${String(m.cpuModel)} | node ${String(m.node)} | librdkafka ${String(m.librdkafkaNode)} (node), kcat ${String(m.kcat)}`;
}

/** What the collector runs with (secrets redacted), from its own --print-config. */
function effectiveCollectorConfig(bench: Bench): unknown {
  const run = spawnSync(COLLECTOR_LAUNCHER, ['--print-config'], {
    env: collectorEnv(bench, 'TOPIC', 'GROUP', 'OUTPUT_DIR', {}),
    cwd: ROOT,
    encoding: 'utf8',
  });
  try {
    return JSON.parse(run.stdout) as unknown;
  } catch {
    return { error: run.stderr || run.stdout };
  }
}

function writeResults(name: string, data: Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, name);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

// ---- helpers -------------------------------------------------------------------------------

/** kcat and GNU time come from Debian packages; installs them when running as root. */
function ensureTool(binary: string, aptPackage: string): void {
  const found = binary.startsWith('/') ? existsSync(binary) : spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
  if (found) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`${binary} is missing: install the Debian package with \`sudo apt-get install -y ${aptPackage}\``);
  }
  log(`${binary} is missing: apt-get install -y ${aptPackage}`);
  let install = spawnSync('apt-get', ['install', '-y', aptPackage], { stdio: 'inherit' });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    install = spawnSync('apt-get', ['install', '-y', aptPackage], { stdio: 'inherit' });
  }
  if (install.status !== 0) throw new Error(`apt-get install -y ${aptPackage} failed`);
}

function processTimeoutMs(messages: number): number {
  const override = process.env.BENCH_TIMEOUT_S;
  if (override) return Number(override) * 1000;
  // Generous: 5,000 messages/s at worst, never under 2 minutes.
  return Math.max(120_000, (messages / 5_000) * 1000);
}

function fmtInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function processCount(count: number): string {
  return `${count} process${count === 1 ? '' : 'es'}`;
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
