import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * pino matches paths without recursion: secrets by name up to three levels deep (the config
 * summary's kafka section is at the third), and every pass-through librdkafka property value.
 */
const SECRET_NAMES = ['password', 'saslPassword', 'sslKeyLocation'];
const SECRET_PATHS = [...SECRET_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]), 'config.kafka.properties.*'];

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Whether the destination is a terminal: `auto` turns pretty there. */
  readonly terminal: boolean;
  /** Where lines go; stdout by default. */
  readonly destination?: DestinationStream;
}

/**
 * JSON lines by default, one object per event with an `event` field. The pretty form is for a
 * person at a terminal. Both write synchronously: main() ends with process.exit(), and a
 * worker-thread transport would lose the last lines (shutdown_complete, the fatal error).
 */
export function createLogger(options: LoggerOptions): Logger {
  const settings: PinoOptions = {
    level: options.level,
    base: { service: 'redpanda-parquet-collector' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A second line of defence: the config is redacted before it is logged.
    // An empty secret stays empty, as in --print-config: "not set" is worth seeing.
    redact: { paths: SECRET_PATHS, censor: (value: unknown) => (value === '' ? '' : '[redacted]') },
  };
  const destination = options.destination ?? pino.destination({ fd: 1, sync: true });
  const wantsPretty = options.format === 'pretty' || (options.format === 'auto' && options.terminal);
  const pretty = wantsPretty ? loadPinoPretty() : null;
  if (pretty !== null) return pino(settings, pretty({ colorize: options.terminal, sync: true, destination }));
  const logger = pino(settings, destination);
  if (options.format === 'pretty') logger.warn({ event: 'log_format_unavailable' }, 'LOG_FORMAT=pretty needs the pino-pretty package; logging JSON');
  return logger;
}

/** pino-pretty is optional at run time: an image without it still logs, as JSON. */
function loadPinoPretty(): typeof PinoPretty | null {
  try {
    return (require('pino-pretty') as { default: typeof PinoPretty }).default;
  } catch {
    return null;
  }
}
