import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; `pretty` (a terminal) renders them readable through pino-pretty when installed. */
export function createLogger(level: string, pretty: boolean): Logger {
  const options = {
    level,
    base: { service: 'redpanda-parquet-collector' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['*.saslPassword', '*.sslKeyLocation', '*.password', 'config.kafka.properties'], censor: '[redacted]' },
  };
  if (pretty && canPrettyPrint()) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(options);
}

function canPrettyPrint(): boolean {
  try {
    require.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
