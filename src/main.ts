#!/usr/bin/env node
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import cluster from 'node:cluster';
import { CollectorApp } from './app';
import { ClusterPrimary } from './cluster/primary';
import { availableCores } from './cluster/process-count';
import { chooseProcesses, processRole, workerConfig } from './cluster/roles';
import { WorkerLink } from './cluster/worker-link';
import { parseCommandLine, type CommandLine } from './command-line';
import { runCompactCommand } from './commands/compact-cli';
import { runInspectCommand } from './commands/inspect-cli';
import { runVerifyCommand } from './commands/verify-cli';
import { loadConfig, loadConfigForRun, type LoadConfigOptions, type LoadedConfig } from './config/load';
import { HEAP_SIZE_OPTION, memoryPlan } from './config/memory-plan';
import type { CollectorConfig } from './config/schema';
import { CollectorError, describeError } from './errors';
import { createLogger, type Logger } from './observability/logger';
import { createProgressReporter } from './observability/progress';
import { COLLECTOR_VERSION } from './version';

/**
 * Entry point: parse the command line, load and validate the config (exit 2 on any bad key or an
 * unusable output directory, before connecting), run the daemon or the one-shot mode, and turn
 * SIGTERM/SIGINT into a graceful stop.
 */

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;
/** 128 + SIGINT, what a shell reports for an interrupted command. */
const EXIT_SECOND_SIGNAL = 130;

