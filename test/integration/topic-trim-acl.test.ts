/**
 * The topic trim's ACL on a broker that enforces ACLs (KRaft's StandardAuthorizer, the PLAINTEXT
 * listener a super user): a principal that may read the topic but not delete its records is
 * refused at start-up with an error naming the ACL DELETE on TOPIC; once it is granted, the run
 * trims. The ACLs are created by Kafka's Java admin client (test/harness/GrantAcls.java).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readClasspath, repoRoot, startBroker, type BrokerHandle } from '../harness/broker';
import { killRunningCollectors, runCli } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { TestKafka, uniqueName, type TestMessage } from '../harness/kafka';

let broker: BrokerHandle | undefined;

beforeAll(async () => {
  broker = await startBroker({
    heapMb: 384,
    properties: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users': 'User:ANONYMOUS' },
  });
}, 180_000);

afterAll(async () => broker?.stop());
afterEach(killRunningCollectors);

function started(): BrokerHandle {
  if (broker === undefined) throw new Error('the broker of this suite did not start');
  return broker;
}

async function grant(principal: string, ...acls: string[]): Promise<void> {
  const result = spawnSync('java', ['-cp', await readClasspath(), path.join(repoRoot(), 'test', 'harness', 'GrantAcls.java'), started().bootstrapServers, principal, ...acls], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`GrantAcls failed (${result.status}): ${result.stderr}`);
}

it('refuses to start without the ACL DELETE on TOPIC, naming it, and trims once it is granted', async () => {
  const kafka = new TestKafka(started().bootstrapServers);
  const topic = uniqueName('trim-acl');
  const groupId = uniqueName('group');
  await kafka.createTopic(topic, 1);
  const messages: TestMessage[] = Array.from({ length: 50 }, (_, n) => ({ partition: 0, value: Buffer.from(JSON.stringify({ n })), timestamp: Date.UTC(2025, 9, 17) + n }));
  await kafka.produce(topic, messages);
  const principal = `User:${started().saslUsername}`;
  await grant(principal, `TOPIC:${topic}:READ`, `TOPIC:${topic}:DESCRIBE`, `GROUP:${groupId}:READ`);
  const env = {
    BOOTSTRAP_SERVERS: started().saslBootstrapServers,
    SECURITY_PROTOCOL: 'sasl_plaintext',
    SASL_MECHANISM: 'SCRAM-SHA-512',
    SASL_USERNAME: started().saslUsername,
    SASL_PASSWORD: started().saslPassword,
    TOPICS: topic,
    GROUP_ID: groupId,
    OUTPUT_DIR: tempOutputDir(),
    TOPIC_TRIM_ENABLED: 'true',
  };

  const refused = await runCli(['--once'], env);
  expect(refused.code).not.toBe(0);
  const failure = refused.events.find((event) => event.event === 'run_failed');
  expect(failure).toMatchObject({ code: 'TOPIC_TRIM_NOT_AUTHORIZED' });
  expect(failure?.msg).toContain(`ACL DELETE on TOPIC ${topic}`);
  expect((await kafka.startOffsets(topic)).get(0)).toBe(0);

  await grant(principal, `TOPIC:${topic}:DELETE`);
  const trimmed = await runCli(['--once'], env);
  expect({ code: trimmed.code, stderr: trimmed.stderr }).toEqual({ code: 0, stderr: '' });
  expect((await kafka.startOffsets(topic)).get(0)).toBe(50);
});
