import { ALL_USER_TOPICS_PATTERN } from '../../../src/config/kafka-properties';

describe('the default subscription', () => {
  it.each([
    ['market_data', true],
    ['trades.v2', true],
    ['_schemas', true],
    ['a', true],
    ['__consumer_offsets', false],
    ['__redpanda.audit', false],
  ])('%s is collected: %s', (topic, collected) => {
    expect(new RegExp(ALL_USER_TOPICS_PATTERN).test(topic)).toBe(collected);
  });
});
