/**
 * KafkaSource.commit against the real broker: once it resolves, another client already reads the
 * commit back. The client's commit is librdkafka's asynchronous one, whose callback only means
 * "queued"; a recovery-point commit that is merely queued when the collector is killed leaves the
 * file published after it unknown to the next run (a duplicate the crash tests caught).
 */
import { KafkaConsumer, type TopicPartitionOffsetAndMetadata } from '@confluentinc/kafka-javascript';
import { assignedSource, testConfig } from '../harness/collector';
import { bootstrapServers, createTopic, uniqueName } from '../harness/kafka';

const TIMEOUT_MS = 10_000;

function connected(consumer: KafkaConsumer): Promise<void> {
  return new Promise((resolve, reject) => consumer.connect({ timeout: TIMEOUT_MS }, (error) => (error ? reject(error) : resolve())));
}

it('resolves a commit only once the broker has stored it', async () => {
  const topic = uniqueName('commit');
  await createTopic(topic, 1);
  const groupId = uniqueName('group');
  const source = await assignedSource(testConfig({ TOPICS: topic, GROUP_ID: groupId }), TIMEOUT_MS);
  // Not a group member (it never subscribes): it only reads the group's committed offsets.
  const reader = new KafkaConsumer({ 'group.id': groupId, 'metadata.broker.list': bootstrapServers(), 'enable.auto.commit': false, 'broker.address.family': 'v4', log_level: 3 });
  await connected(reader);
  try {
    const storedOffset = (): Promise<TopicPartitionOffsetAndMetadata | undefined> =>
      new Promise((resolve, reject) => reader.committed([{ topic, partition: 0 }], TIMEOUT_MS, (error, offsets) => (error ? reject(error) : resolve(offsets[0]))));
    for (let offset = 1; offset <= 20; offset++) {
      await source.commit([{ topic, partition: 0, offset, metadata: `commit ${offset}` }], TIMEOUT_MS);
      const stored = await storedOffset();
      expect({ offset: stored?.offset, metadata: stored?.metadata }).toEqual({ offset, metadata: `commit ${offset}` });
    }
  } finally {
    await new Promise<void>((resolve) => reader.disconnect(() => resolve()));
    await source.disconnect();
  }
});
