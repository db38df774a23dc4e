import path from 'node:path';
import { ALL_USER_TOPICS_PATTERN, consumerProperties, fenceHoldsMs, subscription } from '../../../src/config/kafka-properties';
import { loadConfig } from '../../../src/config/load';

const EMPTY = path.join(__dirname, '..', '..', 'harness', 'empty-config.json');

describe('the default subscription', () => {
  it.each([
    ['market_data', true],
    ['trades.v2', true],
    ['a', true],
    ['a_b', true],
    ['_schemas', false],
    ['_redpanda_e2e_probe', false],
    ['__consumer_offsets', false],
    ['__redpanda.audit', false],
  ])('%s is collected: %s', (topic, collected) => {
    expect(new RegExp(ALL_USER_TOPICS_PATTERN).test(topic)).toBe(collected);
  });

  it('is what an empty TOPICS and TOPIC_PATTERN subscribe to, and either of them overrides it', () => {
    const subscribed = (env: Record<string, string>): string[] => subscription(loadConfig({ file: EMPTY, env }).config);
    expect(subscribed({})).toEqual([ALL_USER_TOPICS_PATTERN]);
    expect(subscribed({ TOPICS: '_schemas,trades' })).toEqual(['_schemas', 'trades']);
    expect(subscribed({ TOPIC_PATTERN: '_?schemas' })).toEqual(['^_?schemas']);
  });
});

describe('the partition assignment strategy', () => {
  const properties = (kafkaProperties: Record<string, unknown> | null): Record<string, unknown> =>
    consumerProperties(loadConfig({ file: EMPTY, env: kafkaProperties === null ? {} : { KAFKA_PROPERTIES: JSON.stringify(kafkaProperties) } }).config);
  const warnings = (kafkaProperties: Record<string, unknown>): string[] =>
    loadConfig({ file: EMPTY, env: { KAFKA_PROPERTIES: JSON.stringify(kafkaProperties) } }).warnings.map((warning) => warning.message);

  it('is cooperative-sticky for dynamic members', () => {
    expect(properties(null)['partition.assignment.strategy']).toBe('cooperative-sticky');
  });

  it('is eager under static membership, whose restarts would keep a half-done cooperative round', () => {
    expect(properties({ 'group.instance.id': 'collector-0' })['partition.assignment.strategy']).toBe('roundrobin');
  });

  it('is the one KAFKA_PROPERTIES names, with a warning when that is cooperative under static membership', () => {
    const chosen = { 'group.instance.id': 'collector-0', 'partition.assignment.strategy': 'cooperative-sticky' };
    expect(properties(chosen)['partition.assignment.strategy']).toBe('cooperative-sticky');
    expect(warnings(chosen)).toEqual([expect.stringMatching(/group\.instance\.id with a cooperative partition\.assignment\.strategy: .* stay unassigned/)]);
    expect(warnings({ 'group.instance.id': 'collector-0', 'partition.assignment.strategy': 'range' })).toEqual([]);
    expect(warnings({ 'partition.assignment.strategy': 'cooperative-sticky' })).toEqual([]);
  });
});

describe('how long a commit before a publish fences the group', () => {
  const fence = (kafkaProperties: Record<string, unknown>): number =>
    fenceHoldsMs(consumerProperties(loadConfig({ file: EMPTY, env: { KAFKA_PROPERTIES: JSON.stringify(kafkaProperties) } }).config));

  it("is half of the session timeout less a heartbeat interval: librdkafka's 45 s session, the collector's 1 s heartbeat", () => {
    expect(fence({})).toBe(22_000);
    expect(fence({ 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 })).toBe(2750);
    expect(fence({ 'session.timeout.ms': '10000' })).toBe(4500);
  });
});
