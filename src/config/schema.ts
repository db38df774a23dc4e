import convict from 'convict';

/**
 * Every setting of the collector: one convict schema, each key with its doc, format, default and
 * environment variable. The seed's variable names are kept: scripts and dashboards depend on them.
 */

const COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'lz4', 'brotli', 'none'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const RUN_MODES = ['daemon', 'once'] as const;
const SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'] as const;
const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

function positiveInteger(name: string) {
  return {
    name,
    validate(value: unknown): void {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
        throw new Error('must be a positive integer');
      }
    },
    coerce: (value: unknown): unknown => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
  };
}

convict.addFormats({
  'positive-int': positiveInteger('positive-int'),
  'optional-positive-int': {
    validate(value: unknown): void {
      if (value === null) return;
      positiveInteger('optional-positive-int').validate(value);
    },
    coerce: (value: unknown): unknown => (value === '' ? null : typeof value === 'string' ? Number(value) : value),
  },
  'string-list': {
    validate(value: unknown): void {
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
        throw new Error('must be a list of non-empty names');
      }
    },
    coerce: (value: unknown): unknown =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== '')
        : value,
  },
  'regular-expression': {
    validate(value: unknown): void {
      if (typeof value !== 'string') throw new Error('must be a string');
      if (value === '') return;
      try {
        new RegExp(value);
      } catch (error) {
        throw new Error(`is not a valid regular expression: ${(error as Error).message}`);
      }
    },
  },
  'seed-boolean': {
    validate(value: unknown): void {
      if (typeof value !== 'boolean') throw new Error('must be true or false');
    },
    // The seed accepted true/1/yes (any case) as true.
    coerce: (value: unknown): unknown =>
      typeof value === 'string' ? ['true', '1', 'yes'].includes(value.trim().toLowerCase()) : value,
  },
  'string-map': {
    validate(value: unknown): void {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new Error('must be an object of librdkafka property names to values');
      }
      for (const [key, item] of Object.entries(value)) {
        if (!['string', 'number', 'boolean'].includes(typeof item)) throw new Error(`property ${key} must be a string, number or boolean`);
      }
    },
    coerce: (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value),
  },
});

