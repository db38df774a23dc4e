import { partitionKey, type CommittedOffset, type PartitionRef } from '../../../src/kafka/consumer-port';
import { heldBack, keptFrom, ownedPoints, TopicTrim, trimPoints, type TopicTrimmed } from '../../../src/kafka/topic-trim';
import { mayDelete, notAuthorizedError, trimError, type TrimBroker, type TrimPoint } from '../../../src/kafka/trim-broker';
import { CollectorError } from '../../../src/errors';

const committed = (partition: number, offset: number): CommittedOffset => ({ topic: 't', partition, offset, metadata: null });

describe('trimPoints', () => {
  it('trims each partition to its committed offset, less the message margin', () => {
    expect(trimPoints([committed(0, 100), committed(1, 5)], 0, new Map(), new Map())).toEqual([
      { topic: 't', partition: 0, offset: 100 },
      { topic: 't', partition: 1, offset: 5 },
    ]);
    expect(trimPoints([committed(0, 100), committed(1, 5)], 10, new Map(), new Map())).toEqual([{ topic: 't', partition: 0, offset: 90 }]);
  });

  it('keeps records younger than the age margin, and ignores it where every record is older', () => {
    const young = new Map([[partitionKey('t', 0), 40]]);
    expect(trimPoints([committed(0, 100), committed(1, 100)], 0, young, new Map())).toEqual([
      { topic: 't', partition: 0, offset: 40 },
      { topic: 't', partition: 1, offset: 100 },
    ]);
  });

  it('never asks again for what was trimmed already', () => {
    expect(trimPoints([committed(0, 100), committed(1, 100)], 0, new Map(), new Map([[partitionKey('t', 0), 100]]))).toEqual([{ topic: 't', partition: 1, offset: 100 }]);
  });

  it('keeps, per topic, from the earlier of the age margin and the first day not compacted', () => {
    expect(keptFrom(['a', 'b', 'c'], Infinity, null)).toEqual(new Map());
    expect(keptFrom(['a', 'b'], 500, null)).toEqual(new Map([['a', 500], ['b', 500]]));
    expect(keptFrom(['a', 'b', 'c'], 500, new Map([['a', 300], ['b', 900]]))).toEqual(new Map([['a', 300], ['b', 500], ['c', 500]]));
    expect(keptFrom(['a', 'b'], Infinity, new Map([['a', 300]]))).toEqual(new Map([['a', 300]]));
  });

  it('knows when a time margin holds back what the commit would trim (the trim then asks again)', () => {
    expect(heldBack([committed(0, 100)], 0, new Map([[partitionKey('t', 0), 40]]))).toBe(true);
    expect(heldBack([committed(0, 100)], 0, new Map())).toBe(false);
    expect(heldBack([committed(0, 100)], 70, new Map([[partitionKey('t', 0), 40]]))).toBe(false);
  });

  it('leaves out partitions this member no longer owns', () => {
    const points: TrimPoint[] = [
      { topic: 't', partition: 0, offset: 1 },
      { topic: 't', partition: 1, offset: 1 },
    ];
    expect(ownedPoints(points, [{ topic: 't', partition: 1 }])).toEqual([{ topic: 't', partition: 1, offset: 1 }]);
  });
});

describe('the ACL a trim needs', () => {
  it('is missing when the topic description lists neither DELETE nor ALL, or the topic is not authorized', () => {
    expect(mayDelete([3, 8], undefined)).toBe(false);
    expect(mayDelete([3, 6, 8], undefined)).toBe(true);
    expect(mayDelete([2], undefined)).toBe(true);
    expect(mayDelete(undefined, 29)).toBe(false);
    // A broker that does not report operations: a refused request names the ACL later.
    expect(mayDelete(undefined, undefined)).toBe(true);
  });

  it('is named in the start-up error and in a refused request', () => {
    const error = notAuthorizedError(['a', 'b', 'a']);
    expect(error).toMatchObject({ code: 'TOPIC_TRIM_NOT_AUTHORIZED', retryable: false, context: { topics: 'a, b' } });
    expect(error.message).toContain('ACL DELETE on TOPIC a, b');
    expect(trimError({ code: 29, message: 'Broker: Topic authorization failed' }, ['a']).code).toBe('TOPIC_TRIM_NOT_AUTHORIZED');
    expect(trimError({ code: -185, message: 'Local: Timed out' }, ['a'])).toMatchObject({ code: 'TOPIC_TRIM_FAILED', retryable: true });
  });
});

