import path from 'node:path';
import {
  closedMarkerName,
  compactedFileName,
  compactedNameReadings,
  compactionLockName,
  dayFolder,
  dayOfHiveFolder,
  dayOfIsoDate,
  hiveLayout,
  isoDate,
  layoutFor,
  outputFolder,
  seedLayout,
  topicFolder,
  topicOfHiveFolder,
} from '../../../src/lake/layout';
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
    expect(outputFolder('trades', day, 'data')).toBe('2025/10/17/trades/');
    expect(outputFolder('trades', day, 'dead-letter')).toBe('2025/10/17/_dead_letter/trades/');
  });
});

describe('layout presets', () => {
  const day = dayOfTimestamp(Date.UTC(2025, 9, 17));

  it('seed: parts in YYYY/MM/DD/<topic>/, compacted files, lock and marker in YYYY/MM/DD/', () => {
    expect(seedLayout.partFolder('trades', day, 'data')).toBe('2025/10/17/trades/');
    expect(seedLayout.dayFileFolder('trades', day, 'data')).toBe('2025/10/17/');
    expect(seedLayout.dayFileFolder('trades', day, 'dead-letter')).toBe('2025/10/17/_dead_letter/');
    expect([compactedFileName('trades', 0), compactedFileName('trades', 1), compactedFileName('trades', 12)]).toEqual(['trades.parquet', 'trades-0001.parquet', 'trades-0012.parquet']);
    expect([compactionLockName('trades'), closedMarkerName('trades')]).toEqual(['.trades.compact.lock', '_SUCCESS.trades.json']);
  });

  it('hive: topic=<topic>/date=YYYY-MM-DD for parts and compacted files alike', () => {
    const folder = 'topic=trades/date=2025-10-17/';
    expect(hiveLayout.partFolder('trades', day, 'data')).toBe(folder);
    expect(hiveLayout.dayFileFolder('trades', day, 'data')).toBe(folder);
    expect(hiveLayout.partFolder('trades', day, 'dead-letter')).toBe('_dead_letter/topic=trades/date=2025-10-17/');
    expect(topicOfHiveFolder('topic=trades')).toBe('trades');
    expect(dayOfHiveFolder('date=2025-10-17')).toBe(day);
    expect(dayOfHiveFolder('date=2025-02-30')).toBeNull();
    expect(layoutFor('hive')).toBe(hiveLayout);
    expect(layoutFor('seed')).toBe(seedLayout);
  });

  it.each([seedLayout, hiveLayout])('keeps hostile topic names inside OUTPUT_DIR ($name)', (layout) => {
    for (const topic of ['..', '../../etc', 'a/b', 'topic=x/date=y']) {
      for (const folder of [layout.partFolder(topic, day, 'data'), layout.dayFileFolder(topic, day, 'dead-letter')]) {
        expect(path.resolve('/out', folder).startsWith('/out/')).toBe(true);
        expect(folder.split('/').every((segment) => segment !== '..' && segment !== '.')).toBe(true);
        expect(path.resolve('/out', `${folder}${compactedFileName(topic, 3)}`).startsWith(path.resolve('/out', folder) + path.sep)).toBe(true);
      }
    }
  });

  it('reads compacted file names back, both ways where a name is ambiguous', () => {
    expect(compactedNameReadings('trades.parquet')).toEqual([{ topic: 'trades', index: 0 }]);
    expect(compactedNameReadings('trades-0002.parquet')).toEqual([
      { topic: 'trades-0002', index: 0 },
      { topic: 'trades', index: 2 },
    ]);
    expect(compactedNameReadings('%2E%2E.parquet')).toEqual([{ topic: '..', index: 0 }]);
    for (const name of ['.trades.parquet.compacting', '_SUCCESS.trades.json', 'part-20251017T103000123Z-abcd1234-000001.parquet', 'trades']) {
      expect(compactedNameReadings(name)).toEqual([]);
    }
  });

  it('names ISO dates both ways', () => {
    expect(isoDate(day)).toBe('2025-10-17');
    expect(dayOfIsoDate('2025-10-17')).toBe(day);
    expect(dayOfIsoDate('2025-10-32')).toBeNull();
    expect(dayOfIsoDate('17/10/2025')).toBeNull();
  });
});
