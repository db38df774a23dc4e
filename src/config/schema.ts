import convict from 'convict';
import { LAYOUT_NAMES, type LayoutName } from '../lake/layout';
import { readDeclaredSchemas } from '../lake/declared-schema';
import { isValidTimeZone } from '../lake/day-cut';

/**
 * Every setting of the collector: one convict schema, each key with its doc, format, default and
 * environment variable. The seed's variable names are kept: scripts and dashboards depend on them.
 */

const COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'lz4', 'brotli', 'none'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const RUN_MODES = ['daemon', 'once'] as const;
const SECURITY_PROTOCOLS = ['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl'] as const;
const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
/** '' leaves it to the bucket's default. */
export const S3_SERVER_SIDE_ENCRYPTIONS = ['', 'AES256', 'aws:kms', 'aws:kms:dsse'] as const;
// Only classes whose objects can be read back at once: GLACIER and DEEP_ARCHIVE need a restore
// before a GET, which recovery, compaction and `verify` cannot wait for.
export const S3_STORAGE_CLASSES = ['', 'STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY'] as const;

const INTEGER_TEXT = /^\s*\d+\s*$/;

export type KafkaPropertyValue = string | number | boolean;

/**
 * Pass-through librdkafka properties, held as [name, value] pairs: convict's validation walks
 * object keys as dotted paths, so a name like fetch.max.bytes cannot be an object key inside it.
 * Users still write a JSON object, in the file and in KAFKA_PROPERTIES.
 */
export type KafkaPropertyList = ReadonlyArray<readonly [string, KafkaPropertyValue]>;

/** A JSON object of properties becomes the pair list; anything else is left for validate() to reject. */
export function toPropertyList(value: unknown): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.entries(value) : value;
}

function toInteger(value: unknown): unknown {
  return typeof value === 'string' && INTEGER_TEXT.test(value) ? Number(value) : value;
}

function assertPositiveInteger(value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error('must be a positive integer');
  }
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

function toBoolean(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  return value;
}

/**
 * Coercions never throw: convict runs them while reading the environment, outside validation, so
 * a throw would hide every other problem. A value they cannot convert stays as written and the
 * format's validate() names it.
 */