/** A broker in memory: low watermarks per partition, and the requests it got. */
function fakeBroker(): TrimBroker & { requests: TrimPoint[][]; low: Map<string, number> } {
  const low = new Map<string, number>();
  const requests: TrimPoint[][] = [];
  return {
    low,
    requests,
    async deleteRecords(points) {
      requests.push([...points]);
      return points.map(({ topic, partition, offset }) => {
        const key = partitionKey(topic, partition);
        low.set(key, Math.max(low.get(key) ?? 0, offset));
        return { topic, partition, lowWatermark: low.get(key) ?? 0, error: null };
      });
    },
    // Record n of every partition has timestamp n: the first offset at or after a time is the time, below the end.
    async offsetsAtTime(partitions, timestampMs) {
      return new Map(partitions.map(({ topic, partition }) => [partitionKey(topic, partition), timestampMs < 1000 ? timestampMs : null]));
    },
    async deleteDenied(topics) {
      return topics.filter((topic) => topic.startsWith('denied'));
    },
  };
}

describe('TopicTrim', () => {
  function setup(intervalMs: number, compactedBefore?: (topics: readonly string[]) => Promise<ReadonlyMap<string, number>>) {
    const broker = fakeBroker();
    const group = new Map<number, number>();
    const port = {
      assignment: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] as PartitionRef[],
      async committed(partitions: readonly PartitionRef[]) {
        return partitions.filter(({ partition }) => group.has(partition)).map(({ partition }) => committed(partition, group.get(partition) ?? 0));
      },
    };
    const trimmed: TopicTrimmed[] = [];
    const failures: unknown[] = [];
    const trim = new TopicTrim({ keepMessages: 0, keepMs: 0, intervalMs, timeoutMs: 1000 }, { port, broker, now: Date.now, compactedBefore, events: { topicTrimmed: (event) => trimmed.push(event), topicTrimFailed: (error) => failures.push(error) } });
    return { broker, group, port, trim, trimmed, failures };
  }

  it('trims owned partitions to the group commit, at most once per interval, and once more at the stop', async () => {
    const { broker, group, trim } = setup(60_000);
    group.set(0, 10);
    trim.request();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(broker.requests).toEqual([[{ topic: 't', partition: 0, offset: 10 }]]);
    group.set(0, 20);
    group.set(1, 5);
    trim.request();
    trim.request();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Rate-limited: the second waits for the interval, or the stop.
    expect(broker.requests).toHaveLength(1);
    await trim.stop();
    expect(broker.requests[1]).toEqual([
      { topic: 't', partition: 0, offset: 20 },
      { topic: 't', partition: 1, offset: 5 },
    ]);
    trim.request();
    await trim.stop();
    expect(broker.requests).toHaveLength(2);
  });

  it('never trims a partition revoked before the request', async () => {
    const { broker, group, port, trim } = setup(0);
    group.set(0, 10);
    group.set(1, 10);
    port.assignment = [{ topic: 't', partition: 1 }];
    trim.request();
    await trim.stop();
    expect(broker.requests).toEqual([[{ topic: 't', partition: 1, offset: 10 }]]);
  });

  it('with TOPIC_TRIM_AFTER_COMPACTION, keeps the records from the first day not compacted', async () => {
    const { broker, group, trim } = setup(0, async (topics) => new Map(topics.map((topic) => [topic, 7])));
    group.set(0, 10);
    group.set(1, 5);
    trim.request();
    await trim.stop();
    expect(broker.requests).toEqual([[{ topic: 't', partition: 0, offset: 7 }, { topic: 't', partition: 1, offset: 5 }]]);
  });

  it('reports a failed trim and tries again at the next request', async () => {
    const { broker, group, trim, failures } = setup(0);
    group.set(0, 10);
    const deleteRecords = broker.deleteRecords;
    broker.deleteRecords = async () => {
      throw new CollectorError('TOPIC_TRIM_FAILED', 'down');
    };
    trim.request();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(failures).toHaveLength(1);
    broker.deleteRecords = deleteRecords;
    trim.request();
    await trim.stop();
    expect(broker.low.get(partitionKey('t', 0))).toBe(10);
  });

  it('refuses to start without the right to delete records, naming the ACL', async () => {
    const { trim } = setup(0);
    await expect(trim.assertAllowed(['ok', 'denied-1'])).rejects.toThrow('ACL DELETE on TOPIC denied-1');
    await expect(trim.assertAllowed(['ok'])).resolves.toBeUndefined();
  });
});