const USAGE = `Usage: redpanda-parquet-collector [options]
       redpanda-parquet-collector verify [options]   (check the output: see verify --help)
       redpanda-parquet-collector compact [options]  (compact closed days: see compact --help)
       redpanda-parquet-collector inspect [DAY]      (what the lake holds: see inspect --help)

Streams Kafka/Redpanda topics into OUTPUT_DIR/YYYY/MM/DD/<topic>/*.parquet while a day is open,
then compacts each closed day into OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet.

Options:
  --once              consume up to the current end of every partition, flush, commit, exit (RUN_MODE=once)
  --config FILE       config file (else CONFIG_FILE, else config/collector.json if present)
  --print-config      print the effective configuration (secrets redacted) and exit
  -v, --version       print the version and exit
  -h, --help          this text

Every setting is an environment variable too; see README.md.
Exit codes: 0 done, 1 failed, 2 bad command line or configuration, 130 stopped by a second signal.`;

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'verify') return runVerifyCommand(argv.slice(1));
  if (argv[0] === 'compact') return runCompactCommand(argv.slice(1));
  if (argv[0] === 'inspect') return runInspectCommand(argv.slice(1));
  let args: CommandLine;
  try {
    args = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n\n${USAGE}\n`);
    return EXIT_CONFIG;
  }
  if (args.help) return print(USAGE, EXIT_OK);
  if (args.version) return print(COLLECTOR_VERSION, EXIT_OK);
  const options: LoadConfigOptions = { file: args.config, overrides: args.once ? { mode: 'once' } : {} };
  let loaded: LoadedConfig;
  try {
    // --print-config must work where the output directory does not exist (a laptop, a CI job).
    loaded = args.printConfig ? loadConfig(options) : await loadConfigForRun(options);
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return EXIT_CONFIG;
  }
  if (args.printConfig) return print(JSON.stringify(loaded.redacted, null, 2), EXIT_OK);
  return run(loaded);
}

/**
 * What bounds the process's memory besides the collector's own budget: when the V8 heap limit is
 * far above the planned one, the collector was started without bin/redpanda-parquet-collector.
 */
function runtimeSettings(config: CollectorConfig): Record<string, string | number | null> {
  const plan = memoryPlan(config.flush.memoryBudgetBytes);
  return {
    node: process.version,
    heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / (1024 * 1024)),
    plannedOldSpaceMiB: plan.heapLimitMiB,
    plannedSemiSpaceMiB: plan.semiSpaceMiB,
    plannedOldSpaceFloorMiB: plan.oldSpaceFloorMiB,
    heapOptions: process.execArgv.filter((option) => HEAP_SIZE_OPTION.test(option)).join(' '),
    mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null,
    mallocMmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null,
  };
}

function print(text: string, code: number): number {
  process.stdout.write(`${text}\n`);
  return code;
}

async function run(loaded: LoadedConfig): Promise<number> {
  const choice = chooseProcesses(loaded.config, availableCores());
  const role = processRole(cluster.isWorker, choice.processes, process.env);
  const config = role.kind === 'worker' ? workerConfig(loaded.config, role) : loaded.config;
  const baseLogger = createLogger({ level: config.log.level, format: config.log.format, terminal: process.stdout.isTTY === true });
  const logger = role.kind === 'worker' ? baseLogger.child({ worker: role.index, pid: process.pid }) : baseLogger;
  if (role.kind !== 'worker') {
    logger.info({ event: 'config_loaded', version: COLLECTOR_VERSION, file: loaded.file ?? null, config: loaded.redacted, runtime: runtimeSettings(config), processes: role.kind === 'primary' ? role.processes : 1, processesWhy: choice.why }, 'configuration loaded');
    for (const { key, env, message } of loaded.warnings) logger.warn({ event: 'config_warning', key, env }, message);
  }
  const progress = config.mode === 'once' && role.kind !== 'worker' ? createProgressReporter(logger, process.stderr.isTTY === true) : undefined;
  if (role.kind === 'primary') {
    try {
      return await runPrimary(new ClusterPrimary({ config, logger, processes: role.processes, onProgress: progress?.update }), logger, config.shutdown.deadlineMs);
    } finally {
      progress?.stop();
    }
  }
  let app: CollectorApp;
  let link: WorkerLink | null = null;
  try {
    app = new CollectorApp({ config, logger, onProgress: role.kind === 'worker' ? (update) => link?.reportProgress(update) : progress?.update });
  } catch (error) {
    logger.fatal({ event: 'start_failed', err: error }, `cannot build the collector: ${describeError(error)}`);
    return EXIT_FAILED;
  }
  if (role.kind === 'worker') link = new WorkerLink(app.metrics.registry);
  const signals = link === null ? installSignalHandlers(app, logger, config.shutdown.deadlineMs) : followPrimary(link, app, logger, config.shutdown.deadlineMs);
  try {
    // A signal ends either mode: app.stop() drains the pipeline the run is waiting on.
    if (config.mode === 'once') {
      await Promise.race([app.runOnce(), signals.stopped]);
    } else {
      const { finished } = await app.start();
      await Promise.race([finished, signals.stopped]);
    }
    await app.stop('finished');
    return EXIT_OK;
  } catch (error) {
    const code = error instanceof CollectorError ? error.code : undefined;
    logger.fatal({ event: 'run_failed', err: error, code }, describeError(error));
    await Promise.race([app.stop('fatal error').catch(() => undefined), sleep(config.shutdown.deadlineMs, undefined, { ref: false })]);
    return EXIT_FAILED;
  } finally {
    link?.close();
    progress?.stop();
  }
}

/**
 * The primary of several consumer processes owns the signals: the first SIGTERM/SIGINT asks every
 * process to drain and leave under the deadline; a second one, or the deadline, ends them at once.
 */
async function runPrimary(primary: ClusterPrimary, logger: Logger, deadlineMs: number): Promise<number> {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ event: 'shutdown_forced', signal }, 'second signal: ending every consumer process now; unpublished records are re-read on the next start');
      primary.kill();
      process.exit(EXIT_SECOND_SIGNAL);
    }
    signalled = true;
    logger.info({ event: 'signal', signal, deadlineMs }, 'signal received: stopping gracefully');
    setTimeout(() => {
      logger.error({ event: 'shutdown_deadline', deadlineMs }, 'graceful stop took too long: ending every consumer process; unpublished records are re-read on the next start');
      primary.kill();
      process.exit(EXIT_FAILED);
    }, deadlineMs).unref();
    primary.stop(`signal ${signal}`);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const code = await primary.run();
  logger.info({ event: 'shutdown_complete', code }, 'stopped');
  return code;
}

/**
 * A consumer process stops gracefully when its primary asks (a terminal's Ctrl-C reaches the whole
 * process group, so SIGINT is left to the primary; a SIGTERM sent to this process alone stops it
 * gracefully too). When the primary is gone it exits at once, as if killed: a restarted primary's
 * processes may already be taking its partitions (with static membership, without a hand-off), so
 * publishing now could write records the new owner reads again. What it had not committed is
 * re-read instead.
 */
function followPrimary(link: WorkerLink, app: CollectorApp, logger: Logger, deadlineMs: number): { stopped: Promise<void> } {
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const stop = (reason: string): void => {
    logger.info({ event: 'signal', reason, deadlineMs }, 'asked to stop: stopping gracefully');
    setTimeout(() => {
      logger.error({ event: 'shutdown_deadline', deadlineMs }, 'graceful stop took too long: exiting; unpublished records are re-read on the next start');
      process.exit(EXIT_FAILED);
    }, deadlineMs).unref();
    void app.stop(reason).then(resolveStopped, resolveStopped);
  };
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => stop('signal SIGTERM'));
  link.onStop(stop, () => {
    logger.error({ event: 'primary_gone' }, 'the primary process is gone: exiting at once; unpublished records are re-read by the next owner');
    process.exit(EXIT_FAILED);
  });
  link.reportHealth(app);
  return { stopped };
}

/**
 * The first SIGTERM/SIGINT starts the graceful stop under a deadline; a second one, or the
 * deadline, exits at once. Either way nothing is lost: unpublished records were never committed
 * and are read again on the next start.
 */
function installSignalHandlers(app: CollectorApp, logger: Logger, deadlineMs: number): { stopped: Promise<void> } {
  let signalled = false;
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ event: 'shutdown_forced', signal }, 'second signal: exiting now; unpublished records are re-read on the next start');
      process.exit(EXIT_SECOND_SIGNAL);
    }
    signalled = true;
    logger.info({ event: 'signal', signal, deadlineMs }, 'signal received: stopping gracefully');
    const deadline = setTimeout(() => {
      logger.error({ event: 'shutdown_deadline', deadlineMs }, 'graceful stop took too long: exiting; unpublished records are re-read on the next start');
      process.exit(EXIT_FAILED);
    }, deadlineMs);
    deadline.unref();
    void app.stop(`signal ${signal}`).then(resolveStopped, resolveStopped);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { stopped };
}


main(process.argv.slice(2)).then(
  // Exit explicitly: a client library's handle must not keep a finished process alive.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${describeError(error)}\n`);
    process.exit(EXIT_FAILED);
  },
);
