/**
 * Every error the collector raises on purpose carries a stable code (for logs, metrics and
 * tests), the context that explains it, and whether retrying the same operation can help.
 */

export const ErrorCodes = {
  CONFIG_INVALID: { retryable: false, area: 'config' },
  OUTPUT_DIR_UNUSABLE: { retryable: false, area: 'config' },
  DECODE_FAILED: { retryable: false, area: 'decode' },
  PAYLOAD_REJECTED: { retryable: false, area: 'flatten' },
  /** A batch breaks its own contract (lengths, duplicate names, a value not of its column type). */
  INVALID_BATCH: { retryable: false, area: 'parquet' },
  /** `coerce` was asked to narrow a value instead of widening it. */
  TYPE_MISMATCH: { retryable: false, area: 'parquet' },
  /** Arrow or the Parquet writer rejected data that passed validation. */
  ENCODE_FAILED: { retryable: false, area: 'parquet' },
  /** A worker thread died or stopped answering while encoding; a fresh worker may succeed. */
  WORKER_FAILED: { retryable: true, area: 'parquet' },
  /** The compiled worker script is not on disk (run `npm run build`). */
  WORKER_SCRIPT_MISSING: { retryable: false, area: 'parquet' },
  /** `encode` was called after `close`, or `close` dropped the request. */
  POOL_CLOSED: { retryable: false, area: 'parquet' },
  /** Writing, fsyncing or renaming a file failed (disk full, read-only, permissions): the disk may recover. */
  PUBLISH_FAILED: { retryable: true, area: 'lake' },
  /** The object store did not answer, or answered 5xx, throttling (503 SlowDown) or a timeout: it may recover. */
  LAKE_STORE_UNAVAILABLE: { retryable: true, area: 'lake' },
  /** The object store refused for good: no such bucket, credentials refused, a store that ignores `If-None-Match`. */
  LAKE_STORE_REFUSED: { retryable: false, area: 'lake' },
  /** A lake object that had to be there (`open`) is not. */
  LAKE_OBJECT_MISSING: { retryable: false, area: 'lake' },
  KAFKA_CONNECT_FAILED: { retryable: true, area: 'kafka' },
  KAFKA_COMMIT_FAILED: { retryable: true, area: 'kafka' },
  /** A file was about to become visible later than the commit before it fences the group (a paused process): a fresh fence may allow it. */
  PUBLISH_FENCE_EXPIRED: { retryable: true, area: 'kafka' },
  KAFKA_CONSUME_FAILED: { retryable: true, area: 'kafka' },
  /** TOPIC_TRIM_ENABLED, but the principal may not delete records (the ACL DELETE on TOPIC): a grant is needed, not a retry. */
  TOPIC_TRIM_NOT_AUTHORIZED: { retryable: false, area: 'kafka' },
  /** A DeleteRecords request failed (broker unreachable, a leader moving): the next trim asks again. */
  TOPIC_TRIM_FAILED: { retryable: true, area: 'kafka' },
  /** No consume iteration within LIVENESS_MAX_STALL_MS while not waiting for the output: restart the process. */
  CONSUME_LOOP_STALLED: { retryable: false, area: 'pipeline' },
  /** A topic schema version in the lake is not one the collector wrote (lake/topic-schema.ts). */
  TOPIC_SCHEMA_INVALID: { retryable: false, area: 'lake' },
  /** Other writers kept widening a topic's schema first, many times in a row: the next attempt joins theirs. */
  TOPIC_SCHEMA_CONTENDED: { retryable: true, area: 'lake' },
  COMPACTION_FAILED: { retryable: true, area: 'compaction' },
  COMPACTION_LOCK_LOST: { retryable: true, area: 'compaction' },
  COMPACTION_INCONSISTENT: { retryable: false, area: 'compaction' },
  /** Removing an expired day from the lake failed; the next pass finishes it. */
  LAKE_RETENTION_FAILED: { retryable: true, area: 'lake' },
  HTTP_LISTEN_FAILED: { retryable: false, area: 'http' },
  SHUTDOWN_DEADLINE: { retryable: false, area: 'lifecycle' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export type ErrorContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export class CollectorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CollectorError';
    this.code = code;
    this.retryable = ErrorCodes[code].retryable;
    this.context = options.context ?? {};
  }
}

/** Whether repeating the operation that threw `error` can succeed; anything not raised on purpose is assumed transient. */
export function isRetryable(error: unknown): boolean {
  return error instanceof CollectorError ? error.retryable : true;
}

/** The code of anything thrown, for metrics labels. */
export function errorCode(error: unknown): string {
  return error instanceof CollectorError ? error.code : 'UNKNOWN';
}

/** The message of anything thrown, for logs and dead-letter rows. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
