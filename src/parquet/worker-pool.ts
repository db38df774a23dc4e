/**
 * Encodes sealed batches in up to `size` worker threads (the seed's MAX_WORKERS), so the consumer
 * loop keeps fetching while Parquet files are compressed.
 *
 * Split of the work (measured, 200k rows x 13 columns): `encode` validates the batch and builds its
 * Arrow IPC stream on the calling thread (~150 ms, about what structured-cloning the batch's JS
 * arrays would cost there anyway), then transfers that one buffer to a worker, which only runs the
 * Parquet writer. Cloning the batch instead made each worker spend ~400 ms more deserializing it
 * and building Arrow vectors, and almost tripled the time to a finished file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EncodeOptions, SealedBatch } from './batch';
import { batchToIpc, columnLayout, validateEncodeOptions } from './encode';
import { CollectorError } from '../errors';
import {
  isEncodeResponse,
  transferable,
  type EncodeRequest,
  type EncodeResponse,
} from './worker-protocol';

export interface EncoderPoolOptions {
  /** Most worker threads alive at once; they start on demand. */
  readonly size: number;
  /** Used for every `encode` call that does not pass its own. */
  readonly options: EncodeOptions;
  /** Compiled worker script; defaults to `resolveWorkerScript(__filename)`. */
  readonly workerScript?: string;
}

interface Settle {
  readonly resolve: (bytes: Uint8Array) => void;
  readonly reject: (error: CollectorError) => void;
}

interface QueuedJob extends Settle {
  readonly request: EncodeRequest;
}

interface RunningJob extends Settle {
  readonly id: number;
}

interface Slot {
  readonly worker: Worker;
  job: RunningJob | null;
}

/**
 * Where the compiled worker lives. Worker threads need JavaScript: from dist/ the worker is this
 * module's sibling; when this module runs from TypeScript source (ts-jest), it is the build output
 * of the same file, dist/parquet/encode-worker.js, so `npm run build` must have run.
 */
export function resolveWorkerScript(moduleFile: string): string {
  const directory = path.dirname(moduleFile);
  return moduleFile.endsWith('.ts')
    ? path.resolve(directory, '..', '..', 'dist', 'parquet', 'encode-worker.js')
    : path.join(directory, 'encode-worker.js');
}

export class EncoderPool {
  private readonly size: number;
  private readonly options: EncodeOptions;
  private readonly script: string;
  private readonly slots: Slot[] = [];
  private readonly queue: QueuedJob[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;

  constructor({ size, options, workerScript }: EncoderPoolOptions) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new RangeError(`EncoderPool size must be a positive integer, got ${size}`);
    }
    const script = workerScript ?? resolveWorkerScript(__filename);
    // Fail at construction, not on the first sealed batch minutes later.
    if (!existsSync(script)) {
      throw new CollectorError(
        'WORKER_SCRIPT_MISSING',
        `encoder worker script not found at ${script}; run "npm run build" first`,
      );
    }
    this.size = size;
    this.options = options;
    this.script = script;
  }

  /** Jobs waiting for a worker plus jobs being encoded. */
  get pending(): number {
    return this.queue.length + this.slots.filter((slot) => slot.job !== null).length;
  }

  /**
   * Resolves with the Parquet file's bytes. The batch is read before this returns (an invalid one
   * rejects with `INVALID_BATCH` without reaching a worker), so the caller may release it at once.
   */
  encode(batch: SealedBatch, options: EncodeOptions = this.options): Promise<Uint8Array> {
    if (this.closing !== null) {
      return Promise.reject(new CollectorError('POOL_CLOSED', 'the encoder pool is closed'));
    }
    let request: EncodeRequest;
    try {
      validateEncodeOptions(options);
      request = {
        id: this.nextId++,
        ipc: transferable(batchToIpc(batch)),
        metadata: batch.metadata,
        columns: columnLayout(batch),
        // Only the known fields, so nothing else on the caller's object has to survive cloning.
        options: { compression: options.compression, rowGroupSize: options.rowGroupSize },
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Stops accepting batches, lets every accepted batch finish (their promises settle as usual),
   * then stops the threads. The caller's shutdown deadline bounds a worker that never answers.
   */
  close(): Promise<void> {
    this.closing ??= this.whenIdle().then(() => this.terminateAll());
    return this.closing;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.freeSlot();
      if (slot === null) break;
      const job = this.queue.shift();
      if (job !== undefined) this.start(slot, job);
    }
    this.notifyIfIdle();
  }

  private freeSlot(): Slot | null {
    const idle = this.slots.find((slot) => slot.job === null);
    if (idle !== undefined) return idle;
    return this.slots.length < this.size ? this.spawn() : null;
  }

  private start(slot: Slot, job: QueuedJob): void {
    const { request, resolve, reject } = job;
    try {
      slot.worker.postMessage(request, [request.ipc.buffer]);
      slot.job = { id: request.id, resolve, reject };
    } catch (error) {
      // Not expected: the request holds only a transferable buffer, strings and numbers.
      reject(
        new CollectorError('ENCODE_FAILED', `could not hand the batch to a worker: ${String(error)}`, {
          cause: error,
        }),
      );
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.script);
    const slot: Slot = { worker, job: null };
    worker.on('message', (message: unknown) => this.onMessage(slot, message));
    worker.on('error', (error) => this.onWorkerLost(slot, 'failed', error));
    worker.on('messageerror', (error) => this.onWorkerLost(slot, 'sent an unreadable message', error));
    worker.on('exit', (code) => this.onWorkerLost(slot, `exited with code ${code}`, undefined));
    this.slots.push(slot);
    return slot;
  }

  private onMessage(slot: Slot, message: unknown): void {
    const job = slot.job;
    if (job === null || !isEncodeResponse(message) || message.id !== job.id) {
      this.onWorkerLost(slot, 'answered out of protocol', undefined);
      return;
    }
    slot.job = null;
    if (message.ok) job.resolve(message.bytes);
    else job.reject(fromResponse(message));
    this.dispatch();
  }

  /** A lost worker is dropped; the next queued batch starts a fresh one. */
  private onWorkerLost(slot: Slot, what: string, cause: unknown): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    void slot.worker.terminate();
    slot.job?.reject(
      new CollectorError('WORKER_FAILED', `encoder worker ${what}`, cause === undefined ? {} : { cause }),
    );
    slot.job = null;
    this.dispatch();
  }

  private whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIfIdle();
    });
  }

  private notifyIfIdle(): void {
    if (this.pending > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async terminateAll(): Promise<void> {
    // Taken out of `slots` first, so their exit events are not mistaken for crashes.
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }
}

function fromResponse(response: Extract<EncodeResponse, { ok: false }>): CollectorError {
  const cause = new Error(response.message);
  if (response.stack !== undefined) cause.stack = response.stack;
  return new CollectorError(response.code ?? 'ENCODE_FAILED', response.message, { cause });
}
