/**
 * Worker-thread entry of `EncoderPool`: turns one Arrow IPC stream per request into Parquet bytes
 * (the compression-heavy half of `encodeParquet`) and hands them back by transfer, so neither the
 * batch nor the file is copied between threads.
 *
 * An encode error is answered, not thrown: the worker (and its warmed-up wasm instance) stays
 * usable for the next batch. Only a crash of the thread itself reaches the pool as a worker error.
 */
import { parentPort } from 'node:worker_threads';
import { ipcToParquet } from './encode';
import { CollectorError } from '../errors';
import { transferable, type EncodeRequest, type EncodeResponse } from './worker-protocol';

function handle(request: EncodeRequest): { response: EncodeResponse; transfer: ArrayBuffer[] } {
  try {
    const encoded = ipcToParquet(request.ipc, request.metadata, request.options, request.columns);
    const bytes = transferable(encoded);
    return { response: { id: request.id, ok: true, bytes }, transfer: [bytes.buffer] };
  } catch (error) {
    return { response: failure(request.id, error), transfer: [] };
  }
}

function failure(id: number, error: unknown): EncodeResponse {
  const cause = error instanceof Error ? error : new Error(String(error));
  return {
    id,
    ok: false,
    code: error instanceof CollectorError ? error.code : null,
    message: cause.message,
    stack: cause.stack,
  };
}

const port = parentPort;
if (port === null) {
  throw new Error('encode-worker must run in a worker thread (see EncoderPool)');
}
port.on('message', (request: EncodeRequest) => {
  const { response, transfer } = handle(request);
  port.postMessage(response, transfer);
});
