import { existsSync } from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { CollectorError } from '../errors';
import { configSchema, type CollectorConfig } from './schema';

export interface LoadConfigOptions {
  /** Environment to read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** A config file; else CONFIG_FILE, else config/collector.json when it exists. */
  readonly file?: string;
  /** Overrides from the command line (they win over the file and the environment). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

const DEFAULT_CONFIG_FILE = path.join('config', 'collector.json');

export function resolveConfigFile(options: LoadConfigOptions): string | undefined {
  const env = options.env ?? process.env;
  if (options.file) return options.file;
  if (env.CONFIG_FILE) return env.CONFIG_FILE;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

/**
 * Loads defaults, then the config file, then environment variables (which win), then overrides,
 * and validates strictly: every unknown or malformed key is named in one error.
 */
export function loadConfig(options: LoadConfigOptions = {}): { config: CollectorConfig; redacted: string; file?: string } {
  const file = resolveConfigFile(options);
  const config = convict(configSchema, { env: options.env ?? process.env, args: [] });
  const problems: string[] = [];
  try {
    if (file) config.loadFile(file);
    for (const [key, value] of Object.entries(options.overrides ?? {})) config.set(key, value);
    config.validate({ allowed: 'strict', output: (message) => problems.push(message) });
  } catch (error) {
    problems.push(...(error as Error).message.split('\n').filter((line) => line.trim() !== ''));
  }
  if (problems.length > 0) {
    throw new CollectorError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      context: { file: file ?? null, problems: problems.length },
    });
  }
  const properties = config.getProperties() as unknown as CollectorConfig;
  checkCrossFieldRules(properties);
  return { config: properties, redacted: config.toString(), file };
}

function checkCrossFieldRules(config: CollectorConfig): void {
  const problems: string[] = [];
  if (config.kafka.topics.length > 0 && config.kafka.topicPattern !== '') {
    problems.push('kafka.topics (TOPICS) and kafka.topicPattern (TOPIC_PATTERN): set one of them, not both');
  }
  const sasl = config.kafka.securityProtocol.startsWith('sasl');
  if (sasl && (config.kafka.saslUsername === '' || config.kafka.saslPassword === '')) {
    problems.push('kafka.saslUsername (SASL_USERNAME) and kafka.saslPassword (SASL_PASSWORD): required with a sasl_* SECURITY_PROTOCOL');
  }
  if (config.output.dir.trim() === '') problems.push('output.dir (OUTPUT_DIR): must not be empty');
  if (problems.length > 0) {
    throw new CollectorError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      context: { problems: problems.length },
    });
  }
}
