/**
 * SASL/SCRAM against the harness broker's SASL_PLAINTEXT listener: the right credentials write
 * files, a wrong password never gets ready and fails, and no password ever reaches the logs.
 */
import { killRunningCollectors, runCli, startCli } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { createTopic, produce, saslBootstrapServers, uniqueName, type TestMessage } from '../harness/kafka';
import { queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';

const MESSAGES = 200;

function messages(): TestMessage[] {
  return Array.from({ length: MESSAGES }, (_, n) => ({ key: String(n), value: encodeEvent(marketEvent(n, Date.UTC(2025, 9, 17) + n), 'msgpack'), timestamp: Date.UTC(2025, 9, 17) + n }));
}

function saslEnvironment(mechanism: string, password: string): Record<string, string> {
  const servers = saslBootstrapServers();
  if (servers === undefined) throw new Error('the harness broker has no SASL listener (KAFKA_SASL_BOOTSTRAP_SERVERS)');
  return {
    BOOTSTRAP_SERVERS: servers,
    SECURITY_PROTOCOL: 'sasl_plaintext',
    SASL_MECHANISM: mechanism,
    SASL_USERNAME: process.env.KAFKA_SASL_USERNAME ?? '',
    SASL_PASSWORD: password,
  };
}

afterEach(killRunningCollectors);

describe('SASL/SCRAM', () => {
  const topic = uniqueName('sasl');
  beforeAll(async () => {
    await createTopic(topic, 2);
    await produce(topic, messages());
  });

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-512'])('%s with the right credentials writes every message', async (mechanism) => {
    const password = process.env.KAFKA_SASL_PASSWORD ?? '';
    const outputDir = tempOutputDir();
    const result = await runCli(['--once'], { ...saslEnvironment(mechanism, password), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: outputDir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [rows] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS n FROM {files}');
    expect(rows.n).toBe(MESSAGES);
    expect(result.events.find((entry) => entry.event === 'config_loaded')).toMatchObject({ config: { kafka: { securityProtocol: 'sasl_plaintext', saslMechanism: mechanism, saslPassword: '[redacted]' } } });
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });

  it('with a wrong password is never ready, fails with KAFKA_CONNECT_FAILED, and never logs the password', async () => {
    const password = 'wrong-password-4e7d1b';
    const cli = startCli([], { ...saslEnvironment('SCRAM-SHA-512', password), TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: tempOutputDir(), HTTP_PORT: '0' });
    const [listening] = await cli.waitForEvents('http_listening', 1);
    const readiness: number[] = [];
    while (cli.child.exitCode === null) {
      const status = await fetch(`${String(listening.address)}/readyz`).then(
        (response) => response.status,
        () => null, // the server closed: the process is on its way out
      );
      if (status !== null) readiness.push(status);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect((await cli.exited).code).toBe(1);
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.every((status) => status === 503)).toBe(true);
    expect(cli.eventsNamed('run_failed')).toEqual([expect.objectContaining({ code: 'KAFKA_CONNECT_FAILED' })]);
    expect(`${cli.stdout}${cli.stderr}`).not.toContain(password);
  });
});
