/**
 * Messages between `EncoderPool` and `encode-worker`; both sides import only this and the batch
 * types.
 */
import type { ColumnLayout, EncodeOptions } from './batch';
import type { ErrorCode } from '../errors';

/** A batch already turned into an Arrow IPC stream on the calling thread (see `batchToIpc`). */
export interface EncodeRequest {
  readonly id: number;
  /** Transferred, not copied: the sender must not touch it after posting. */
  readonly ipc: Uint8Array<ArrayBuffer>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly options: EncodeOptions;
  readonly columns: ColumnLayout;
}

export type EncodeResponse =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array }
  | {
      readonly id: number;
      readonly ok: false;
      /** Null when the worker caught something other than a CollectorError. */
      readonly code: ErrorCode | null;
      readonly message: string;
      readonly stack: string | undefined;
    };

export function isEncodeResponse(message: unknown): message is EncodeResponse {
  if (typeof message !== 'object' || message === null) return false;
  const candidate = message as { readonly id?: unknown; readonly ok?: unknown; readonly bytes?: unknown };
  if (typeof candidate.id !== 'number') return false;
  return candidate.ok === true ? candidate.bytes instanceof Uint8Array : candidate.ok === false;
}

/**
 * `bytes` itself when it is the whole of a plain ArrayBuffer, else a copy that is: transferring a
 * view's buffer would hand over (and detach) bytes outside the view.
 */
export function transferable(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) {
    return new Uint8Array(buffer);
  }
  return bytes.slice();
}
