import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import convict from 'convict';
import { CollectorError, describeError } from '../errors';
import { storeAt } from '../lake/lake';
import { configSchema, schemaKeys, toPropertyList, type CollectorConfig } from './schema';
import { seedVariableWarnings, type ConfigWarning } from './seed-variables';
import { kafkaPropertyWarnings } from './kafka-properties';

/**
 * Loads defaults, then the config file, then environment variables (which win over the file),
 * then command-line overrides, and validates strictly. Every problem found is reported in one
 * error, so a user fixes a bad deployment in one round instead of one key per restart.
 */

export interface LoadConfigOptions {
  /** Environment to read; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** A config file; else CONFIG_FILE, else config/collector.json when it exists. */
  readonly file?: string;
  /** Overrides from the command line (they win over the file and the environment). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** One thing wrong with the configuration; `key` is null when no single key is to blame. */
export interface ConfigProblem {
  readonly key: string | null;
  readonly message: string;
}

/** The effective configuration as plain JSON, with every secret replaced. */
export type RedactedConfig = Record<string, unknown>;

export interface LoadedConfig {
  readonly config: CollectorConfig;
  readonly redacted: RedactedConfig;
  readonly file?: string;
  /** Settings that are valid but have no effect here; logged once at start-up. */
  readonly warnings: readonly ConfigWarning[];
}

export class ConfigInvalidError extends CollectorError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], file: string | undefined) {
    const lines = problems.map(formatProblem);
    super('CONFIG_INVALID', `invalid configuration (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n  ${lines.join('\n  ')}`, {
      context: { file: file ?? null, problems: problems.length },
    });
    this.problems = problems;
  }
}

const DEFAULT_CONFIG_FILE = path.join('config', 'collector.json');
const REDACTED = '[redacted]';
const KEYS = schemaKeys();
const ENV_OF_KEY = new Map(KEYS.map(({ key, env }) => [key, env]));

export function resolveConfigFile(options: LoadConfigOptions): string | undefined {
  const env = options.env ?? process.env;
  if (options.file) return options.file;
  if (env.CONFIG_FILE) return env.CONFIG_FILE;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined;
}

/** Reads and validates the configuration; throws ConfigInvalidError naming every problem. */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const candidate = readConfig(options);
  return accept(candidate, candidate.problems);
}

/**
 * loadConfig, plus the checks that touch the machine: the output directory must exist or be
 * creatable, and writable. Run before connecting, so a bad mount fails as a config error.
 */
export async function loadConfigForRun(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const candidate = readConfig(options);
  const problems = [...candidate.problems];
  const dir: unknown = candidate.config.output.dir;
  if (typeof dir === 'string' && dir.trim() !== '') {
    const reason = await probeLake(dir, candidate.config.s3);
    if (reason !== null) problems.push({ key: 'output.dir', message: `${dir} cannot hold the lake: ${reason}` });
  }
  return accept(candidate, problems);
}

/** Null when a lake can be kept at `location`, else why not; the store's connections are closed after. */
async function probeLake(location: string, s3: CollectorConfig['s3']): Promise<string | null> {
  let store;
  try {
    store = storeAt(location, s3);
    return await store.probe();
  } catch (error) {
    return describeError(error);
  } finally {
    store?.close();
  }
}

/** "key (ENV): message", the form every problem is shown in. */
export function formatProblem(problem: ConfigProblem): string {
  if (problem.key === null) return problem.message;
  const env = ENV_OF_KEY.get(problem.key);
  return `${problem.key}${env === undefined ? '' : ` (${env})`}: ${problem.message}`;
}

interface Candidate {
  /** Possibly invalid: only trust it when `problems` is empty. */
  readonly config: CollectorConfig;
  readonly redacted: RedactedConfig;
  readonly file?: string;
  readonly problems: readonly ConfigProblem[];
  /** Keys given by the file, the environment or the command line rather than left at the default. */
  readonly setKeys: ReadonlySet<string>;
}

function readConfig(options: LoadConfigOptions): Candidate {
  const file = resolveConfigFile(options);
  const env = options.env ?? process.env;
  const instance = createInstance(env);
  const problems: ConfigProblem[] = [];
  const setKeys = new Set(KEYS.filter(({ env: name }) => name !== undefined && env[name] !== undefined).map(({ key }) => key));
  if (file !== undefined) {
    const read = readFile(instance, file);
    problems.push(...read.problems);
    read.keys.forEach((key) => setKeys.add(key));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    instance.set(key, value);
    setKeys.add(key);
  }
  problems.push(...schemaProblems(instance));
  const config = instance.getProperties() as unknown as CollectorConfig;
  problems.push(...crossFieldProblems(config));
  return { config, redacted: redact(config), file, problems, setKeys };
}

function accept(candidate: Candidate, problems: readonly ConfigProblem[]): LoadedConfig {
  if (problems.length > 0) throw new ConfigInvalidError(problems, candidate.file);
  const warnings = [...seedVariableWarnings(candidate.config, (key) => candidate.setKeys.has(key)), ...kafkaPropertyWarnings(candidate.config)];
  return { config: candidate.config, redacted: candidate.redacted, file: candidate.file, warnings };
}

/** Defaults plus the environment; `args: []` keeps convict away from our own command line. */
function createInstance(env: NodeJS.ProcessEnv) {
  return convict(configSchema, { env, args: [] });
}

type ConvictInstance = ReturnType<typeof createInstance>;

/**
 * Read here rather than by convict, to name the file in every problem and to convert the
 * properties object; returns the keys the file sets too.
 */
