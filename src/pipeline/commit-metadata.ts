/**
 * Exactly-once output across crashes. A crash between publishing a file and committing its
 * offsets would make the next owner read those records again. So each commit carries, in its
 * metadata, the earliest publish time of any file that may hold offsets at or past the committed
 * one, and the days those files belong to; on assignment, only the folders of those days are
 * listed, only files published since then (minus a clock-skew margin) are opened, footer only,
 * and the offsets they hold are skipped instead of written twice (see recovery.ts). The days keep
 * recovery from listing every day of a large lake (on object storage, every LIST is billed).
 */

/** Any day: a commit of an earlier version, or one whose files span more days than it lists. */
export const ANY_DAY = 'any';
export type RecoverDays = ReadonlySet<number> | typeof ANY_DAY;

/** More days than this and a commit says "any day": its metadata must stay far below the broker's offset.metadata.max.bytes (4096 by default). */
export const MAX_RECOVER_DAYS = 64;

export interface CommitMetadata {
  /** Files published before this time hold nothing at or past the committed offset. */
  readonly recoverSinceMs: number;
  /** The days of every file that may hold offsets at or past the committed offset. */
  readonly recoverDays: RecoverDays;
}

/** The days as a commit stores them: too many become any day. */
export function boundedDays(days: Iterable<number>): RecoverDays {
  const set = new Set(days);
  return set.size > MAX_RECOVER_DAYS ? ANY_DAY : set;
}

/**
 * `commitId` makes the text of every commit request unique: a commit is known to be stored only by
 * reading it back (see KafkaSource.commit), and one that stores again what the group already has
 * would read back as stored even when the broker refused it (a member paused past its session).
 */
export function encodeCommitMetadata(metadata: CommitMetadata, commitId: string): string {
  const days = metadata.recoverDays;
  const recoverDays = days === ANY_DAY ? {} : { recover_days: [...days].sort((a, b) => a - b) };
  return JSON.stringify({ recover_since_ms: metadata.recoverSinceMs, ...recoverDays, commit: commitId });
}

/** The metadata of a commit made by this collector, or null (no commit, or made by something else). */
export function decodeCommitMetadata(text: string | null | undefined): CommitMetadata | null {
  if (!text) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || !('recover_since_ms' in parsed)) return null;
  const { recover_since_ms: since, recover_days: days } = parsed as { recover_since_ms: unknown; recover_days?: unknown };
  if (typeof since !== 'number' || !Number.isFinite(since)) return null;
  const listed = Array.isArray(days) && days.every((day) => Number.isSafeInteger(day));
  return { recoverSinceMs: since, recoverDays: listed ? new Set(days as number[]) : ANY_DAY };
}
