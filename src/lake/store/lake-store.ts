/**
 * The one seam between the lake and where its bytes live. Everything that reads or writes the lake
 * (the writer, recovery, compaction, `verify`, `inspect`) speaks to a LakeStore through keys; only
 * the two implementations know about files (local.ts) or objects (s3.ts).
 *
 * Keys are relative to the lake's root, '/'-separated, never starting with '/', and built only by
 * layout.ts. A "folder" is a key prefix ending in '/'.
 *
 * Rules both implementations keep:
 * - `create` is whole-or-absent and never replaces an object: it answers false when the key exists
 *   (O_EXCL / link on a filesystem, `If-None-Match: *` on S3). Data objects are only ever created.
 * - An answer that is lost (a timeout after an upload) is settled by reading what is there, never by
 *   writing again under another name.
 * - A listing is of one prefix, never of the whole lake.
 */

import { CollectorError } from '../../errors';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** When the store wrote it, by the store's own clock (a file's mtime, an object's Last-Modified). */
  readonly modifiedMs: number;
}

export interface ListOptions {
  /** Only one level below the prefix: objects directly in it, and its sub-folders as `prefixes`. */
  readonly delimiter?: boolean;
  /** Only keys after this one (S3's start-after), to page through a long folder without re-reading it. */
  readonly startAfter?: string;
  /**
   * A hint: a store that can tell cheaply that the folder has had nothing added since then (a
   * filesystem folder's mtime) may answer with nothing. Stores that cannot tell ignore it.
   */
  readonly changedSinceMs?: number;
}

export interface Listing {
  /** In key order. */
  readonly objects: readonly StoredObject[];
  /** With `delimiter`: the sub-folders of the prefix, each a full key prefix ending in '/'. */
  readonly prefixes: readonly string[];
}

export type Body = Uint8Array | AsyncIterable<Uint8Array>;

/** What a store throws when a create's `stillValid` said no. */
export function fenceExpired(location: string): CollectorError {
  return new CollectorError('PUBLISH_FENCE_EXPIRED', `not created: ${location} would have appeared later than the commit before it fences the group (a paused process?)`, {
    context: { key: location },
  });
}

export function isFenceExpired(error: unknown): boolean {
  return error instanceof CollectorError && error.code === 'PUBLISH_FENCE_EXPIRED';
}

export interface LakeStore {
  /** Where the lake is, for logs, errors and readiness (`/data/lake`, `s3://bucket/prefix`): never a secret. */
  readonly location: string;
  /**
   * Creates `key` from `body`, durably and whole or not at all; false (and nothing written) when
   * the key exists. A streamed body is never held whole in memory. `stillValid`, when given, is
   * asked as late as the store can, just before the object would become visible: false, and
   * nothing is written (PUBLISH_FENCE_EXPIRED).
   */
  create(key: string, body: Body, stillValid?: () => boolean): Promise<boolean>;
  /**
   * Writes an object whole, replacing any previous version atomically: a reader sees the old or
   * the new one. For metadata objects (a closed-day marker, a lease); a data object only by
   * `compact --rewrite`, which puts the same rows, in the topic's wider schema, in place of a
   * compacted file (a streamed body is never held whole in memory).
   */
  replace(key: string, body: Body): Promise<void>;
  /** A small object's bytes, or null when it does not exist. */
  read(key: string): Promise<Uint8Array | null>;
  /** The object as a Blob read lazily by ranges (Parquet footers, single row groups); throws when absent. */
  open(key: string): Promise<Blob>;
  /** Size and modification time, or null when it does not exist. */
  stat(key: string): Promise<StoredObject | null>;
  list(prefix: string, options?: ListOptions): Promise<Listing>;
  /** Removes the objects durably; absent ones are fine. */
  remove(keys: readonly string[]): Promise<void>;
  /** The store's clock (ms since the epoch): what `modifiedMs` is measured against when ageing leases. */
  now(): Promise<number>;
  /**
   * Writes left unfinished by a crash and older than `minAgeMs` (hidden temp files, incomplete
   * multipart uploads) are removed; returns what was removed.
   */
  sweepAbandoned(minAgeMs: number): Promise<string[]>;
  /** At start-up: null when objects can be created here and a second create of one key is refused; else what is wrong. */
  probe(): Promise<string | null>;
  /** For readiness, cheap enough to ask every few seconds: null when the lake can be reached (and written); else what is wrong. */
  check(): Promise<string | null>;
  /** Releases what the store holds open (connections); the store is not used afterwards. */
  close(): void;
}
