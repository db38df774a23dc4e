import { partitionKey, watermarksOf, type CommittedOffset, type ConsumerPort, type PartitionRef, type Watermarks } from '../kafka/consumer-port';
import type { TopicProgress } from './events';
import type { OffsetLedger } from './offset-ledger';

/**
 * One-shot mode: the end offset each partition had when it was assigned is the goal; the run is
 * done when every partition reached its goal, or its topic reached MAX_MESSAGES.
 */

interface Goal {
  readonly start: number;
  readonly end: number;
}

export class OneShotGoals {
  private readonly goals = new Map<string, Map<number, Goal>>();
  private readonly consumedPerTopic = new Map<string, number>();
  private readonly maxMessagesPerTopic: number | null;
  private readonly ledger: OffsetLedger;

  constructor(maxMessagesPerTopic: number | null, ledger: OffsetLedger) {
    this.maxMessagesPerTopic = maxMessagesPerTopic;
    this.ledger = ledger;
  }

  set(topic: string, partition: number, start: number, end: number): void {
    let partitions = this.goals.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.goals.set(topic, partitions);
    }
    partitions.set(partition, { start, end });
  }

  /**
   * Sets each partition's goal and returns those with records left to read. A partition whose
   * commit is at its end offset holds no record past the commit, so no file can hold one: it needs
   * no recovery. That is every partition a member of the same one-shot run hands over when it
   * finishes and leaves; recovering their topics again would only delay the end of the run.
   */
  async take(port: Pick<ConsumerPort, 'watermarks'>, partitions: readonly PartitionRef[], committed: readonly CommittedOffset[], timeoutMs: number): Promise<PartitionRef[]> {
    const marks = await port.watermarks(partitions, timeoutMs);
    const groupOffsets = new Map(committed.map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset]));
    return partitions.filter(({ topic, partition }) => {
      const { low, high } = watermarksOf(marks, topic, partition);
      const start = Math.max(low, groupOffsets.get(partitionKey(topic, partition)) ?? low);
      this.set(topic, partition, start, high);
      return start < high;
    });
  }

  /** A partition left this member: its goal is its new owner's. */
  forget(topic: string, partition: number): void {
    this.goals.get(topic)?.delete(partition);
  }

  /** Whether a record of `topic` is still wanted; counts it when it is. */
  admit(topic: string): boolean {
    const cap = this.maxMessagesPerTopic;
    if (cap === null) return true;
    const consumed = this.consumedPerTopic.get(topic) ?? 0;
    if (consumed >= cap) return false;
    this.consumedPerTopic.set(topic, consumed + 1);
    return true;
  }

  private capped(topic: string): boolean {
    const cap = this.maxMessagesPerTopic;
    return cap !== null && (this.consumedPerTopic.get(topic) ?? 0) >= cap;
  }

  private position(topic: string, partition: number, goal: Goal): number {
    return this.ledger.nextOffset(topic, partition) ?? goal.start;
  }

  isCaughtUp(): boolean {
    for (const [topic, partitions] of this.goals) {
      if (this.capped(topic)) continue;
      for (const [partition, goal] of partitions) if (this.position(topic, partition, goal) < goal.end) return false;
    }
    return true;
  }

  progress(): TopicProgress[] {
    const result: TopicProgress[] = [];
    for (const [topic, partitions] of this.goals) {
      let done = 0;
      let total = 0;
      for (const [partition, goal] of partitions) {
        total += Math.max(0, goal.end - goal.start);
        done += Math.max(0, Math.min(this.position(topic, partition, goal), goal.end) - goal.start);
      }
      const cap = this.maxMessagesPerTopic;
      result.push({ topic, done: cap === null ? done : Math.min(done, cap), total: cap === null ? total : Math.min(total, cap) });
    }
    return result;
  }
}

/**
 * One-shot mode: the subscribed partitions other members own, and the end offsets they had when
 * this member first looked. They are all read once the group's commits reach those ends.
 */
export class OtherMembers {
  private readonly atStart = new Map<string, Watermarks>();

  async allRead(port: Pick<ConsumerPort, 'assignment' | 'subscribedPartitions' | 'watermarks' | 'committed'>, timeoutMs: number): Promise<boolean> {
    const owned = new Set(port.assignment.map(({ topic, partition }) => partitionKey(topic, partition)));
    const others = (await port.subscribedPartitions(timeoutMs)).filter(({ topic, partition }) => !owned.has(partitionKey(topic, partition)));
    if (others.length === 0) return true;
    const unseen = others.filter(({ topic, partition }) => !this.atStart.has(partitionKey(topic, partition)));
    for (const [key, marks] of await port.watermarks(unseen, timeoutMs)) this.atStart.set(key, marks);
    const committed = new Map((await port.committed(others, timeoutMs)).map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset]));
    return others.every(({ topic, partition }) => {
      const key = partitionKey(topic, partition);
      const { low, high } = this.atStart.get(key) ?? { low: 0, high: 0 };
      return Math.max(low, committed.get(key) ?? low) >= high;
    });
  }
}
