/**
 * Exactly-once output across crashes. A crash between publishing a file and committing its
 * offsets would make the next owner read those records again. So each commit carries, in its
 * metadata, the earliest publish time of any file that may hold offsets at or past the committed
 * one; on assignment, only files published since then (minus a clock-skew margin) are opened,
 * footer only, and the offsets they hold are skipped instead of written twice (see recovery.ts).
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
