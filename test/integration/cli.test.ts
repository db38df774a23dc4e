/**
 * The command line as operators meet it: exit codes, what a bad configuration prints, what
 * --print-config hides. The collector runs as a child process (`node dist/main.js`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { killRunningCollectors, runCli } from '../harness/cli';

/** A TCP listener standing in for a broker: it only counts the connections it receives. */
async function fakeBroker(): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'collector-cli-'));
}

afterEach(killRunningCollectors);

describe('command line', () => {
  it('names every wrong key in one error and exits 2 without connecting to the broker', async () => {
    const broker = await fakeBroker();
    const notADir = path.join(tempDir(), 'a-file');
    writeFileSync(notADir, '');
    try {
      const result = await runCli([], {
        BOOTSTRAP_SERVERS: broker.address,
        BATCH_SIZE: 'abc',
        COMPRESSION: 'foo',
        TOPICS: 'a,b',
        TOPIC_PATTERN: 'c.*',
        SECURITY_PROTOCOL: 'sasl_plaintext',
        SKIP_EXISTING_CHECK: 'maybe',
        OUTPUT_DIR: path.join(notADir, 'lake'),
      });
      expect(result.code).toBe(2);
      for (const named of [
        'flush.maxRows (BATCH_SIZE)',
        'output.compression (COMPRESSION)',
        'kafka.topicPattern (TOPIC_PATTERN)',
        'kafka.saslUsername (SASL_USERNAME)',
        'kafka.saslPassword (SASL_PASSWORD)',
        'skipExistingCheck (SKIP_EXISTING_CHECK)',
        'output.dir (OUTPUT_DIR)',
      ]) {
        expect(result.stderr).toContain(named);
      }
      expect(result.stderr).toContain('invalid configuration (7 problems)');
      expect(result.stdout).toBe('');
      expect(broker.connections()).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it('rejects an output directory that cannot be created, as a configuration error (exit 2)', async () => {
    const file = path.join(tempDir(), 'taken');
    writeFileSync(file, '');
    const result = await runCli([], { OUTPUT_DIR: file });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/output\.dir \(OUTPUT_DIR\): .*taken cannot hold the lake: exists but is not a directory/);
  });

  it('--print-config shows the effective configuration with secrets redacted and exits 0', async () => {
    const password = 'pw-7f3a9c-never-print-me';
    const propertySecret = 'oauth-5d1e-never-print-me';
    const result = await runCli(['--print-config', '--once'], {
      SECURITY_PROTOCOL: 'sasl_plaintext',
      SASL_USERNAME: 'collector',
      SASL_PASSWORD: password,
      KAFKA_PROPERTIES: JSON.stringify({ 'sasl.oauthbearer.client.secret': propertySecret, 'fetch.max.bytes': 1048576 }),
      BATCH_SIZE: '5000',
      // --print-config must not need the output directory.
      OUTPUT_DIR: '/nonexistent/never/created',
    });
    expect(result.code).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
    expect(`${result.stdout}${result.stderr}`).not.toContain(propertySecret);
    const printed = JSON.parse(result.stdout) as { mode: string; kafka: Record<string, unknown>; flush: { maxRows: number } };
    expect(printed.mode).toBe('once');
    expect(printed.flush.maxRows).toBe(5000);
    expect(printed.kafka.saslUsername).toBe('collector');
    expect(printed.kafka.saslPassword).toBe('[redacted]');
    expect(printed.kafka.properties).toEqual({ 'sasl.oauthbearer.client.secret': '[redacted]', 'fetch.max.bytes': '[redacted]' });
  });

  it.each([
    [['--help'], 0, 'stdout', /Usage: redpanda-parquet-collector/],
    [['-h'], 0, 'stdout', /--print-config/],
    [['--version'], 0, 'stdout', /^\d+\.\d+\.\d+\n$/],
    [['--no-such-flag'], 2, 'stderr', /Unknown option '--no-such-flag'[\s\S]*Usage:/],
    [['stray-argument'], 2, 'stderr', /Unexpected argument 'stray-argument'/],
    [['--config'], 2, 'stderr', /--config <value>. argument missing/],
  ] as const)('%j exits %i', async (args, code, stream, pattern) => {
    const result = await runCli(args, {});
    expect(result.code).toBe(code);
    expect(result[stream]).toMatch(pattern);
  });

  it('names a missing config file', async () => {
    const result = await runCli(['--config', '/nonexistent/collector.json'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config file /nonexistent/collector.json cannot be read');
  });

  it('fails fast with HTTP_LISTEN_FAILED (exit 1) when the HTTP port is taken, before connecting', async () => {
    const broker = await fakeBroker();
    const occupier = net.createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const { port } = occupier.address() as net.AddressInfo;
    try {
      const result = await runCli([], { BOOTSTRAP_SERVERS: broker.address, OUTPUT_DIR: tempDir(), HTTP_PORT: String(port), TOPICS: 'unused' });
      expect(result.code).toBe(1);
      const fatal = result.events.find((entry) => entry.level === 60);
      expect(fatal).toMatchObject({ event: 'run_failed', code: 'HTTP_LISTEN_FAILED' });
      expect(fatal?.msg).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(broker.connections()).toBe(0);
    } finally {
      occupier.close();
      await broker.close();
    }
  });
});
