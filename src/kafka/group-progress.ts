import { partitionKey, type CommittedOffset, type ConsumerPort, type PartitionRef, type Watermarks } from './consumer-port';

/**
 * How far the whole consumer group (every member and replica, not only this one) has come
 * through a topic in time: whether it has committed, on every partition, each record stamped
 * before a given instant. The day closer asks it before compacting a day, so that a group catching
 * up on a backlog does not compact a day while records of it are still on their way into parts
 * (they would then need a second file for the day). By Kafka timestamps: a record produced later
 * with an older timestamp is still late, whatever this says.
 */

export type GroupProgressPort = Pick<ConsumerPort, 'subscribedPartitions' | 'committed' | 'watermarks' | 'offsetsForTime'>;

/** Whether the group has committed every record of `topic` stamped before `instantMs`. */
export async function groupCommittedBefore(port: GroupProgressPort, topic: string, instantMs: number, timeoutMs: number): Promise<boolean> {
  const partitions = (await port.subscribedPartitions(timeoutMs)).filter((entry) => entry.topic === topic);
  if (partitions.length === 0) return true;
  const [firstAtOrAfter, committed, marks] = await Promise.all([
    port.offsetsForTime(partitions, instantMs, timeoutMs),
    port.committed(partitions, timeoutMs),
    port.watermarks(partitions, timeoutMs),
  ]);
  return hasCommittedBefore(partitions, firstAtOrAfter, committed, marks);
}

/**
 * Pure: on each partition, the group's position (its commit; the log start without one, where
 * the group would begin) is at or past the first record at or after the instant (the log end
 * when there is none yet).
 */
export function hasCommittedBefore(
  partitions: readonly PartitionRef[],
  firstAtOrAfter: ReadonlyMap<string, number | null>,
  committed: readonly CommittedOffset[],
  marks: ReadonlyMap<string, Watermarks>,
): boolean {
  const positions = new Map(committed.map((entry) => [partitionKey(entry.topic, entry.partition), entry.offset]));
  return partitions.every(({ topic, partition }) => {
    const key = partitionKey(topic, partition);
    const mark = marks.get(key);
    if (mark === undefined) return false;
    const end = firstAtOrAfter.get(key) ?? mark.high;
    return Math.max(positions.get(key) ?? mark.low, mark.low) >= end;
  });
}
