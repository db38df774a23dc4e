import pino from 'pino';
import type { CommittedOffset, PartitionRef, Watermarks } from '../../../src/kafka/consumer-port';
import { LagMonitor, partitionLags, type LagSource } from '../../../src/observability/lag';
import { CollectorMetrics } from '../../../src/observability/metrics';

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

describe('partitionLags', () => {
  const partitions: PartitionRef[] = [
    { topic: 't', partition: 0 },
    { topic: 't', partition: 1 },
    { topic: 'u', partition: 0 },
  ];

  it.each<[string, Array<[string, number, Watermarks]>, Array<Omit<CommittedOffset, 'metadata'>>, Array<[string, number, number]>]>([
    ['high watermark minus the committed offset', [['t', 0, { low: 0, high: 100 }]], [{ topic: 't', partition: 0, offset: 60 }], [['t', 0, 40]]],
    ['from the log start when nothing is committed', [['t', 1, { low: 20, high: 50 }]], [], [['t', 1, 30]]],
    ['from the log start when the commit fell out of retention', [['u', 0, { low: 500, high: 800 }]], [{ topic: 'u', partition: 0, offset: 10 }], [['u', 0, 300]]],
    ['zero when caught up', [['t', 0, { low: 0, high: 7 }]], [{ topic: 't', partition: 0, offset: 7 }], [['t', 0, 0]]],
    ['never negative', [['t', 0, { low: 0, high: 7 }]], [{ topic: 't', partition: 0, offset: 9 }], [['t', 0, 0]]],
    ['left out without watermarks', [], [{ topic: 't', partition: 0, offset: 9 }], []],
  ])('%s', (_name, marks, committed, expected) => {
    const watermarks = new Map(marks.map(([topic, partition, value]) => [key(topic, partition), value]));
    expect(partitionLags(partitions, watermarks, committed.map((entry) => ({ ...entry, metadata: null }))).map(({ topic, partition, lag }) => [topic, partition, lag])).toEqual(expected);
  });
});

describe('LagMonitor', () => {
  it('sets the gauge per assigned partition and drops partitions no longer assigned', async () => {
    const source: LagSource & { assignment: PartitionRef[] } = {
      assignment: [
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
      ],
      watermarks: async (partitions) => new Map(partitions.map(({ topic, partition }) => [key(topic, partition), { low: 0, high: partition === 0 ? 10 : 20 }])),
      committed: async () => [{ topic: 't', partition: 0, offset: 4, metadata: null }],
    };
    const metrics = new CollectorMetrics({ defaultMetrics: false });
    const monitor = new LagMonitor({ source, gauge: metrics.consumerLag, logger: pino({ level: 'silent' }), intervalMs: 60_000, timeoutMs: 1000 });
    const samples = async (): Promise<Array<[string, number]>> =>
      (await metrics.consumerLag.get()).values.map((sample) => [`${sample.labels.topic}[${sample.labels.partition}]`, sample.value]);

    await monitor.poll();
    expect(await samples()).toEqual([
      ['t[0]', 6],
      ['t[1]', 20],
    ]);

    source.assignment = [{ topic: 't', partition: 1 }];
    await monitor.poll();
    expect(await samples()).toEqual([['t[1]', 20]]);

    source.assignment = [];
    await monitor.poll();
    expect(await samples()).toEqual([]);
  });
});
