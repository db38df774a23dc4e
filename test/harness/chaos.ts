/**
 * The chaos run: produce continuously while the collector runs, kill it with SIGKILL at random
 * moments (and let a fault point kill it between publish and commit), restart it, repeat; then
 * let it catch up and check with `verify` that every produced offset is present exactly once.
 */
import { localLake } from './local-lake';
import { verifyOutput } from '../../src/commands/verify';
import type { Lake } from '../../src/lake/lake';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapServers, createTopic, testKafka, uniqueName, waitUntil, type TestKafka, type TestMessage } from './kafka';
import { encodeEvent, marketEvent } from './market-data';
import { runCli, startCollector, type CliProcess, type CliResult } from './cli';

const CATCH_UP_DEADLINE_MS = 240_000;

/** Where a run keeps its lake: OUTPUT_DIR, what the collector's environment needs to reach it, and the Lake to check it with. */
export interface ChaosLake {
  readonly outputDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly lake: Lake;
}

function tempFolderLake(): ChaosLake {
  const outputDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-out-'));
  return { outputDir, env: {}, lake: localLake(outputDir) };
}

export interface ChaosOptions {
  readonly kills: number;
  readonly partitions?: number;
  /** Messages produced per producer tick (every 50 ms). */
  readonly batch?: number;
  /**
   * The daemon also compacts the closed days it writes (grace 0), while the producer sends in
   * bursts so that the days fall quiet between them: kills then land during compactions too.
   */
  readonly compaction?: boolean;
  /**
   * Consumer processes (MAX_WORKERS) under a primary: rounds then alternate between killing the
   * primary (its processes exit by themselves) and killing one process (the primary restarts it)
   * before the primary.
   */
  readonly workers?: number;
  /** A temp folder by default. */
  readonly lake?: ChaosLake;
  readonly log?: (line: string) => void;
}

export interface ChaosFigures {
  readonly kills: number;
  readonly faultKills: number;
  readonly produced: number;
  readonly written: number;
  readonly lost: number;
  readonly duplicated: number;
  /** With `workers`: single consumer processes killed (besides the primaries). */
  readonly workerKills?: number;
  /** With `compaction`: days compacted by the killed daemons. */
  readonly compactions?: number;
  /** With `compaction`: what verify finds once the `compact` command merged everything left. */
  readonly afterCompaction?: { readonly written: number; readonly lost: number; readonly duplicated: number; readonly partsLeft: number };
}

