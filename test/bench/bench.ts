/**
 * End-to-end benchmark (issue 5): the collector in one-shot mode against kcat (librdkafka's raw
 * rate) and a bare Node consumer (the same client and settings, counting only), on the same topic.
 *
 *   npm run bench                     # throughput: 1,000,000 messages, median of 3 rounds
 *   npm run bench:memory              # 5,000,000-message backlog, MEMORY_BUDGET_BYTES = 256 MiB
 *   npm run bench -- --profile        # one collector run under --cpu-prof (500,000 messages)
 *
 * Settings (environment):
 *   BENCH_MESSAGES=1000000          messages in the throughput topic
 *   BENCH_RUNS=3                    rounds; each round runs kcat, the bare consumer, the collector
 *   BENCH_PARTITIONS=6
 *   BENCH_PRODUCE_COMPRESSION=none  codec of the produced batches (none, lz4, zstd, ...)
 *   BENCH_MEMORY_MESSAGES=5000000   backlog of the memory run
 *   BENCH_MEMORY_BUDGET=268435456   MEMORY_BUDGET_BYTES of the memory run
 *   BENCH_PROFILE_MESSAGES=500000   messages of the profile run
 *   BENCH_PYARROW=0                 skip the pyarrow bytes/row reference
 *   BENCH_TIMEOUT_S                 per-process timeout (default scales with the message count)
 *   BENCH_KEEP_LOGS=1               keep the children's stdout/stderr (temp dir named at the end)
 *   BENCH_KEEP_TOPICS=1             external broker: do not delete the benchmark topics
 *   BENCH_KEEP_OUTPUT=1             keep the first collector run's Parquet files (path printed)
 *   BENCH_COLLECTOR=path/bin/redpanda-parquet-collector
 *                                   run another checkout's collector (default: this one's launcher)
 *   KAFKA_BOOTSTRAP_SERVERS         use this broker instead of starting the harness's
 *   BENCH_BROKER_HEAP_MB=1024       heap of the harness broker the bench starts
 * Collector settings (MAX_WORKERS, BATCH_SIZE, COMPRESSION, LOG_LEVEL, ...) set in the environment
 * reach the collector unchanged; the effective configuration is stored with the results.
 *
 * Results: a table on stdout, and the same as JSON in bench-results/<timestamp>[-memory|-profile].json.
 * Every collector run is checked: exit code 0, DuckDB reads exactly N distinct (partition, offset)
 * rows, no dead letters, and the group's committed offsets equal the end offsets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { librdkafkaVersion } from '@confluentinc/kafka-javascript';
import { consumerProperties } from '../../src/config/kafka-properties';
import { loadConfig } from '../../src/config/load';
import { repoRoot, startBroker, type BrokerHandle } from '../harness/broker';
import { TestKafka, uniqueName } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { produceMarketData, type ProduceResult } from './bench-producer';
import { formatSummary, summariseProfile, type ProfileSummary } from './cpuprofile-summary';
import { GNU_TIME, median, runMeasured, type Measured } from './measure';

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
const RESULTS_DIR = path.join(ROOT, 'bench-results');

const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
};

const SETTINGS = {
  messages: intEnv('BENCH_MESSAGES', 1_000_000),
  runs: intEnv('BENCH_RUNS', 3),
  partitions: intEnv('BENCH_PARTITIONS', 6),
  produceCompression: process.env.BENCH_PRODUCE_COMPRESSION ?? 'none',
  memoryMessages: intEnv('BENCH_MEMORY_MESSAGES', 5_000_000),
  memoryBudget: intEnv('BENCH_MEMORY_BUDGET', 256 * MIB),
  profileMessages: intEnv('BENCH_PROFILE_MESSAGES', 500_000),
  pyarrow: process.env.BENCH_PYARROW !== '0',
};

type Mode = 'throughput' | 'memory' | 'profile';

interface Bench {
  readonly kafka: TestKafka;
  readonly bootstrap: string;
  readonly stamp: string;
  readonly workDir: string;
}

interface Topic {
  readonly name: string;
  readonly produced: ProduceResult;
  readonly messages: number;
}

interface RunResult {
  readonly consumer: 'kcat' | 'bare-node' | 'collector';
  readonly round: number;
  readonly messages: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly peakRssBytes: number;
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
  readonly rssSamples: Array<[number, number]>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode: Mode = args.includes('--memory') ? 'memory' : args.includes('--profile') ? 'profile' : 'throughput';
  ensureTool('kcat', 'kcat');
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
    stamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-'),
    workDir: mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-')),
  };
  const topics: string[] = [];
  try {
    if (mode === 'throughput') await throughput(bench, topics);
    else if (mode === 'memory') await memory(bench, topics);
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

// ---- modes ----------------------------------------------------------------------------------

async function throughput(bench: Bench, topics: string[]): Promise<void> {
  const topic = await createAndFill(bench, topics, 'bench', SETTINGS.messages);
  const timeoutMs = processTimeoutMs(topic.messages);
  const results: RunResult[] = [];
  let firstOutput: string | undefined;
  warmUp(bench, topic);
  for (let round = 1; round <= SETTINGS.runs; round++) {
    results.push(await runKcat(bench, topic, round, timeoutMs));
    results.push(await runBareConsumer(bench, topic, round, timeoutMs));
    const { result, outputDir } = await runCollector(bench, topic, round, timeoutMs, {});
    results.push(result);
    if (firstOutput === undefined) firstOutput = outputDir;
    else rmSync(outputDir, { recursive: true, force: true });
  }
  const summary = summarise(results);
  const pyarrow = firstOutput !== undefined && SETTINGS.pyarrow ? pyarrowReference(firstOutput) : null;
  if (firstOutput !== undefined) {
    if (process.env.BENCH_KEEP_OUTPUT === '1') log(`first collector run's output kept in ${firstOutput}`);
    else rmSync(firstOutput, { recursive: true, force: true });
  }

  const table = formatThroughputTable(summary, topic);
  process.stdout.write(`\n${machineLine()}\n${table}\n`);
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
}

async function memory(bench: Bench, topics: string[]): Promise<void> {
  // The runtime's fixed overhead: the collector's peak RSS on a topic too small to buffer anything.
  const tiny = await createAndFill(bench, topics, 'bench-tiny', 1_000);
  const overheadRuns: RunResult[] = [];
  for (let round = 1; round <= SETTINGS.runs; round++) {
    const { result, outputDir } = await runCollector(bench, tiny, round, processTimeoutMs(tiny.messages), {});
    overheadRuns.push(result);
    rmSync(outputDir, { recursive: true, force: true });
  }
  const fixedOverhead = median(overheadRuns.map((run) => run.peakRssBytes));

  const backlog = await createAndFill(bench, topics, 'bench-backlog', SETTINGS.memoryMessages);
  const timeoutMs = processTimeoutMs(backlog.messages);
  const bare = await runBareConsumer(bench, backlog, 1, timeoutMs);
  const probeFile = path.join(bench.workDir, 'memory-probe.jsonl');
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
  const limit = SETTINGS.memoryBudget + fixedOverhead;
  const pass = collector.peakRssBytes <= limit;
  const rows = [
    ['fixed overhead (collector, 1,000 messages, median)', mib(fixedOverhead)],
    ['memory budget (MEMORY_BUDGET_BYTES)', mib(SETTINGS.memoryBudget)],
    ['limit = budget + fixed overhead', mib(limit)],
    [`collector peak RSS, ${fmtInt(backlog.messages)} messages`, mib(collector.peakRssBytes)],
    [`bare Node consumer peak RSS, same backlog`, mib(bare.peakRssBytes)],
    ['collector rate', `${fmtInt(collector.messagesPerS)} msg/s, ${collector.wallS.toFixed(1)} s, ${collector.cpuS.toFixed(1)} CPU s`],
    ['within the limit', pass ? 'yes' : 'NO'],
  ];
  if (atPeak !== null) {
    rows.push([
      `main thread at the highest sampled RSS (${atPeak.t.toFixed(1)} s)`,
      `RSS ${mib(atPeak.rss)}: V8 heap ${mib(atPeak.heapTotal)} (${mib(atPeak.heapUsed)} used), external ${mib(atPeak.external)} ` +
        `(array buffers ${mib(atPeak.arrayBuffers)}), rest ${mib(atPeak.rss - atPeak.heapTotal - atPeak.external)}`,
    ]);
  }
  const table = ['| | |', '|---|---:|', ...rows.map(([name, value]) => `| ${name} | ${value} |`)].join('\n');
  process.stdout.write(`\n${machineLine()}\n${table}\n`);
  const file = writeResults(`${bench.stamp}-memory.json`, {
    kind: 'memory',
    ...commonRecord(bench, backlog),
    budgetBytes: SETTINGS.memoryBudget,
    fixedOverheadBytes: fixedOverhead,
    limitBytes: limit,
    peakRssBytes: collector.peakRssBytes,
    withinLimit: pass,
    overheadRuns,
    bare,
    collector,
    memoryAtPeak: atPeak,
    memoryProbe: probe,
    table,
  });
  process.stdout.write(`\nresults: ${path.relative(ROOT, file)}\n`);
  if (!pass) process.exitCode = 1;
}

interface ProbeSample {
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
  const topic = await createAndFill(bench, topics, 'bench-profile', SETTINGS.profileMessages);
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
  // The collector's consumer properties, except those kcat's -G/-e mode owns.
  const properties = Object.entries(collectorConsumerProperties(bench, group)).filter(
    ([key]) => !['bootstrap.servers', 'group.id', 'enable.partition.eof'].includes(key),
  );
  const args = ['-b', bench.bootstrap, '-G', group, '-e', '-f', '', ...properties.flatMap(([key, value]) => ['-X', `${key}=${String(value)}`]), topic.name];
  const loadAvg = os.loadavg()[0];
  const measured = await runMeasured('kcat', args, { logDir: bench.workDir, name: `kcat-${round}`, timeoutMs, timestampStderr: true });
  checkExit(measured, 'kcat');
  // Without -q, kcat reports where each partition ended: the offsets it reached must add up to N.
  const stderr = readFileSync(measured.stderrFile, 'utf8');
  const ends = new Map<string, number>();
  for (const match of stderr.matchAll(/Reached end of topic (\S+) \[(\d+)\] at offset (\d+)/g)) ends.set(match[2], Number(match[3]));
  const reached = [...ends.values()].reduce((sum, offset) => sum + offset, 0);
  if (ends.size !== SETTINGS.partitions || reached !== topic.messages) {
    throw new Error(`kcat reached offsets summing to ${reached} on ${ends.size} partitions, expected ${topic.messages} on ${SETTINGS.partitions}:\n${stderr}`);
  }
  // "% Group <g> rebalanced (memberid ...): assigned: <topic> [0], ..." arrives when kcat assigns.
  const assigned = measured.stderrLines.find(([, line]) => /rebalanced .*: assigned: /.test(line));
  return record('kcat', round, topic, measured, loadAvg, assigned?.[0] ?? null, {});
}

async function runBareConsumer(bench: Bench, topic: Topic, round: number, timeoutMs: number): Promise<RunResult> {
  const group = uniqueName('bench-bare');
  const loadAvg = os.loadavg()[0];
  const measured = await runMeasured(process.execPath, [BARE_CONSUMER, bench.bootstrap, topic.name, group, String(topic.messages)], {
    logDir: bench.workDir,
    name: `bare-${round}`,
    timeoutMs,
  });
  checkExit(measured, 'bare consumer');
  const report = JSON.parse(readFileSync(measured.stdoutFile, 'utf8').trim()) as {
    messages: number;
    valueBytes: number;
    assignedEpochMs: number;
    firstMessageS: number;
    lastMessageS: number;
  };
  if (report.messages !== topic.messages || report.valueBytes !== topic.produced.valueBytes) {
    throw new Error(`bare consumer counted ${report.messages} messages / ${report.valueBytes} bytes, expected ${topic.messages} / ${topic.produced.valueBytes}`);
  }
  return record('bare-node', round, topic, measured, loadAvg, report.assignedEpochMs > 0 ? report.assignedEpochMs : null, { firstMessageS: report.firstMessageS, lastMessageS: report.lastMessageS });
}

async function runCollector(
  bench: Bench,
  topic: Topic,
  round: number,
  timeoutMs: number,
  extraEnv: Readonly<Record<string, string>>,
  /** Node options for the collector alone (the launcher's helper does not get them). */
  nodeFlags: readonly string[] = [],
): Promise<{ result: RunResult; outputDir: string }> {
  const group = uniqueName('bench-collector');
  const outputDir = mkdtempSync(path.join(os.tmpdir(), 'rpc-bench-out-'));
  const env = collectorEnv(bench, topic.name, group, outputDir, extraEnv);
  if (nodeFlags.length > 0) env.COLLECTOR_NODE_ARGS = nodeFlags.join(' ');
  const loadAvg = os.loadavg()[0];
  const measured = await runMeasured(COLLECTOR_LAUNCHER, ['--once'], {
    env,
    cwd: ROOT,
    logDir: bench.workDir,
    name: `collector-${topic.name}-${round}`,
    timeoutMs,
  });
  checkExit(measured, 'collector');
  const files = parquetFiles(outputDir);
  const deadLetters = parquetFiles(outputDir, 'dead-letter');
  if (deadLetters.length > 0) throw new Error(`collector wrote ${deadLetters.length} dead-letter files in ${outputDir}`);
  const [counts] = await queryFiles(files, 'SELECT count(*) AS n, count(DISTINCT (kafka_partition, kafka_offset)) AS d FROM {files}');
  if (Number(counts.n) !== topic.messages || Number(counts.d) !== topic.messages) {
    throw new Error(`collector output has ${String(counts.n)} rows (${String(counts.d)} distinct offsets), expected ${topic.messages}; in ${outputDir}`);
  }
  const committed = await bench.kafka.committedOffsets(group, topic.name);
  const ends = await bench.kafka.endOffsets(topic.name);
  for (const [partition, end] of ends) {
    if (committed.get(partition) !== end) {
      throw new Error(`collector committed ${String(committed.get(partition))} on partition ${partition}, end offset is ${end}`);
    }
  }
  const outputBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const result = record('collector', round, topic, measured, loadAvg, collectorAssignedEpochMs(measured.stdoutFile), {
    outputBytes,
    files: files.length,
    bytesPerRow: outputBytes / topic.messages,
  });
  return { result, outputDir };
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
  consumer: RunResult['consumer'],
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
    round,
    messages: topic.messages,
    wallS: measured.wallS,
    cpuS: measured.cpuS,
    userS: measured.userS,
    sysS: measured.sysS,
    peakRssBytes: measured.peakRssBytes,
    messagesPerS: topic.messages / measured.wallS,
    mbPerS: topic.produced.valueBytes / 1e6 / measured.wallS,
    loadAvg1mBefore,
    assignedAfterS: assignedEpochMs === null ? null : (assignedEpochMs - measured.spawnEpochMs) / 1000,
    messagesPerSAfterAssign: afterAssignS === null || afterAssignS <= 0 ? null : topic.messages / afterAssignS,
    rssSamples: measured.rssSamples,
    ...extra,
  };
  log(
    `  round ${round} ${consumer.padEnd(9)} ${result.wallS.toFixed(2)} s wall, ${fmtInt(result.messagesPerS)} msg/s, ` +
      `${result.cpuS.toFixed(2)} CPU s, peak RSS ${mib(result.peakRssBytes)}` +
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

async function createAndFill(bench: Bench, topics: string[], prefix: string, count: number): Promise<Topic> {
  const name = uniqueName(prefix);
  // The records carry a fixed 2025 timestamp (one UTC day, stable output): time retention must not delete them.
  await bench.kafka.createTopic(name, SETTINGS.partitions, { 'retention.ms': '-1' });
  topics.push(name);
  log(`producing ${fmtInt(count)} messages to ${name} (${SETTINGS.partitions} partitions, compression ${SETTINGS.produceCompression}; not timed)...`);
  const produced = await produceMarketData(bench.bootstrap, name, count, SETTINGS.partitions, SETTINGS.produceCompression, (done) => {
    if (done > 0 && done % 1_000_000 === 0) log(`  ${fmtInt(done)} produced`);
  });
  const ends = await bench.kafka.endOffsets(name);
  const total = [...ends.values()].reduce((sum, offset) => sum + offset, 0);
  if (total !== count) throw new Error(`topic ${name} holds ${total} messages after producing ${count}`);
  log(
    `  produced in ${produced.seconds.toFixed(1)} s: ${(produced.valueBytes / count).toFixed(1)} value bytes/message, ` +
      `${(produced.valueBytes / MIB).toFixed(1)} MiB of values`,
  );
  return { name, produced, messages: count };
}

// ---- results -------------------------------------------------------------------------------

interface Medians {
  readonly messagesPerS: number;
  readonly messagesPerSAfterAssign: number | null;
  readonly assignedAfterS: number | null;
  readonly mbPerS: number;
  readonly wallS: number;
  readonly cpuS: number;
  readonly peakRssBytes: number;
  readonly bytesPerRow: number | null;
}

function summarise(results: readonly RunResult[]): { medians: Record<RunResult['consumer'], Medians>; ratios: Record<string, number> } {
  const of = (consumer: RunResult['consumer']): Medians => {
    const runs = results.filter((run) => run.consumer === consumer);
    const bytes = runs.map((run) => run.bytesPerRow).filter((value): value is number => value !== undefined);
    const present = (values: Array<number | null>): number | null => {
      const known = values.filter((value): value is number => value !== null);
      return known.length > 0 ? median(known) : null;
    };
    return {
      messagesPerS: median(runs.map((run) => run.messagesPerS)),
      messagesPerSAfterAssign: present(runs.map((run) => run.messagesPerSAfterAssign)),
      assignedAfterS: present(runs.map((run) => run.assignedAfterS)),
      mbPerS: median(runs.map((run) => run.mbPerS)),
      wallS: median(runs.map((run) => run.wallS)),
      cpuS: median(runs.map((run) => run.cpuS)),
      peakRssBytes: median(runs.map((run) => run.peakRssBytes)),
      bytesPerRow: bytes.length > 0 ? median(bytes) : null,
    };
  };
  const medians = { kcat: of('kcat'), 'bare-node': of('bare-node'), collector: of('collector') };
  return {
    medians,
    ratios: {
      collectorOverKcat: medians.collector.messagesPerS / medians.kcat.messagesPerS,
      collectorOverBareNode: medians.collector.messagesPerS / medians['bare-node'].messagesPerS,
      bareNodeOverKcat: medians['bare-node'].messagesPerS / medians.kcat.messagesPerS,
      afterAssignCollectorOverKcat: ratioOf(medians.collector.messagesPerSAfterAssign, medians.kcat.messagesPerSAfterAssign),
      afterAssignCollectorOverBareNode: ratioOf(medians.collector.messagesPerSAfterAssign, medians['bare-node'].messagesPerSAfterAssign),
      collectorCpuOverBareNodeCpu: medians.collector.cpuS / medians['bare-node'].cpuS,
    },
  };
}

function ratioOf(a: number | null, b: number | null): number {
  return a === null || b === null ? Number.NaN : a / b;
}

function formatThroughputTable(summary: ReturnType<typeof summarise>, topic: Topic): string {
  const { medians, ratios } = summary;
  const names: Record<RunResult['consumer'], string> = {
    kcat: '1. kcat (librdkafka, -G, to /dev/null)',
    'bare-node': '2. bare Node consumer (count only)',
    collector: '3. collector --once (Parquet zstd)',
  };
  const lines = [
    `${fmtInt(topic.messages)} messages, ${SETTINGS.partitions} partitions, ${(topic.produced.valueBytes / topic.messages).toFixed(1)} value bytes/message, ` +
      `produced with compression ${SETTINGS.produceCompression}; median of ${SETTINGS.runs} runs; MB = 10^6 bytes of message values`,
    '',
    '| consumer | msg/s | MB/s | wall s | CPU s | peak RSS MiB | output bytes/row | assigned at s | msg/s after assignment |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const consumer of ['kcat', 'bare-node', 'collector'] as const) {
    const m = medians[consumer];
    lines.push(
      `| ${names[consumer]} | ${fmtInt(m.messagesPerS)} | ${m.mbPerS.toFixed(1)} | ${m.wallS.toFixed(2)} | ${m.cpuS.toFixed(2)} | ` +
        `${(m.peakRssBytes / MIB).toFixed(0)} | ${m.bytesPerRow === null ? '-' : m.bytesPerRow.toFixed(2)} | ` +
        `${m.assignedAfterS === null ? '-' : m.assignedAfterS.toFixed(2)} | ${m.messagesPerSAfterAssign === null ? '-' : fmtInt(m.messagesPerSAfterAssign)} |`,
    );
  }
  lines.push('');
  lines.push(`ratio 3/1 (collector / kcat):      ${ratios.collectorOverKcat.toFixed(3)}`);
  lines.push(`ratio 3/2 (collector / bare Node): ${ratios.collectorOverBareNode.toFixed(3)}  (goal >= 0.6)`);
  lines.push(`ratio 2/1 (bare Node / kcat):      ${ratios.bareNodeOverKcat.toFixed(3)}`);
  lines.push(
    `after assignment (group join excluded): 3/1 ${ratios.afterAssignCollectorOverKcat.toFixed(3)}, ` +
      `3/2 ${ratios.afterAssignCollectorOverBareNode.toFixed(3)}`,
  );
  lines.push('msg/s = messages / process wall time (start, connect, group join, consume, and for the collector the final flush, commit and exit).');
  return lines.join('\n');
}

interface PyarrowResult {
  readonly perFile: Record<string, number | string> | null;
  readonly referenceScript: string | null;
  readonly error?: string;
}

/** pyarrow's bytes/row for the same rows (dev-only check; installs pyarrow with pip when missing). */
function pyarrowReference(outputDir: string): PyarrowResult {
  const python = process.env.PYTHON ?? 'python3';
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
    topic: { name: topic.name, partitions: SETTINGS.partitions, ...topic.produced },
    collectorConfig: effectiveCollectorConfig(bench),
    brokerExternal: Boolean(process.env.KAFKA_BOOTSTRAP_SERVERS),
    collectorLauncher: path.relative(ROOT, COLLECTOR_LAUNCHER),
  };
}

function machineInfo(): Record<string, unknown> {
  const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout.split('\n').find((line) => line.startsWith('Version')) ?? '';
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
