import { groupCommittedBefore, hasCommittedBefore } from '../../../src/kafka/group-progress';
import { partitionKey } from '../../../src/kafka/consumer-port';
import { FakeConsumer } from '../pipeline/fakes';

const P0 = { topic: 't', partition: 0 };
const P1 = { topic: 't', partition: 1 };
const marks = (low: number, high: number) => ({ low, high });

describe('hasCommittedBefore', () => {
  it.each([
    ['committed up to the first record after the instant', 40, 40, true],
    ['committed past it', 55, 40, true],
    ['still before it', 39, 40, false],
    ['no record after the instant yet, committed to the log end', 100, null, true],
    ['no record after the instant yet, behind the log end', 99, null, false],
  ])('one partition %s', (_what, committed, first, passed) => {
    const answer = hasCommittedBefore([P0], new Map([[partitionKey('t', 0), first]]), [{ ...P0, offset: committed as number, metadata: null }], new Map([[partitionKey('t', 0), marks(0, 100)]]));
    expect(answer).toBe(passed);
  });

  it('without a commit the group stands at the log start: passed only when nothing before the instant is left in the log', () => {
    const at = (first: number | null) => new Map([[partitionKey('t', 0), first]]);
    const log = new Map([[partitionKey('t', 0), marks(30, 100)]]);
    expect(hasCommittedBefore([P0], at(30), [], log)).toBe(true);
    expect(hasCommittedBefore([P0], at(31), [], log)).toBe(false);
  });

  it('needs every partition, and a partition without watermarks is not known to have passed', () => {
    const first = new Map([
      [partitionKey('t', 0), 10],
      [partitionKey('t', 1), 10],
    ]);
    const committed = [
      { ...P0, offset: 10, metadata: null },
      { ...P1, offset: 9, metadata: null },
    ];
    const both = new Map([
      [partitionKey('t', 0), marks(0, 20)],
      [partitionKey('t', 1), marks(0, 20)],
    ]);
    expect(hasCommittedBefore([P0, P1], first, committed, both)).toBe(false);
    expect(hasCommittedBefore([P0], first, committed, both)).toBe(true);
    expect(hasCommittedBefore([P0, P1], first, [{ ...P0, offset: 10, metadata: null }, { ...P1, offset: 10, metadata: null }], new Map([[partitionKey('t', 0), marks(0, 20)]]))).toBe(false);
  });
});

describe('groupCommittedBefore', () => {
  it("asks about every partition of the topic, the other members' too, and no other topic", async () => {
    const port = new FakeConsumer();
    port.subscribed = [P0, P1, { topic: 'u', partition: 0 }];
    for (const ref of port.subscribed) port.high.set(`${ref.topic}[${ref.partition}]`, 50);
    port.firstOffsetAfter.set('t[0]', () => 20);
    port.firstOffsetAfter.set('t[1]', () => 30);
    await port.commit([{ ...P0, offset: 20, metadata: null }, { ...P1, offset: 29, metadata: null }]);

    await expect(groupCommittedBefore(port, 't', 1_000, 1000)).resolves.toBe(false);
    await port.commit([{ ...P1, offset: 30, metadata: null }]);
    await expect(groupCommittedBefore(port, 't', 1_000, 1000)).resolves.toBe(true);
    await expect(groupCommittedBefore(port, 'gone', 1_000, 1000)).resolves.toBe(true);
  });
});