const BASE_DAY = Date.UTC(2025, 9, 17, 23, 0, 0);

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const partitions = options.partitions ?? 3;
  const log = options.log ?? (() => undefined);
  const topic = uniqueName('chaos');
  await createTopic(topic, partitions);
  const target = options.lake ?? tempFolderLake();
  const { outputDir } = target;
  const groupId = uniqueName('chaos-group');
  // Static membership: a restarted member takes its place back at once instead of waiting for
  // the killed one's session to time out.
  const env = {
    ...target.env,
    OUTPUT_DIR: outputDir,
    TOPICS: topic,
    GROUP_ID: groupId,
    BATCH_SIZE: '250',
    FLUSH_INTERVAL_MS: '500',
    LOG_LEVEL: 'warn',
    KAFKA_PROPERTIES: JSON.stringify({ 'group.instance.id': `${groupId}-member`, 'session.timeout.ms': 6000 }),
    ...(options.compaction ? COMPACTION_ENV : {}),
    ...(options.workers !== undefined ? { MAX_WORKERS: String(options.workers), LOG_LEVEL: 'info' } : {}),
  };
  const workerPids = new Set<number>();
  let workerKills = 0;

  const producer = startContinuousProducer(topic, partitions, options.batch ?? 100, testKafka(), options.compaction ? BURSTS : null);
  let compactions = 0;
  let kills = 0;
  let faultKills = 0;
  for (let round = 0; round < options.kills; round++) {
    const collector = startCollector({ ...env, COLLECTOR_TEST_ONLY_CRASH_AFTER_PUBLISH: '0.05' });
    const killsAWorker = options.workers !== undefined && round % 2 === 1;
    // On a loaded machine the processes may take longer to start than the timer: a worker is
    // known by its pid in its first log line.
    const started = killsAWorker ? Promise.race([collector.exited, waitUntil(() => pidsOf(collector).some((pid) => !workerPids.has(pid)), { timeoutMs: 60_000, what: 'a consumer process' })]) : Promise.resolve();
    const killAfterMs = 500 + Math.floor(Math.random() * 3500);
    const outcome = await Promise.race([collector.exited.then(() => 'died' as const), started.then(() => sleep(killAfterMs)).then(() => 'timer' as const)]);
    if (outcome === 'timer' && killsAWorker && killOneWorker(collector, workerPids)) {
      workerKills++;
      // The primary restarts it after a second; the round ends with the primary killed too.
      await sleep(1500 + Math.floor(Math.random() * 1500));
    }
    for (const pid of pidsOf(collector)) workerPids.add(pid);
    if (outcome === 'timer') collector.signal('SIGKILL');
    const { code, signal } = await collector.exited;
    if (signal !== 'SIGKILL') throw new Error(`collector exited with code ${code} (signal ${signal}) instead of being killed:\n${`${collector.stdout}${collector.stderr}`.slice(-3000)}`);
    if (outcome === 'died') faultKills++;
    kills++;
    compactions += collector.eventsNamed('day_compacted').length;
    log(`kill ${kills}/${options.kills} after ${outcome === 'died' ? 'a publish (fault point)' : `${killAfterMs} ms`}; produced so far ${producer.produced()}`);
  }
  const produced = await producer.stop();
  // Processes of a killed primary exit by themselves: wait for them before the last checks. One
  // forked just before its primary was killed never logged its pid, so they are found by their
  // environment too.
  const unseen = processesWriting(outputDir).filter((pid) => !workerPids.has(pid));
  if (unseen.length > 0) log(`${unseen.length} consumer processes of killed primaries that never logged are still running`);
  await waitForExit([...workerPids, ...unseen]);

  // Killed past a deadline so that a catch-up run that hangs fails with its logs, not with Jest's
  // bare timeout.
  // With compaction, the catch-up run compacts at its end too: a daemon killed between a compacted
  // file and the removal of its parts leaves them both until a pass that the group-progress gate
  // lets through, and a killed daemon may not have lived to make one.
  const finishCompactions: Record<string, string> = options.compaction ? { COMPACT_AFTER_ONCE: 'true' } : {};
  const caughtUp = await runCli([], { BOOTSTRAP_SERVERS: bootstrapServers(), HTTP_PORT: '0', ...env, RUN_MODE: 'once', LOG_LEVEL: 'info', ...finishCompactions }, CATCH_UP_DEADLINE_MS);
  if (caughtUp.code !== 0) {
    const logFile = keepOutput(`${groupId}-catch-up`, caughtUp);
    throw new Error(`the catch-up run failed (${caughtUp.code ?? caughtUp.signal}); its whole output is in ${logFile}:\n${`${caughtUp.stdout}${caughtUp.stderr}`.slice(-8000)}`);
  }
  const figures: ChaosFigures = { kills, faultKills, produced, ...(options.workers !== undefined ? { workerKills } : {}), ...(await exactlyOnceFigures(target.lake, topic)) };
  if (!options.compaction) return figures;
  // A daemon killed while it held a day's compaction lock leaves that lock until its lease ends,
  // and `compact` skips a locked day (one CI run: the catch-up took less than the lease, and a part
  // was left). Every kill is older than the catch-up run; waiting one lease more covers the rest.
  await sleep(Number(COMPACTION_ENV.COMPACTION_LOCK_LEASE_MS));
  const compacted = await runCli(['compact'], { ...env, BOOTSTRAP_SERVERS: bootstrapServers() });
  if (compacted.code !== 0) throw new Error(`the final compact failed (${compacted.code}):\n${`${compacted.stdout}${compacted.stderr}`.slice(-3000)}`);
  const partsLeft = (await target.lake.store.list('')).objects.filter(({ key }) => key.slice(key.lastIndexOf('/') + 1).startsWith('part-')).length;
  if (partsLeft > 0) {
    const logFile = keepOutput(`${groupId}-compact`, compacted);
    process.stderr.write(`[chaos] ${partsLeft} part files left after the final compact; its whole output is in ${logFile}\n`);
  }
  return { ...figures, compactions, afterCompaction: { ...(await exactlyOnceFigures(target.lake, topic)), partsLeft } };
}

/** Writes a run's whole output to <tmp>/<name>.log, for a failure to point at; returns the file's path. */
function keepOutput(name: string, result: CliResult): string {
  const logFile = path.join(os.tmpdir(), `${name}.log`);
  writeFileSync(logFile, `${result.stdout}${result.stderr}`);
  return logFile;
}