convict.addFormats({
  'positive-int': { validate: assertPositiveInteger, coerce: toInteger },
  'optional-positive-int': {
    validate(value: unknown): void {
      if (value !== null) assertPositiveInteger(value);
    },
    // The seed's MAX_MESSAGES= (empty) meant "no limit".
    coerce: (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? null : toInteger(value)),
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
      if (typeof value !== 'boolean') throw new Error(`must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join('/')}`);
    },
    coerce: toBoolean,
  },
  'auto-count': {
    validate(value: unknown): void {
      if (value !== 'auto') assertPositiveInteger(value);
    },
    coerce: (value: unknown): unknown => (typeof value === 'string' && value.trim().toLowerCase() === 'auto' ? 'auto' : toInteger(value)),
  },
  'auto-boolean': {
    validate(value: unknown): void {
      if (value !== 'auto' && typeof value !== 'boolean') throw new Error(`must be auto, or one of ${[...TRUE_WORDS, ...FALSE_WORDS].join('/')}`);
    },
    coerce: (value: unknown): unknown => (value === 'auto' ? value : toBoolean(value)),
  },
  'librdkafka-properties': {
    validate(value: unknown): void {
      if (!Array.isArray(value) || !value.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && pair[0] !== '')) {
        throw new Error('must be a JSON object of librdkafka property names to values');
      }
      for (const [name, item] of value as Array<[string, unknown]>) {
        if (!['string', 'number', 'boolean'].includes(typeof item)) throw new Error(`property ${name} must be a string, number or boolean`);
      }
    },
    coerce: (value: unknown): unknown => {
      if (typeof value !== 'string') return value;
      try {
        return toPropertyList(JSON.parse(value) as unknown);
      } catch {
        // Left as text: validate() then rejects it without echoing it (the key is sensitive).
        return value;
      }
    },
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
      doc: 'Comma-separated topic names. Empty with an empty TOPIC_PATTERN: every topic whose name does not start with _ (internal topics such as __consumer_offsets and _schemas); name such a topic here or in TOPIC_PATTERN to collect it.',
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
      doc: 'Extra librdkafka properties passed through unchanged, as a JSON object (in the file and in the environment variable). Values are never printed.',
      format: 'librdkafka-properties',
      default: [] as KafkaPropertyList,
      env: 'KAFKA_PROPERTIES',
      sensitive: true,
    },
    // Measured on the 2,000,000-message backlog: 1,000 per call consumes as fast as 10,000 and cuts
    // the time in young-generation GC by two thirds (a batch's messages survive scavenges while it is
    // being processed) and the peak RSS by about 100 MiB.
    consumeBatchSize: {
      doc: 'Messages taken from librdkafka per consume call.',
      format: 'positive-int',
      default: 1000,
      env: 'CONSUME_BATCH_SIZE',
    },
  },
  output: {
    dir: {
      doc: 'Where the lake is: a folder, or s3://bucket/prefix for S3-compatible object storage. Files go to OUTPUT_DIR/YYYY/MM/DD/<topic>/<file>.parquet (see LAYOUT).',
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
      doc: 'Upper bound of rows per file (the seed\'s BATCH_SIZE): a (topic, day) buffer is sealed into a file at this many rows, or earlier at FLUSH_MAX_BYTES, at FLUSH_INTERVAL_MS, when the memory budget needs room, on a rebalance and at shutdown.',
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
      doc: 'Memory for data on top of the runtime, split equally between the consumer processes: librdkafka\'s prefetch queue (a sixteenth, in native bytes), buffered rows (an eighth: past it the largest buffers are sealed early) and files being written (past half, fetching pauses). The launcher derives the V8 heap limits from it.',
      format: 'positive-int',
      default: 256 * 1024 * 1024,
      env: 'MEMORY_BUDGET_BYTES',
    },
  },
  workers: {
    processes: {
      doc: 'Consumer processes (the seed\'s MAX_WORKERS, parallel processing): each is a member of the group running the whole pipeline on its share of the partitions and of MEMORY_BUDGET_BYTES; one primary process serves HTTP and signals. auto: the cores available to the process (a cgroup v2 CPU limit respected), but no more than leave each process 64 MiB of MEMORY_BUDGET_BYTES and no more than fit, with their runtime, in the container\'s memory limit (cgroup v2); the start-up log (config_loaded, processesWhy) says which bound chose.',
      format: 'auto-count',
      default: 'auto' as number | 'auto',
      env: 'MAX_WORKERS',
    },
    encoderThreads: {
      doc: 'Worker threads encoding Parquet in each consumer process. auto: the available cores divided by the consumer processes, at least 1.',
      format: 'auto-count',
      default: 'auto' as number | 'auto',
      env: 'ENCODER_THREADS',
    },
  },
  once: {
    maxMessages: {
      doc: 'One-shot mode: at most this many messages per topic (the seed\'s MAX_MESSAGES); such a run uses one consumer process. Empty: no limit. The daemon ignores it and warns at start-up.',
      format: 'optional-positive-int',
      default: null as number | null,
      nullable: true,
      env: 'MAX_MESSAGES',
    },
  },
  skipExistingCheck: {
    doc: 'Accepted for the seed\'s scripts and ignored (a warning at start-up when set): the seed chose between overwriting a day\'s file and appending to it; here every run is incremental and exactly once, files are never overwritten and each run resumes from the group\'s committed offsets.',
    format: 'seed-boolean',
    default: true,
    env: 'SKIP_EXISTING_CHECK',
  },
  log: {
    level: { doc: 'Log level.', format: LOG_LEVELS, default: 'info' as (typeof LOG_LEVELS)[number], env: 'LOG_LEVEL' },
    format: {
      doc: 'json: one JSON object per line; pretty: coloured text (needs pino-pretty); auto: pretty on a terminal, else json.',
      format: LOG_FORMATS,
      default: 'auto' as (typeof LOG_FORMATS)[number],
      env: 'LOG_FORMAT',
    },
  },
  http: {
    enabled: {
      doc: 'Serve /healthz, /readyz and /metrics. auto: in daemon mode only, so a one-shot run from cron does not compete for the daemon\'s port.',
      format: 'auto-boolean',
      default: 'auto' as 'auto' | boolean,
      env: 'HTTP_ENABLED',
    },
    port: { doc: 'Port of /healthz, /readyz and /metrics (0: any free port, logged at start).', format: 'port', default: 8080, env: 'HTTP_PORT' },
    host: { doc: 'Bind address of the HTTP server.', format: String, default: '0.0.0.0', env: 'HTTP_HOST' },
    maxLoopStallMs: {
      doc: 'Liveness fails, and the process exits with status 1 so that it is restarted, when the consume loop has made no progress for this long while not waiting for the output (a full or read-only disk is reported by readiness instead).',
      format: 'positive-int',
      default: 120000,
      env: 'LIVENESS_MAX_STALL_MS',
    },
  },
  metrics: {
    lagIntervalMs: {
      doc: 'How often the consumer lag (high watermark minus committed offset, per assigned partition) is queried from the broker.',
      format: 'positive-int',
      default: 15000,
      env: 'LAG_INTERVAL_MS',
    },
  },
  // Issue 10: days, layout and compaction of closed days (one block, so parallel additions elsewhere merge cleanly).
  lake: {
    layout: {
      doc: 'Path layout: seed (OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet, parts in YYYY/MM/DD/<topic>/) or hive (OUTPUT_DIR/topic=<topic>/date=YYYY-MM-DD/).',
      format: LAYOUT_NAMES,
      default: 'seed' as LayoutName,
      env: 'LAYOUT',
    },
    dayTimeZone: {
      doc: 'IANA time zone whose calendar days cut the output (a daylight-saving day has 23 or 25 hours).',
      format(value: unknown): void {
        if (typeof value !== 'string' || !isValidTimeZone(value)) throw new Error('must be an IANA time zone name, e.g. UTC or Europe/Paris');
      },
      default: 'UTC',
      env: 'DAY_TIME_ZONE',
    },
    daySourceField: {
      doc: 'Flattened payload field holding the record time that chooses its day (ISO-8601 text, epoch seconds/ms/µs, or a timestamp), e.g. metadata_timestamp. Empty: the Kafka timestamp. Missing or unparsable values fall back to the Kafka timestamp (counted).',
      format: String,
      default: '',
      env: 'DAY_SOURCE_FIELD',
    },
    timestampFields: {
      doc: 'Comma-separated flattened payload fields written as timestamp columns (ms, UTC) instead of text or numbers: ISO-8601 text (UTC without an offset), epoch seconds/ms/µs/ns (by magnitude) or MessagePack timestamps. A value that is none of these is written as null and counted (collector_schema_misfits_total).',
      format: 'string-list',
      default: [] as string[],
      env: 'TIMESTAMP_FIELDS',
    },
    schemaFile: {
      doc: 'JSON file declaring columns per topic, always present with their types: {"<topic>": {"columns": {"<column>": "boolean|int64|double|string|binary|timestamp"}, "onMisfit": "null|dead-letter"}}. A value that does not fit is written as null and counted (collector_schema_misfits_total), or its record dead-lettered. Other fields are learned as usual. Empty: none.',
      format(value: unknown): void {
        if (typeof value !== 'string') throw new Error('must be a file path');
        readDeclaredSchemas(value);
      },
      default: '',
      env: 'SCHEMA_FILE',
    },
    compaction: {
      enabled: {
        doc: 'Merge the parts of each closed (topic, day) into OUTPUT_DIR/YYYY/MM/DD/<topic>.parquet.',
        format: 'seed-boolean',
        default: true,
        env: 'COMPACTION_ENABLED',
      },
      graceMs: {
        doc: 'Time after the end of a day (in DAY_TIME_ZONE) before it is compacted, so late records still land in its parts. Records later than that get the next file of the day (<topic>-0001.parquet) at the next pass.',
        format: 'nat',
        default: 30 * 60 * 1000,
        env: 'COMPACTION_GRACE_MS',
      },
      afterOnce: {
        doc: 'One-shot mode: compact the closed days at the end of the run.',
        format: 'seed-boolean',
        default: false,
        env: 'COMPACT_AFTER_ONCE',
      },
      memoryBytes: {
        doc: 'Uncompressed row-group bytes one compaction reads at a time (row groups whose offsets overlap are read together even past it).',
        format: 'positive-int',
        default: 64 * 1024 * 1024,
        env: 'COMPACTION_MEMORY_BYTES',
      },
      maxFileBytes: {
        doc: 'Size of a compacted file past which the day continues in <topic>-0001.parquet, <topic>-0002.parquet, …',
        format: 'positive-int',
        default: 1024 * 1024 * 1024,
        env: 'COMPACTION_MAX_FILE_BYTES',
      },
      rowGroupSize: {
        doc: 'Rows per row group of compacted files.',
        format: 'positive-int',
        default: 1_000_000,
        env: 'COMPACTION_ROW_GROUP_SIZE',
      },
      lockLeaseMs: {
        doc: 'Lease of the per-(topic, day) compaction lock shared by collectors on one OUTPUT_DIR; renewed every third of it, taken over once expired.',
        format: 'positive-int',
        default: 60_000,
        env: 'COMPACTION_LOCK_LEASE_MS',
      },
    },
  },
  // A lake at s3://bucket/prefix. Credentials, region and endpoint follow the AWS SDK's own
  // conventions (AWS_* variables, ~/.aws profiles, web identity, instance metadata): none are here.
  s3: {
    forcePathStyle: {
      doc: 'Address buckets as http(s)://endpoint/bucket (path style) instead of http(s)://bucket.endpoint. auto: on when AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL names a custom endpoint (MinIO, Ceph, S3Proxy, …), off for AWS. Set it to true for an endpoint configured only in an AWS profile.',
      format: 'auto-boolean',
      default: 'auto' as 'auto' | boolean,
      env: 'S3_FORCE_PATH_STYLE',
    },
    serverSideEncryption: {
      doc: 'Server-side encryption of new objects: AES256, aws:kms or aws:kms:dsse. Empty: the bucket\'s default.',
      format: S3_SERVER_SIDE_ENCRYPTIONS,
      default: '' as (typeof S3_SERVER_SIDE_ENCRYPTIONS)[number],
      env: 'S3_SERVER_SIDE_ENCRYPTION',
    },
    sseKmsKeyId: {
      doc: 'KMS key (id, ARN or alias) for S3_SERVER_SIDE_ENCRYPTION aws:kms or aws:kms:dsse. Empty: the account\'s AWS managed key.',
      format: String,
      default: '',
      env: 'S3_SSE_KMS_KEY_ID',
    },
    storageClass: {
      doc: 'Storage class of new objects (STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, REDUCED_REDUNDANCY). Empty: the bucket\'s default. Classes that need a restore before reading are refused.',
      format: S3_STORAGE_CLASSES,
      default: '' as (typeof S3_STORAGE_CLASSES)[number],
      env: 'S3_STORAGE_CLASS',
    },
  },
  // Issue 21: retention on both sides, the topic and the lake (one block, so parallel additions elsewhere merge cleanly).
  retention: {
    topicTrim: {
      enabled: {
        doc: 'After a commit, delete on the broker (Kafka DeleteRecords) the records below the group\'s committed offset of each partition this collector owns: they are in the lake. The records are gone for every consumer of the topic, not only this group. Needs the ACL DELETE on the topics (checked at start-up).',
        format: 'seed-boolean',
        default: false,
        env: 'TOPIC_TRIM_ENABLED',
      },
      keepMessages: {
        doc: 'Topic trim: records kept on the broker below the committed offset of each partition (a margin for other consumers or a replay).',
        format: 'nat',
        default: 0,
        env: 'TOPIC_TRIM_KEEP_MESSAGES',
      },
      keepMs: {
        doc: 'Topic trim: records whose Kafka timestamp is younger than this many milliseconds are kept on the broker, even below the committed offset. 0: no age margin.',
        format: 'nat',
        default: 0,
        env: 'TOPIC_TRIM_KEEP_MS',
      },
      intervalMs: {
        doc: 'Topic trim: at most one DeleteRecords request per consumer process in this many milliseconds; commits in between are trimmed by the next one.',
        format: 'positive-int',
        default: 60_000,
        env: 'TOPIC_TRIM_INTERVAL_MS',
      },
      afterCompaction: {
        doc: 'Topic trim: only the records whose day is compacted (closed, and no part files left in the lake). Needs COMPACTION_ENABLED and days cut by the Kafka timestamp (DAY_SOURCE_FIELD empty). Costs a listing of the lake\'s days per trim.',
        format: 'seed-boolean',
        default: false,
        env: 'TOPIC_TRIM_AFTER_COMPACTION',
      },
    },
    lakeDays: {
      doc: 'Remove closed days older than this many days (in DAY_TIME_ZONE) from the lake, after each compaction pass (needs COMPACTION_ENABLED). 0: keep every day.',
      format: 'nat',
      default: 0,
      env: 'LAKE_RETENTION_DAYS',
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

/** One leaf of the schema: its dotted key, its environment variable and whether it is a secret. */
export interface SchemaKey {
  readonly key: string;
  readonly env: string;
  readonly sensitive: boolean;
}

interface SchemaLeaf {
  readonly doc: string;
  readonly env: string;
  readonly sensitive?: boolean;
}

function isLeaf(node: object): node is SchemaLeaf {
  return 'doc' in node && 'default' in node;
}

/** Every key of the schema, depth first, in declaration order. */
export function schemaKeys(): SchemaKey[] {
  const keys: SchemaKey[] = [];
  const walk = (node: object, prefix: string): void => {
    for (const [name, child] of Object.entries(node) as Array<[string, object]>) {
      const key = prefix === '' ? name : `${prefix}.${name}`;
      if (isLeaf(child)) keys.push({ key, env: child.env, sensitive: child.sensitive === true });
      else walk(child, key);
    }
  };
  walk(configSchema, '');
  return keys;
}

/** HTTP_ENABLED=auto serves HTTP in daemon mode only. */
export function isHttpEnabled(config: CollectorConfig): boolean {
  return config.http.enabled === 'auto' ? config.mode === 'daemon' : config.http.enabled;
}