export const configSchema = {
  mode: {
    doc: 'daemon: run until stopped; once: consume up to the end offsets seen at start, flush, commit, exit.',
    format: RUN_MODES,
    default: 'daemon' as (typeof RUN_MODES)[number],
    env: 'RUN_MODE',
  },
  kafka: {
    bootstrapServers: {
      doc: 'Comma-separated host:port list of Kafka/Redpanda brokers.',
      format: String,
      default: '127.0.0.1:9092',
      env: 'BOOTSTRAP_SERVERS',
    },
    groupId: {
      doc: 'Consumer group; committed offsets of this group are where the collector resumes.',
      format: String,
      default: 'redpanda-parquet-collector',
      env: 'GROUP_ID',
    },
    topics: {
      doc: 'Comma-separated topic names. Empty with an empty TOPIC_PATTERN: every non-internal topic.',
      format: 'string-list',
      default: [] as string[],
      env: 'TOPICS',
    },
    topicPattern: {
      doc: 'Regular expression of topic names to subscribe to (instead of TOPICS). New matching topics are picked up.',
      format: 'regular-expression',
      default: '',
      env: 'TOPIC_PATTERN',
    },
    securityProtocol: {
      doc: 'Broker security protocol.',
      format: SECURITY_PROTOCOLS,
      default: 'plaintext' as (typeof SECURITY_PROTOCOLS)[number],
      env: 'SECURITY_PROTOCOL',
    },
    saslMechanism: {
      doc: 'SASL mechanism when SECURITY_PROTOCOL is sasl_plaintext or sasl_ssl.',
      format: SASL_MECHANISMS,
      default: 'SCRAM-SHA-512' as (typeof SASL_MECHANISMS)[number],
      env: 'SASL_MECHANISM',
    },
    saslUsername: { doc: 'SASL user name.', format: String, default: '', env: 'SASL_USERNAME' },
    saslPassword: { doc: 'SASL password.', format: String, default: '', env: 'SASL_PASSWORD', sensitive: true },
    sslCaLocation: { doc: 'Path of the CA certificate(s) for TLS.', format: String, default: '', env: 'SSL_CA_LOCATION' },
    sslCertificateLocation: {
      doc: 'Path of the client certificate for TLS client authentication.',
      format: String,
      default: '',
      env: 'SSL_CERTIFICATE_LOCATION',
    },
    sslKeyLocation: {
      doc: 'Path of the client private key for TLS client authentication.',
      format: String,
      default: '',
      env: 'SSL_KEY_LOCATION',
      sensitive: true,
    },
    properties: {
      doc: 'Extra librdkafka properties passed through unchanged (JSON object in the environment variable).',
      format: 'string-map',
      default: {} as Record<string, string | number | boolean>,
      env: 'KAFKA_PROPERTIES',
      sensitive: true,
    },
    consumeBatchSize: {
      doc: 'Messages taken from librdkafka per consume call.',
      format: 'positive-int',
      default: 10000,
      env: 'CONSUME_BATCH_SIZE',
    },
  },
  output: {
    dir: {
      doc: 'Root of the date-partitioned output: OUTPUT_DIR/YYYY/MM/DD/<topic>/<file>.parquet.',
      format: String,
      default: './data/redpanda_parquet',
      env: 'OUTPUT_DIR',
    },
    compression: {
      doc: 'Parquet compression codec.',
      format: COMPRESSIONS,
      default: 'zstd' as (typeof COMPRESSIONS)[number],
      env: 'COMPRESSION',
    },
    rowGroupSize: {
      doc: 'Rows per Parquet row group.',
      format: 'positive-int',
      default: 100000,
      env: 'ROW_GROUP_SIZE',
    },
  },
  flush: {
    maxRows: {
      doc: 'Rows in one (topic, day) buffer that seal it into a file (the seed\'s BATCH_SIZE).',
      format: 'positive-int',
      default: 100000,
      env: 'BATCH_SIZE',
    },
    maxBytes: {
      doc: 'Estimated in-memory bytes of one buffer that seal it into a file.',
      format: 'positive-int',
      default: 64 * 1024 * 1024,
      env: 'FLUSH_MAX_BYTES',
    },
    intervalMs: {
      doc: 'Age in milliseconds of the oldest buffered record that seals its buffer, so idle topics still flush.',
      format: 'positive-int',
      default: 60000,
      env: 'FLUSH_INTERVAL_MS',
    },
    memoryBudgetBytes: {
      doc: 'Global budget for buffered and in-flight bytes: over it, the largest buffers are sealed early and fetching pauses.',
      format: 'positive-int',
      default: 256 * 1024 * 1024,
      env: 'MEMORY_BUDGET_BYTES',
    },
    maxWorkers: {
      doc: 'Worker threads encoding Parquet (the seed\'s MAX_WORKERS).',
      format: 'positive-int',
      default: 2,
      env: 'MAX_WORKERS',
    },
  },
  once: {
    maxMessages: {
      doc: 'One-shot mode: at most this many messages per topic (the seed\'s MAX_MESSAGES). Empty: no limit.',
      format: 'optional-positive-int',
      default: null as number | null,
      nullable: true,
      env: 'MAX_MESSAGES',
    },
  },
  skipExistingCheck: {
    doc: 'Accepted for the seed\'s scripts and ignored: files are never overwritten and the collector always resumes from committed offsets.',
    format: 'seed-boolean',
    default: true,
    env: 'SKIP_EXISTING_CHECK',
  },
  log: {
    level: { doc: 'Log level.', format: LOG_LEVELS, default: 'info' as (typeof LOG_LEVELS)[number], env: 'LOG_LEVEL' },
  },
  http: {
    port: { doc: 'Port of /healthz, /readyz and /metrics (0: any free port, logged at start).', format: 'port', default: 8080, env: 'HTTP_PORT' },
    host: { doc: 'Bind address of the HTTP server.', format: String, default: '0.0.0.0', env: 'HTTP_HOST' },
    maxLoopStallMs: {
      doc: 'Liveness fails when the consume loop has not completed an iteration for this long.',
      format: 'positive-int',
      default: 120000,
      env: 'LIVENESS_MAX_STALL_MS',
    },
  },
  shutdown: {
    deadlineMs: {
      doc: 'Time allowed for a graceful stop (below Kubernetes\' default 30 s grace period).',
      format: 'positive-int',
      default: 25000,
      env: 'SHUTDOWN_DEADLINE_MS',
    },
  },
};

export type ConfigSchema = typeof configSchema;

type DefaultOf<T> = T extends { default: infer D } ? D : { readonly [K in keyof T]: DefaultOf<T[K]> };

/** The validated configuration, shaped like the schema with each key's value type. */
export type CollectorConfig = { readonly [K in keyof ConfigSchema]: DefaultOf<ConfigSchema[K]> };
