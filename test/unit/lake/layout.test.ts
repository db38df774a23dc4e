import path from 'node:path';
import { dayFolder, outputFolder, topicFolder } from '../../../src/lake/layout';
import { dayOfTimestamp } from '../../../src/pipeline/route';

describe('routing', () => {
  it.each([
    [Date.UTC(2025, 9, 17, 10, 30), '2025/10/17'],
    [Date.UTC(2025, 9, 17, 23, 59, 59, 999), '2025/10/17'],
    [Date.UTC(2025, 9, 18, 0, 0, 0, 0), '2025/10/18'],
    [Date.UTC(2024, 1, 29, 12), '2024/02/29'],
    [0, '1970/01/01'],
    [-1, '1970/01/01'],
  ])('puts timestamp %d in day folder %s (UTC)', (timestamp, folder) => {
    expect(dayFolder(dayOfTimestamp(timestamp))).toBe(folder);
  });

  it.each([
    ['market.data', 'market.data'],
    ['market-data_v2', 'market-data_v2'],
    ['..', '%2E%2E'],
    ['.', '%2E'],
    ['a/../../etc', 'a%2F%2E%2E%2F%2E%2E%2Fetc'],
  ])('keeps topic %s inside its folder as %s', (topic, folder) => {
    expect(topicFolder(topic)).toBe(folder);
  });

  it('places data and dead letters under the day folder', () => {
    const day = dayOfTimestamp(Date.UTC(2025, 9, 17));
    expect(outputFolder('/out', 'trades', day, 'data')).toBe(path.join('/out', '2025/10/17', 'trades'));
    expect(outputFolder('/out', 'trades', day, 'dead-letter')).toBe(path.join('/out', '2025/10/17', '_dead_letter', 'trades'));
  });
});
