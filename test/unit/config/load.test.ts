import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigInvalidError, loadConfig, loadConfigForRun, type LoadConfigOptions } from '../../../src/config/load';
import { configSchema, isHttpEnabled, schemaKeys, type CollectorConfig } from '../../../src/config/schema';

const REPO = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE = path.join(REPO, 'config', 'collector.example.json');
const EMPTY = path.join(REPO, 'test', 'harness', 'empty-config.json');

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'collector-config-'));
}

function tempFile(content: unknown): string {
  const file = path.join(tempDir(), 'collector.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Environment-only configuration, with the checkout's own config file kept out of it. */
function load(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): CollectorConfig {
  return loadConfig({ file: EMPTY, ...options, env }).config;
}

function problemsOf(action: () => unknown): ConfigInvalidError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

function valueAt(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, segment) => (node as Record<string, unknown>)[segment], config);
}

describe('loadConfig', () => {
  it('has a default for every key', () => {
    const config = load({});
    expect(config.mode).toBe('daemon');
    expect(config.kafka.bootstrapServers).toBe('127.0.0.1:9092');
    expect(config.kafka.topics).toEqual([]);
    expect(config.kafka.properties).toEqual([]);
    expect(config.output.dir).toBe('./data/redpanda_parquet');
    expect(config.flush.maxRows).toBe(100000);
    expect(config.once.maxMessages).toBeNull();
    expect(config.http).toEqual({ enabled: 'auto', port: 8080, host: '0.0.0.0', maxLoopStallMs: 120000 });
    expect(config.shutdown.deadlineMs).toBeLessThan(30000);
    for (const { key } of schemaKeys()) expect(valueAt(config, key)).not.toBeUndefined();
  });

  it('reads every key the example file in config/ sets', () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    const config = loadConfig({ file: EXAMPLE, env: { SASL_PASSWORD: 'x' } }).config;
    for (const { key } of schemaKeys()) {
      const written = valueAt(example, key);
      if (written === undefined) continue;
      const expected = key === 'kafka.properties' ? Object.entries(written as object) : written;
      expect([key, valueAt(config, key)]).toEqual([key, expected]);
    }
    expect(config.kafka.topics).toEqual(['market-data', 'trades']);
  });

  it('documents every key that is not a secret in the example file', () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    const undocumented = schemaKeys()
      .filter(({ key, sensitive }) => !sensitive && valueAt(example, key) === undefined)
      .map(({ key }) => key);
    expect(undocumented).toEqual([]);
  });

  it('lets environment variables override the file, and command-line overrides win over both', () => {
    const file = tempFile({ mode: 'daemon', kafka: { topics: ['from-file'], groupId: 'file-group' }, flush: { maxRows: 7 } });
    const config = loadConfig({ file, env: { TOPICS: 'from-env', RUN_MODE: 'daemon' }, overrides: { mode: 'once' } }).config;
    expect(config.kafka.topics).toEqual(['from-env']);
    expect(config.kafka.groupId).toBe('file-group');
    expect(config.flush.maxRows).toBe(7);
    expect(config.mode).toBe('once');
  });

  it('reads CONFIG_FILE when no file is given', () => {
    const file = tempFile({ output: { compression: 'snappy' } });
    expect(loadConfig({ env: { CONFIG_FILE: file } }).config.output.compression).toBe('snappy');
  });

  it('passes librdkafka properties with dotted names through, from the file and from KAFKA_PROPERTIES', () => {
    const file = tempFile({ kafka: { properties: { 'fetch.max.bytes': 1024, 'client.rack': 'a' } } });
    expect(loadConfig({ file, env: {} }).config.kafka.properties).toEqual([
      ['fetch.max.bytes', 1024],
      ['client.rack', 'a'],
    ]);
    expect(load({ KAFKA_PROPERTIES: '{"socket.keepalive.enable": true}' }).kafka.properties).toEqual([['socket.keepalive.enable', true]]);
  });

  describe("accepts the seed's variables with the seed's meaning", () => {
    it.each([
      [{ SKIP_EXISTING_CHECK: 'yes' }, 'skipExistingCheck', true],
      [{ SKIP_EXISTING_CHECK: 'true' }, 'skipExistingCheck', true],
      [{ SKIP_EXISTING_CHECK: 'TRUE' }, 'skipExistingCheck', true],
      [{ SKIP_EXISTING_CHECK: '1' }, 'skipExistingCheck', true],
      [{ SKIP_EXISTING_CHECK: 'false' }, 'skipExistingCheck', false],
      [{ SKIP_EXISTING_CHECK: 'False' }, 'skipExistingCheck', false],
      [{ SKIP_EXISTING_CHECK: 'no' }, 'skipExistingCheck', false],
      [{ MAX_MESSAGES: '' }, 'once.maxMessages', null],
      [{ MAX_MESSAGES: '500' }, 'once.maxMessages', 500],
      [{ MAX_WORKERS: '4' }, 'workers.processes', 4],
      [{ MAX_WORKERS: 'auto' }, 'workers.processes', 'auto'],
      [{ ENCODER_THREADS: '3' }, 'workers.encoderThreads', 3],
      [{ BATCH_SIZE: ' 50000 ' }, 'flush.maxRows', 50000],
      [{ BOOTSTRAP_SERVERS: '192.168.1.110:19092' }, 'kafka.bootstrapServers', '192.168.1.110:19092'],
      [{ OUTPUT_DIR: '/app/output' }, 'output.dir', '/app/output'],
      [{ TOPICS: ' a, b ,,c ' }, 'kafka.topics', ['a', 'b', 'c']],
      [{ RUN_MODE: 'once' }, 'mode', 'once'],
      [{ HTTP_ENABLED: 'off' }, 'http.enabled', false],
    ])('%j sets %s to %j', (env, key, expected) => {
      expect(valueAt(load(env), key)).toEqual(expected);
    });
  });

  describe('rejects bad values, naming each key and its variable', () => {
    it.each<[string, NodeJS.ProcessEnv, unknown, string[]]>([
      ['a wrong type', { BATCH_SIZE: 'abc' }, {}, ['flush.maxRows (BATCH_SIZE): must be a positive integer: value was "abc"']],
      ['zero', { MAX_WORKERS: '0' }, {}, ['workers.processes (MAX_WORKERS): must be a positive integer']],
      ['a fraction', { MAX_MESSAGES: '1.5' }, {}, ['once.maxMessages (MAX_MESSAGES): must be a positive integer']],
      ['a bad enum', { COMPRESSION: 'foo' }, {}, ['output.compression (COMPRESSION): must be one of the possible values']],
      ['a bad log level', { LOG_LEVEL: 'loud' }, {}, ['log.level (LOG_LEVEL)']],
      ['a port out of range', { HTTP_PORT: '70000' }, {}, ['http.port (HTTP_PORT)']],
      ['a word that is not a boolean', { SKIP_EXISTING_CHECK: 'maybe' }, {}, ['skipExistingCheck (SKIP_EXISTING_CHECK): must be one of true/1/yes/on/false/0/no/off']],
      ['a bad regular expression', { TOPIC_PATTERN: 'a(' }, {}, ['kafka.topicPattern (TOPIC_PATTERN): is not a valid regular expression']],
      ['both TOPICS and TOPIC_PATTERN', { TOPICS: 'a', TOPIC_PATTERN: 'b.*' }, {}, ['kafka.topicPattern (TOPIC_PATTERN): set TOPICS or TOPIC_PATTERN, not both']],
      ['a negative trim margin', { TOPIC_TRIM_KEEP_MESSAGES: '-1' }, {}, ['retention.topicTrim.keepMessages (TOPIC_TRIM_KEEP_MESSAGES)']],
      ['a trim interval of zero', { TOPIC_TRIM_INTERVAL_MS: '0' }, {}, ['retention.topicTrim.intervalMs (TOPIC_TRIM_INTERVAL_MS): must be a positive integer']],
      ['trim after compaction without compaction', { TOPIC_TRIM_AFTER_COMPACTION: 'true', COMPACTION_ENABLED: 'false' }, {}, ['retention.topicTrim.afterCompaction (TOPIC_TRIM_AFTER_COMPACTION): waits for compacted days: it needs COMPACTION_ENABLED=true']],
      ['trim after compaction with days cut by a payload field', { TOPIC_TRIM_AFTER_COMPACTION: 'true', DAY_SOURCE_FIELD: 'ts' }, {}, ['retention.topicTrim.afterCompaction (TOPIC_TRIM_AFTER_COMPACTION): finds a day\'s offsets by Kafka timestamp: it needs DAY_SOURCE_FIELD empty']],
      ['lake retention without compaction', { LAKE_RETENTION_DAYS: '7', COMPACTION_ENABLED: 'false' }, {}, ['retention.lakeDays (LAKE_RETENTION_DAYS): removes days after a compaction pass: it needs COMPACTION_ENABLED=true']],
      [
        'SASL without credentials',
        { SECURITY_PROTOCOL: 'sasl_ssl' },
        {},
        ['kafka.saslUsername (SASL_USERNAME): required with SECURITY_PROTOCOL=sasl_ssl', 'kafka.saslPassword (SASL_PASSWORD): required with SECURITY_PROTOCOL=sasl_ssl'],
      ],
      ['SASL without a password', { SECURITY_PROTOCOL: 'sasl_plaintext', SASL_USERNAME: 'u' }, {}, ['kafka.saslPassword (SASL_PASSWORD): required']],
      ['a missing CA file', { SSL_CA_LOCATION: '/nonexistent/ca.pem' }, {}, ['kafka.sslCaLocation (SSL_CA_LOCATION): /nonexistent/ca.pem is not a readable file']],
      ['KAFKA_PROPERTIES that is not JSON', { KAFKA_PROPERTIES: '{fetch.max.bytes=1}' }, {}, ['kafka.properties (KAFKA_PROPERTIES): must be a JSON object']],
      ['a nested property value', { KAFKA_PROPERTIES: '{"a": {"b": 1}}' }, {}, ['kafka.properties (KAFKA_PROPERTIES): property a must be a string, number or boolean']],
      ['an unknown key in the file', {}, { kafka: { topicz: ['a'] } }, ['kafka.topicz: unknown key']],
      ['a wrong type in the file', {}, { flush: { maxRows: true } }, ['flush.maxRows (BATCH_SIZE): must be a positive integer: value was true']],
      ['a section replaced by a value in the file', {}, { http: 8080 }, ['http.port (HTTP_PORT): missing']],
      ['a file that is not JSON', {}, '{ "mode": ', ['is not valid JSON']],
      ['a file that is not an object', {}, '[1, 2]', ['must hold a JSON object']],
    ])('%s', (_name, env, fileContent, expected) => {
      const error = problemsOf(() => loadConfig({ env, file: tempFile(fileContent) }));
      expect(error.code).toBe('CONFIG_INVALID');
      for (const fragment of expected) expect(error.message).toContain(fragment);
    });
  });

  it('names every wrong key in one error, whatever its kind', () => {
    const file = tempFile({ nope: 1, output: { rowGroupSize: -1 } });
    const error = problemsOf(() =>
      loadConfig({
        file,
        env: { BATCH_SIZE: 'abc', COMPRESSION: 'foo', TOPICS: 'a', TOPIC_PATTERN: 'b', SECURITY_PROTOCOL: 'sasl_plaintext', KAFKA_PROPERTIES: 'x' },
      }),
    );
    expect(error.problems.map((problem) => problem.key).sort()).toEqual(
      ['flush.maxRows', 'kafka.properties', 'kafka.saslPassword', 'kafka.saslUsername', 'kafka.topicPattern', 'nope', 'output.compression', 'output.rowGroupSize'].sort(),
    );
    expect(error.message).toMatch(/^invalid configuration \(8 problems\):\n {2}/);
  });

  it('never shows a secret value in an error', () => {
    const file = tempFile({ kafka: { saslPassword: 123456789 } });
    const error = problemsOf(() => loadConfig({ file, env: { KAFKA_PROPERTIES: '{"sasl.password": {"p": "hunter2-secret"}}' } }));
    expect(error.message).toContain('kafka.saslPassword (SASL_PASSWORD): must be of type String');
    expect(error.message).not.toContain('123456789');
    expect(error.message).not.toContain('hunter2-secret');
  });

  it('redacts secrets in the printable form, keeps property names, and shows an unset secret as empty', () => {
    const loaded = loadConfig({
      file: EMPTY,
      env: { SASL_PASSWORD: 'hunter2', SSL_KEY_LOCATION: EMPTY, KAFKA_PROPERTIES: '{"sasl.oauthbearer.client.secret": "s3cr3t", "fetch.max.bytes": 5}' },
    });
    const printed = JSON.stringify(loaded.redacted);
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain('s3cr3t');
    expect(loaded.redacted.kafka).toMatchObject({
      saslPassword: '[redacted]',
      sslKeyLocation: '[redacted]',
      properties: { 'sasl.oauthbearer.client.secret': '[redacted]', 'fetch.max.bytes': '[redacted]' },
    });
    expect(loaded.config.kafka.saslPassword).toBe('hunter2');
    expect(loadConfig({ file: EMPTY, env: {} }).redacted.kafka).toMatchObject({ saslPassword: '' });
  });
});

