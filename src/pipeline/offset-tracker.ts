/**
 * Which offsets may be committed. Per partition, the committable offset is the lowest offset still
 * held by any unpublished buffer or in-flight write, or else the next offset to consume. Records of
 * one partition may sit in two day buffers at once (midnight, late data): the lowest one wins, so
 * the commit never passes a record that is not yet in a published file.
 */

export type PartitionOffsets = Map<number, number>;

/** The inner map of `outer` for `key`, created empty on first use. */
export function innerMap<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let inner = outer.get(key);
  if (inner === undefined) {
    inner = new Map();
    outer.set(key, inner);
  }
  return inner;
}

/** One string per (topic, partition), for sets and maps keyed by both. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
export type TopicOffsets = Map<string, PartitionOffsets>;

/** Anything that holds records not yet published: an open buffer or a write in flight. */
export interface OffsetHolder {
  readonly topic: string;
  lowestOffsets(): ReadonlyMap<number, number>;
}

export function committableOffsets(nextToConsume: TopicOffsets, holders: Iterable<OffsetHolder>): TopicOffsets {
  const result: TopicOffsets = new Map();
  for (const [topic, partitions] of nextToConsume) result.set(topic, new Map(partitions));
  for (const holder of holders) {
    const partitions = result.get(holder.topic);
    if (partitions === undefined) continue;
    for (const [partition, lowest] of holder.lowestOffsets()) {
      const current = partitions.get(partition);
      if (current !== undefined && lowest < current) partitions.set(partition, lowest);
    }
  }
  return result;
}

/** Entries of `candidate` that move past `committed` (only forward moves are worth a commit). */
export function offsetsToCommit(candidate: TopicOffsets, committed: TopicOffsets): TopicOffsets {
  const changes: TopicOffsets = new Map();
  for (const [topic, partitions] of candidate) {
    for (const [partition, offset] of partitions) {
      const previous = committed.get(topic)?.get(partition);
      if (previous !== undefined && offset <= previous) continue;
      innerMap(changes, topic).set(partition, offset);
    }
  }
  return changes;
}

/** Position of the consumer per assigned partition: where it resumes and what it saw last. */
export class ConsumePositions {
  private readonly next: TopicOffsets = new Map();

  revoke(topic: string, partition: number): void {
    this.next.get(topic)?.delete(partition);
  }

  /** Records a consumed offset; returns the offset of the previous record seen of that partition, or -1. */
  advance(topic: string, partition: number, offset: number): number {
    const partitions = innerMap(this.next, topic);
    const next = partitions.get(partition);
    partitions.set(partition, offset + 1);
    return next === undefined ? -1 : next - 1;
  }

  nextOffsets(): TopicOffsets {
    return this.next;
  }
}