function readFile(instance: ConvictInstance, file: string): { problems: ConfigProblem[]; keys: string[] } {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    const reason = error instanceof SyntaxError ? `is not valid JSON: ${error.message}` : `cannot be read: ${(error as Error).message}`;
    return { problems: [{ key: null, message: `config file ${file} ${reason}` }], keys: [] };
  }
  if (!isRecord(content)) return { problems: [{ key: null, message: `config file ${file} must hold a JSON object` }], keys: [] };
  // load() applies the environment again afterwards: environment variables win over the file.
  instance.load(withPropertyList(content));
  return { problems: [], keys: KEYS.map(({ key }) => key).filter((key) => hasPath(content, key)) };
}

function hasPath(content: Record<string, unknown>, key: string): boolean {
  let node: unknown = content;
  for (const segment of key.split('.')) {
    if (!isRecord(node) || !(segment in node)) return false;
    node = node[segment];
  }
  return true;
}

function withPropertyList(content: Record<string, unknown>): Record<string, unknown> {
  const kafka = content.kafka;
  if (!isRecord(kafka) || !('properties' in kafka)) return content;
  return { ...content, kafka: { ...kafka, properties: toPropertyList(kafka.properties) } };
}

const UNDECLARED = /^configuration param '(.+)' not declared in the schema$/;
const MISSING = /^configuration param '(.+)' missing from config/;
const KEY_AND_MESSAGE = /^([\w.]+): (.*)$/;

/** convict reports all schema problems as lines of one message; each line becomes a problem. */
function schemaProblems(instance: ConvictInstance): ConfigProblem[] {
  try {
    instance.validate({ allowed: 'strict' });
    return [];
  } catch (error) {
    return (error as Error).message
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(parseConvictLine);
  }
}

function parseConvictLine(line: string): ConfigProblem {
  const undeclared = UNDECLARED.exec(line);
  if (undeclared) return { key: undeclared[1], message: 'unknown key (not in the schema; see --print-config for the known ones)' };
  const missing = MISSING.exec(line);
  if (missing) return { key: missing[1], message: 'missing: its parent was set to something that is not an object' };
  const keyed = KEY_AND_MESSAGE.exec(line);
  if (keyed && ENV_OF_KEY.has(keyed[1])) return { key: keyed[1], message: keyed[2] };
  return { key: null, message: line };
}

/** Rules between keys. The values may be of the wrong type here (schema problems): check first. */
function crossFieldProblems(config: CollectorConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { kafka } = config;
  if (Array.isArray(kafka.topics) && kafka.topics.length > 0 && typeof kafka.topicPattern === 'string' && kafka.topicPattern !== '') {
    problems.push({ key: 'kafka.topicPattern', message: 'set TOPICS or TOPIC_PATTERN, not both' });
  }
  if (typeof kafka.securityProtocol === 'string' && kafka.securityProtocol.startsWith('sasl')) {
    if (kafka.saslUsername === '') problems.push({ key: 'kafka.saslUsername', message: `required with SECURITY_PROTOCOL=${kafka.securityProtocol}` });
    if (kafka.saslPassword === '') problems.push({ key: 'kafka.saslPassword', message: `required with SECURITY_PROTOCOL=${kafka.securityProtocol}` });
  }
  for (const key of ['sslCaLocation', 'sslCertificateLocation', 'sslKeyLocation'] as const) {
    const file = kafka[key];
    if (typeof file === 'string' && file !== '' && !isFile(file)) problems.push({ key: `kafka.${key}`, message: `${file} is not a readable file` });
  }
  const { lakeDays, topicTrim } = config.retention;
  if (typeof lakeDays === 'number' && lakeDays > 0 && config.lake.compaction.enabled === false) {
    problems.push({ key: 'retention.lakeDays', message: 'removes days after a compaction pass: it needs COMPACTION_ENABLED=true' });
  }
  if (topicTrim.afterCompaction === true) {
    if (config.lake.compaction.enabled === false) problems.push({ key: 'retention.topicTrim.afterCompaction', message: 'waits for compacted days: it needs COMPACTION_ENABLED=true' });
    if (config.lake.daySourceField !== '') problems.push({ key: 'retention.topicTrim.afterCompaction', message: 'finds a day\'s offsets by Kafka timestamp: it needs DAY_SOURCE_FIELD empty' });
  }
  if (typeof config.output.dir === 'string' && config.output.dir.trim() === '') problems.push({ key: 'output.dir', message: 'must not be empty' });
  return problems;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * A copy with every sensitive value replaced. An unset secret stays empty, so "is the password
 * reaching the container?" can be answered without showing it; pass-through librdkafka
 * properties keep their names, but any of them may be a secret, so none keeps its value.
 */
function redact(config: CollectorConfig): RedactedConfig {
  const copy = JSON.parse(JSON.stringify(config)) as RedactedConfig;
  for (const { key, sensitive } of KEYS) {
    if (!sensitive) continue;
    const segments = key.split('.');
    const name = segments.pop() as string;
    let parent: unknown = copy;
    for (const segment of segments) parent = isRecord(parent) ? parent[segment] : undefined;
    if (isRecord(parent)) parent[name] = redactValue(parent[name]);
  }
  return copy;
}

function redactValue(value: unknown): unknown {
  if (value === '' || value === null || value === undefined) return value;
  if (Array.isArray(value)) return Object.fromEntries(value.map((pair) => [String((pair as unknown[])[0]), REDACTED]));
  return REDACTED;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
