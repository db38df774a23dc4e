/**
 * Every error the collector raises on purpose carries a stable code (for logs, metrics and
 * tests), the context that explains it, and whether retrying the same operation can help.
 */

export const ErrorCodes = {
  CONFIG_INVALID: { retryable: false, area: 'config' },
  OUTPUT_DIR_UNUSABLE: { retryable: false, area: 'config' },
  DECODE_FAILED: { retryable: false, area: 'decode' },
  PAYLOAD_REJECTED: { retryable: false, area: 'flatten' },
  PARQUET_ENCODE_FAILED: { retryable: false, area: 'parquet' },
  PUBLISH_FAILED: { retryable: true, area: 'storage' },
  KAFKA_CONNECT_FAILED: { retryable: true, area: 'kafka' },
  KAFKA_COMMIT_FAILED: { retryable: true, area: 'kafka' },
  KAFKA_CONSUME_FAILED: { retryable: true, area: 'kafka' },
  COMPACTION_FAILED: { retryable: true, area: 'compaction' },
  COMPACTION_LOCK_LOST: { retryable: true, area: 'compaction' },
  COMPACTION_INCONSISTENT: { retryable: false, area: 'compaction' },
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

/** The message of anything thrown, for logs and dead-letter rows. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
