/** Proves the harness itself: a real broker, real topics, real offsets. Fails when the broker does not work. */
import { existsSync } from 'node:fs';
import { BrokerHandle, startBroker } from '../harness/broker';
import {
  commitOffsets,
  committedOffsets,
  createTopic,
  deleteTopic,
  endOffsets,
  listTopics,
  produce,
  saslBootstrapServers,
  saslConnection,
  TestKafka,
  TestMessage,
  uniqueName,
} from '../harness/kafka';

const sum = (values: Iterable<number>): number => [...values].reduce((total, value) => total + value, 0);

/** librdkafka reports failed connections through the client logger; in these tests they are the point. */
async function expectedClientErrors<T>(action: () => Promise<T>): Promise<T> {
  const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return await action();
  } finally {
    consoleError.mockRestore();
  }
}

describe('test harness broker', () => {
  const topic = uniqueName('harness');

  beforeAll(() => createTopic(topic, 3));
  afterAll(() => deleteTopic(topic));

  it('keeps every produced message in the partition it was sent to', async () => {
    const messages: TestMessage[] = Array.from({ length: 30 }, (_, i) => ({
      partition: i % 3,
      key: `key-${i}`,
      value: Buffer.from(JSON.stringify({ i })),
      timestamp: Date.UTC(2024, 0, 1) + i,
    }));

    await produce(topic, messages);

    const ends = await endOffsets(topic);
    expect([...ends.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2]);
    expect([0, 1, 2].map((partition) => ends.get(partition))).toEqual([10, 10, 10]);
    expect(sum(ends.values())).toBe(30);
  });

  it('accepts a 10 MB record', async () => {
    const bigTopic = uniqueName('harness-big');
    await createTopic(bigTopic, 1);
    try {
      await produce(bigTopic, [{ value: Buffer.alloc(10 * 1024 * 1024, 'x') }]);
      expect((await endOffsets(bigTopic)).get(0)).toBe(1);
    } finally {
      await deleteTopic(bigTopic);
    }
  });

  it('reports no committed offsets for a group that never committed', async () => {
    const offsets = await committedOffsets(uniqueName('no-such-group'), topic);
    expect(offsets.size).toBe(0);
  });

  it('reads back committed offsets, including offset 0', async () => {
    const group = uniqueName('harness-group');
    const offsets = new Map([
      [0, 0],
      [2, 7],
    ]);

    await commitOffsets(group, topic, offsets);

    expect(await committedOffsets(group, topic)).toEqual(offsets);
  });

  // An external broker (KAFKA_BOOTSTRAP_SERVERS) may have no SASL listener.
  const withSasl = saslBootstrapServers() === undefined ? it.skip : it;

  withSasl.each(['scram-sha-256', 'scram-sha-512'] as const)('accepts the collector user over %s', async (mechanism) => {
    await expect(listTopics(saslConnection(mechanism))).resolves.toContain(topic);
  });

  withSasl('rejects a wrong SCRAM password', async () => {
    await expectedClientErrors(() =>
      expect(listTopics(saslConnection('scram-sha-512', 'not-the-password'), 3_000)).rejects.toThrow(),
    );
  });
});

describe('a broker of its own', () => {
  let broker: BrokerHandle | undefined;

  afterAll(async () => {
    await broker?.stop();
  });

  // What reliability tests rely on: the same address and the same data after an outage.
  it('keeps its address and its data across pause and resume', async () => {
    broker = await startBroker();
    const kafka = new TestKafka(broker.bootstrapServers);
    const topic = uniqueName('harness-restart');
    await kafka.createTopic(topic, 2);
    await kafka.produce(topic, [{ partition: 1, value: Buffer.from('before') }]);

    await broker.pause();
    expect(broker.isRunning()).toBe(false);
    await expectedClientErrors(() => expect(kafka.listTopics(undefined, 2_000)).rejects.toThrow());

    await broker.resume();
    expect(broker.isRunning()).toBe(true);
    await kafka.produce(topic, [{ partition: 1, value: Buffer.from('after') }]);
    expect((await kafka.endOffsets(topic)).get(1)).toBe(2);

    const dir = broker.dir;
    await broker.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
