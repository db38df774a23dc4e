import { mergeRanges, type OffsetRange } from '../lake/offset-range';
import { partitionKey } from './offset-tracker';

/**
 * Exactly-once output across crashes. A crash between publishing a file and committing its
 * offsets would make the next owner read those records again. So each commit carries, in its
 * metadata, the earliest publish time of any file that may hold offsets at or past the committed
 * one; on assignment, only files published since then (minus a clock-skew margin) are opened,
 * footer only, and the offsets they hold are skipped instead of written twice.
 */

export interface CommitMetadata {
  /** Files published before this time hold nothing at or past the committed offset. */
  readonly recoverSinceMs: number;
}

export function encodeCommitMetadata(metadata: CommitMetadata): string {
  return JSON.stringify({ recover_since_ms: metadata.recoverSinceMs });
}

/** The metadata of a commit made by this collector, or null (no commit, or made by something else). */
export function decodeCommitMetadata(text: string | null | undefined): CommitMetadata | null {
  if (!text) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'recover_since_ms' in parsed) {
      const value = (parsed as { recover_since_ms: unknown }).recover_since_ms;
      if (typeof value === 'number' && Number.isFinite(value)) return { recoverSinceMs: value };
    }
  } catch {
    return null;
  }
  return null;
}

/** Published files that hold offsets of a partition past its committed offset: what a restart must skip. */
export class PublishedAboveCommit {
  private readonly entries = new Map<string, Array<{ last: number; publishedAtMs: number }>>();

  record(topic: string, partition: number, last: number, publishedAtMs: number): void {
    const key = partitionKey(topic, partition);
    const list = this.entries.get(key) ?? [];
    list.push({ last, publishedAtMs });
    this.entries.set(key, list);
  }

  /** After committing `committed`: forgets files wholly below it; returns the recover-since time to store. */
  recoverSince(topic: string, partition: number, committed: number, nowMs: number): number {
    const key = partitionKey(topic, partition);
    const remaining = (this.entries.get(key) ?? []).filter((entry) => entry.last >= committed);
    if (remaining.length === 0) this.entries.delete(key);
    else this.entries.set(key, remaining);
    return remaining.reduce((earliest, entry) => Math.min(earliest, entry.publishedAtMs), nowMs);
  }

  forget(topic: string, partition: number): void {
    this.entries.delete(partitionKey(topic, partition));
  }
}

/** Sorted, merged ranges at or past `committed`: the offsets of a partition already on disk. */
export function rangesToSkip(ranges: readonly OffsetRange[], committed: number): OffsetRange[] {
  return mergeRanges(ranges, committed);
}

/**
 * Whether `offset` is in `ranges` (sorted). Offsets of a partition arrive in increasing order, so
 * ranges wholly below it are dropped from the front as consumption passes them.
 */
export function consumeSkip(ranges: OffsetRange[], offset: number): boolean {
  while (ranges.length > 0 && ranges[0][1] < offset) ranges.shift();
  return ranges.length > 0 && ranges[0][0] <= offset;
}
