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
