#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { CollectorApp } from './app';
import { loadConfig } from './config/load';
import { CollectorError, describeError } from './errors';
import { createLogger, type Logger } from './observability/logger';
import { createProgressReporter } from './observability/progress';

/**
 * Entry point: parse the command line, load and validate the config (exit 2 on any bad key, before
 * connecting), run the daemon or the one-shot mode, and turn SIGTERM/SIGINT into a graceful stop.
 */

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;
const EXIT_SECOND_SIGNAL = 130;

const USAGE = `Usage: redpanda-parquet-collector [options]

Streams Kafka/Redpanda topics into OUTPUT_DIR/YYYY/MM/DD/<topic>/*.parquet.

Options:
  --once              consume up to the current end of every partition, flush, commit, exit (RUN_MODE=once)
  --config FILE       config file (else CONFIG_FILE, else config/collector.json if present)
  --print-config      print the effective configuration (secrets redacted) and exit
  -h, --help          this text

Every setting is an environment variable too; see README.md.`;

async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        once: { type: 'boolean', default: false },
        config: { type: 'string' },
        'print-config': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n\n${USAGE}\n`);
    return EXIT_CONFIG;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  let loaded;
  try {
    loaded = loadConfig({ file: values.config, overrides: values.once ? { mode: 'once' } : {} });
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return EXIT_CONFIG;
  }
  if (values['print-config']) {
    process.stdout.write(`${loaded.redacted}\n`);
    return EXIT_OK;
  }
  const { config } = loaded;
  const logger = createLogger(config.log.level, process.stdout.isTTY === true);
  logger.info({ event: 'config_loaded', file: loaded.file ?? null, config: JSON.parse(loaded.redacted) as unknown }, 'configuration loaded');
  const progress = config.mode === 'once' ? createProgressReporter(logger, process.stderr.isTTY === true) : undefined;
  let app: CollectorApp;
  try {
    app = new CollectorApp({ config, logger, onProgress: progress?.update });
  } catch (error) {
    logger.fatal({ err: error }, 'cannot build the collector');
    return EXIT_FAILED;
  }
  const signals = installSignalHandlers(app, logger, config.shutdown.deadlineMs);
  try {
    if (config.mode === 'once') {
      await app.runOnce();
    } else {
      const { finished } = await app.start();
      await Promise.race([finished, signals.stopped]);
    }
    await app.stop('finished');
    return EXIT_OK;
  } catch (error) {
    logger.fatal({ err: error, code: error instanceof CollectorError ? error.code : undefined }, describeError(error));
    await Promise.race([app.stop('fatal error').catch(() => undefined), sleep(config.shutdown.deadlineMs)]);
    return EXIT_FAILED;
  } finally {
    progress?.stop();
  }
}

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
    logger.info({ event: 'signal', signal }, 'signal received: stopping gracefully');
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a client library's handle must not keep a finished process alive.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${describeError(error)}\n`);
    process.exit(EXIT_FAILED);
  },
);
