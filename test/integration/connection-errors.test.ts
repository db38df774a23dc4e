/**
 * A wrong CA against the harness broker's SSL listener and a wrong SASL password against its SASL
 * listener: the collector says which (the error, one log line per distinct cause, the readiness
 * detail) instead of only "broker transport failure". The right CA first, so a failure below is
 * known to be the certificate's and not the listener's.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killRunningCollectors, runCli, startCli, type CliProcess } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { createTopic, produce, saslBootstrapServers, uniqueName, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { createCertificateAuthority } from '../harness/tls';

const MESSAGES = 50;

function messages(): TestMessage[] {
  return Array.from({ length: MESSAGES }, (_, n) => ({ key: String(n), value: encodeEvent(marketEvent(n, Date.UTC(2025, 9, 17) + n), 'msgpack'), timestamp: Date.UTC(2025, 9, 17) + n }));
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the harness broker has no such listener`);
  return value;
}

function sslEnvironment(caLocation: string): Record<string, string> {
  return { BOOTSTRAP_SERVERS: requiredEnv('KAFKA_SSL_BOOTSTRAP_SERVERS'), SECURITY_PROTOCOL: 'ssl', SSL_CA_LOCATION: caLocation };
}

function saslEnvironment(password: string): Record<string, string> {
  return {
    BOOTSTRAP_SERVERS: saslBootstrapServers() ?? requiredEnv('KAFKA_SASL_BOOTSTRAP_SERVERS'),
    SECURITY_PROTOCOL: 'sasl_plaintext',
    SASL_MECHANISM: 'SCRAM-SHA-512',
    SASL_USERNAME: requiredEnv('KAFKA_SASL_USERNAME'),
    SASL_PASSWORD: password,
  };
}

/** /readyz bodies until the process exits. */
async function readinessUntilExit(cli: CliProcess, address: string): Promise<{ status: number; body: string }[]> {
  const seen: { status: number; body: string }[] = [];
  while (cli.child.exitCode === null) {
    const answer = await fetch(`${address}/readyz`).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      () => null, // the server closed: the process is on its way out
    );
    if (answer !== null) seen.push(answer);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return seen;
}

afterEach(killRunningCollectors);

const topic = uniqueName('conn-errors');

beforeAll(async () => {
  await createTopic(topic, 1);
  await produce(topic, messages());
});

describe('TLS', () => {
  it('with the CA that signed the broker certificate writes every message', async () => {
    const outputDir = tempOutputDir();
    const result = await runCli(['--once'], { ...sslEnvironment(requiredEnv('KAFKA_SSL_CA_LOCATION')), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: outputDir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [rows] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n FROM {files}');
    expect(rows.n).toBe(MESSAGES);
    expect(result.events.filter((entry) => entry.event === 'kafka_connection_problem')).toEqual([]);
  });

  it('with a wrong CA: --once exits 1 naming the certificate verification, logged once, not once per retry', async () => {
    const wrongCa = createCertificateAuthority(mkdtempSync(path.join(os.tmpdir(), 'wrong-ca-')), 'not-the-broker-ca');
    const result = await runCli(['--once'], { ...sslEnvironment(wrongCa.certificate), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: tempOutputDir() });
    expect(result.code).toBe(1);
    // Compared together, so a failure shows what was logged beside the error.
    const failed = result.events.filter((entry) => entry.event === 'run_failed').map(({ code, msg }) => ({ code, msg }));
    const problems = result.events.filter((entry) => entry.event === 'kafka_connection_problem').map(({ level, cause, broker, detail }) => ({ level, cause, broker, detail }));
    expect({ failed, problems }).toEqual({
      failed: [{ code: 'KAFKA_CONNECT_FAILED', msg: expect.stringMatching(/^cannot connect to Kafka: .*certificate-verify: SSL handshake failed: .*certificate verify failed.*check SSL_CA_LOCATION/) }],
      // librdkafka retried the handshake several times in those seconds; the cause is logged once.
      problems: [{ level: 40, cause: 'certificate-verify', broker: expect.stringContaining(requiredEnv('KAFKA_SSL_BOOTSTRAP_SERVERS')), detail: expect.stringContaining('certificate verify failed') }],
    });
  });
});

describe('SASL', () => {
  const password = 'wrong-password-9c3a55';

  it('with a wrong password: --once exits 1 naming the authentication failure', async () => {
    const result = await runCli(['--once'], { ...saslEnvironment(password), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: tempOutputDir() });
    expect(result.code).toBe(1);
    expect(result.events.find((entry) => entry.event === 'run_failed')?.msg).toMatch(/sasl-authentication: SASL authentication error: .*invalid credentials.*SCRAM-SHA-512.*check SASL_USERNAME, SASL_PASSWORD and SASL_MECHANISM/);
    expect(result.events.filter((entry) => entry.event === 'kafka_connection_problem')).toEqual([expect.objectContaining({ cause: 'sasl-authentication' })]);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });

  it('with a wrong password: the daemon\'s readiness names the cause until it gives up', async () => {
    const cli = startCli([], { ...saslEnvironment(password), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: tempOutputDir(), HTTP_PORT: '0' });
    const [listening] = await cli.waitForEvents('http_listening', 1);
    const readiness = await readinessUntilExit(cli, String(listening.address));
    expect((await cli.exited).code).toBe(1);
    expect(readiness.every(({ status }) => status === 503)).toBe(true);
    const named = readiness.map(({ body }) => JSON.parse(body) as { checks: { name: string; ok: boolean; detail?: string }[] })
      .map(({ checks }) => checks.find((check) => check.name === 'kafka-connected'))
      .filter((check) => check?.detail !== undefined);
    expect(named.length).toBeGreaterThan(0);
    expect(named[0]).toMatchObject({ ok: false, detail: expect.stringMatching(/^sasl-authentication: SASL authentication error: .*invalid credentials/) });
    expect(cli.eventsNamed('kafka_connection_problem')).toHaveLength(1);
    expect(`${cli.stdout}${cli.stderr}`).not.toContain(password);
  });
});