describe('loadConfigForRun', () => {
  it('creates a missing output directory', async () => {
    const dir = path.join(tempDir(), 'a', 'b');
    await loadConfigForRun({ file: EMPTY, env: { OUTPUT_DIR: dir } });
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it('rejects an output directory that is a file, along with the other problems', async () => {
    const file = path.join(tempDir(), 'lake');
    writeFileSync(file, '');
    const error = await loadConfigForRun({ file: EMPTY, env: { OUTPUT_DIR: file, BATCH_SIZE: 'x' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).problems.map((problem) => problem.key)).toEqual(['flush.maxRows', 'output.dir']);
    expect((error as Error).message).toContain(`output.dir (OUTPUT_DIR): ${file} cannot hold the lake: exists but is not a directory`);
  });

  it('rejects an output directory below a file', async () => {
    const file = path.join(tempDir(), 'lake');
    writeFileSync(file, '');
    await expect(loadConfigForRun({ file: EMPTY, env: { OUTPUT_DIR: path.join(file, 'sub') } })).rejects.toThrow(/output\.dir \(OUTPUT_DIR\): .* ENOTDIR/);
  });

  it('rejects a URL of a store it cannot write to, and creates no folder named after it', async () => {
    const cwd = process.cwd();
    const dir = tempDir();
    process.chdir(dir);
    try {
      await expect(loadConfigForRun({ file: EMPTY, env: { OUTPUT_DIR: 'gs://bucket/lake' } })).rejects.toThrow(/output\.dir \(OUTPUT_DIR\): gs:\/\/bucket\/lake .*is a URL of a store the collector cannot write to/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('leaves no probe file behind', async () => {
    const dir = tempDir();
    await loadConfigForRun({ file: EMPTY, env: { OUTPUT_DIR: dir } });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(dir, { recursive: true });
  });
});

describe('isHttpEnabled', () => {
  it.each([
    [{}, true],
    [{ RUN_MODE: 'once' }, false],
    [{ RUN_MODE: 'once', HTTP_ENABLED: 'true' }, true],
    [{ HTTP_ENABLED: 'false' }, false],
    [{ HTTP_ENABLED: 'auto' }, true],
  ])('%j → %s', (env, expected) => {
    expect(isHttpEnabled(load(env))).toBe(expected);
  });
});

describe('config/collector.example.json', () => {
  it('keeps the memory plan: no prefetch or fetch sizes of its own, the default consume batch', () => {
    const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { kafka: { consumeBatchSize: number; properties: Record<string, unknown> } };
    const planned = ['fetch.max.bytes', 'max.partition.fetch.bytes', 'message.max.bytes', 'queued.min.messages', 'queued.max.messages.kbytes', 'fetch.queue.backoff.ms'];
    expect(Object.keys(example.kafka.properties).filter((name) => planned.includes(name))).toEqual([]);
    expect(example.kafka.consumeBatchSize).toBe(configSchema.kafka.consumeBatchSize.default);
  });
});
