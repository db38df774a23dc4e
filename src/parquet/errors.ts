/**
 * Errors of the Parquet stage. Kept apart from src/errors.ts until the shared error table exists;
 * the codes are meant to move there unchanged.
 */

export type ParquetEncodeErrorCode =
  /** The batch breaks its own contract (lengths, duplicate names, a value not of its column type). */
  | 'INVALID_BATCH'
  /** `coerce` was asked to narrow a value instead of widening it. */
  | 'TYPE_MISMATCH'
  /** Arrow or the Parquet writer rejected data that passed validation. */
  | 'ENCODE_FAILED'
  /** A worker thread died or stopped answering while encoding; a fresh worker may succeed. */
  | 'WORKER_FAILED'
  /** The compiled worker script is not on disk (run `npm run build`). */
  | 'WORKER_SCRIPT_MISSING'
  /** `encode` was called after `close`, or `close` dropped the request. */
  | 'POOL_CLOSED';

const RETRIABLE: ReadonlySet<ParquetEncodeErrorCode> = new Set(['WORKER_FAILED']);

export class ParquetEncodeError extends Error {
  readonly code: ParquetEncodeErrorCode;
  /** Whether encoding the same batch again can succeed; the batch itself is not at fault. */
  readonly retriable: boolean;

  constructor(code: ParquetEncodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParquetEncodeError';
    this.code = code;
    this.retriable = RETRIABLE.has(code);
  }
}