/** Compaction of every closed day at once (the chaos data's days are long over), locks that a killed daemon's successor soon takes over. */
const COMPACTION_ENV = { COMPACTION_ENABLED: 'true', COMPACTION_GRACE_MS: '0', COMPACTION_LOCK_LEASE_MS: '1500', LOG_LEVEL: 'info' };
/** Produce for 600 ms, then 1.4 s of quiet, in which the daemon flushes (500 ms) and compacts. */
const BURSTS = { onMs: 600, offMs: 1400 };

/** The consumer processes' pids, from their log lines. */
function pidsOf(collector: CliProcess): number[] {
  return [...new Set(collector.events().flatMap((entry) => (typeof entry.pid === 'number' && typeof entry.worker === 'number' ? [entry.pid] : [])))];
}

/** Live processes started with this OUTPUT_DIR: the collectors of this run, however they were started. */
export function processesWriting(outputDir: string): number[] {
  const marker = `\0OUTPUT_DIR=${outputDir}\0`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return `\0${readFileSync(`/proc/${pid}/environ`, 'latin1')}`.includes(marker);
      } catch {
        return false; // exited meanwhile, or not readable
      }
    })
    .map(Number);
}

function killOneWorker(collector: CliProcess, known: Set<number>): boolean {
  const alive = pidsOf(collector).filter((pid) => !known.has(pid) && isAlive(pid));
  if (alive.length === 0) return false;
  process.kill(alive[Math.floor(Math.random() * alive.length)], 'SIGKILL');
  return true;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pids: Iterable<number>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ([...pids].some(isAlive)) {
    if (Date.now() > deadline) throw new Error('consumer processes of a killed primary did not stop by themselves');
    await sleep(100);
  }
}

/** Produces batches of seed-shaped messages every 50 ms until stopped; stop() resolves with the count. */
export function startContinuousProducer(
  topic: string,
  partitions: number,
  batchSize: number,
  kafka: TestKafka = testKafka(),
  bursts: { readonly onMs: number; readonly offMs: number } | null = null,
  daysMoveOn = bursts !== null,
): { produced(): number; stop(): Promise<number> } {
  let produced = 0;
  let producing = true;
  const started = Date.now();
  const loop = (async () => {
    while (producing) {
      if (bursts !== null && (Date.now() - started) % (bursts.onMs + bursts.offMs) >= bursts.onMs) {
        await sleep(50);
        continue;
      }
      const batch: TestMessage[] = Array.from({ length: batchSize }, (_, i) => {
        const n = produced + i;
        // Timestamps cross midnight now and then, so records of one partition sit in two day buffers.
        // When days move on (in bursts, the compaction runs) time also moves on, two minutes a
        // record, a day every 720, so that days end: the daemon compacts a day only once the group
        // has read past its end.
        const timestamp = BASE_DAY + (daysMoveOn ? n * 2 * 60_000 : n) + (n % 7) * 30 * 60_000;
        return { partition: n % partitions, key: `k${n % 50}`, value: encodeEvent(marketEvent(n, timestamp), n % 4 === 0 ? 'json' : 'msgpack'), timestamp };
      });
      await kafka.produce(topic, batch);
      produced += batch.length;
      await sleep(50);
    }
  })();
  return {
    produced: () => produced,
    async stop() {
      producing = false;
      await loop;
      return produced;
    },
  };
}

/** What `verify` finds against the broker in a lake (a folder, or any Lake): rows written, offsets lost, offsets written twice. */
export async function exactlyOnceFigures(lakeOrFolder: Lake | string, topic: string, servers: string = bootstrapServers()): Promise<{ written: number; lost: number; duplicated: number }> {
  const lake = typeof lakeOrFolder === 'string' ? localLake(lakeOrFolder) : lakeOrFolder;
  const result = await verifyOutput({ lake, topics: [topic], broker: { properties: { 'bootstrap.servers': servers }, timeoutMs: 10_000 } });
  const written = result.reports.reduce((sum, r) => sum + r.rows, 0);
  const duplicated = result.reports.reduce((sum, r) => sum + r.duplicates, 0);
  const lost = result.reports.reduce((sum, r) => sum + (r.gapsOnBroker ?? []).reduce((s, [a, b]) => s + b - a + 1, 0) + (r.behind ?? 0), 0);
  // Where the offsets went missing, for the one who has to find out why.
  if (lost > 0) process.stderr.write(`[chaos] lost offsets in ${lake.store.location}: ${JSON.stringify(result.reports.map((r) => ({ partition: r.partition, gapsOnBroker: r.gapsOnBroker, behind: r.behind })))}\n`);
  return { written, lost, duplicated };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
