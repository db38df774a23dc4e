import { describeError } from '../../errors';
import { isFenceExpired, type Body, type LakeStore, type ListOptions, type Listing, type StoredObject } from './lake-store';

/**
 * Any LakeStore, with every request reported: what it was, how long it took, the bytes it wrote
 * and how it failed. The store's own code stays free of metrics; Telemetry counts and logs.
 */

export type StoreOperation = 'create' | 'replace' | 'read' | 'open' | 'stat' | 'list' | 'remove' | 'sweep' | 'probe' | 'check';

export interface StoreRequest {
  readonly operation: StoreOperation;
  readonly durationMs: number;
  /** Bytes written to the store by the request. */
  readonly bytesWritten: number;
  /** What the request threw, or undefined when it succeeded. */
  readonly error?: unknown;
}

export interface StoreEvents {
  storeRequest(request: StoreRequest): void;
}

/** A request waiting longer than this means the store is not answering (a frozen server, a hung connection). */
const STALLED_AFTER_MS = 30_000;

export class MeasuredStore implements LakeStore {
  readonly location: string;
  private readonly inFlight = new Set<number>();
  /** The first failure since the last request that succeeded. */
  private failure: { readonly error: unknown; readonly atMs: number } | null = null;

  constructor(
    private readonly inner: LakeStore,
    private readonly events: StoreEvents,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.location = inner.location;
  }

  create(key: string, body: Body, stillValid?: () => boolean): Promise<boolean> {
    const { counted, bytes } = countedBody(body);
    return this.measure('create', () => this.inner.create(key, counted, stillValid), bytes);
  }

  replace(key: string, body: Body): Promise<void> {
    const { counted, bytes } = countedBody(body);
    return this.measure('replace', () => this.inner.replace(key, counted), bytes);
  }

  read(key: string): Promise<Uint8Array | null> {
    return this.measure('read', () => this.inner.read(key));
  }

  open(key: string): Promise<Blob> {
    return this.measure('open', () => this.inner.open(key));
  }

  stat(key: string): Promise<StoredObject | null> {
    return this.measure('stat', () => this.inner.stat(key));
  }

  list(prefix: string, options?: ListOptions): Promise<Listing> {
    return this.measure('list', () => this.inner.list(prefix, options));
  }

  remove(keys: readonly string[]): Promise<void> {
    return keys.length === 0 ? Promise.resolve() : this.measure('remove', () => this.inner.remove(keys));
  }

  now(): Promise<number> {
    return this.inner.now();
  }

  sweepAbandoned(minAgeMs: number): Promise<string[]> {
    return this.measure('sweep', () => this.inner.sweepAbandoned(minAgeMs));
  }

  probe(): Promise<string | null> {
    return this.measure('probe', () => this.inner.probe());
  }

  check(): Promise<string | null> {
    return this.measure('check', () => this.inner.check());
  }

  close(): void {
    this.inner.close();
  }

  /**
   * Null while the store answers; else why not, for readiness: its last request failed and none has
   * succeeded since, or a request has waited too long.
   */
  problem(): string | null {
    const now = this.clock();
    const oldest = Math.min(...this.inFlight);
    if (now - oldest > STALLED_AFTER_MS) return `a request has waited ${Math.round((now - oldest) / 1000)} s for an answer`;
    if (this.failure !== null) return `failing for ${Math.round((now - this.failure.atMs) / 1000)} s: ${describeError(this.failure.error)}`;
    return null;
  }

  private async measure<T>(operation: StoreOperation, request: () => Promise<T>, bytesWritten: () => number = () => 0): Promise<T> {
    const started = this.clock();
    // Two requests may start in the same millisecond: nudge the key, the age stays right to a millisecond.
    let key = started;
    while (this.inFlight.has(key)) key += 1e-6;
    this.inFlight.add(key);
    try {
      const result = await request();
      this.failure = null;
      this.events.storeRequest({ operation, durationMs: this.clock() - started, bytesWritten: bytesWritten() });
      return result;
    } catch (error) {
      // A create called off by its caller (stillValid) is not the store failing.
      if (isFenceExpired(error)) throw error;
      this.failure ??= { error, atMs: this.clock() };
      this.events.storeRequest({ operation, durationMs: this.clock() - started, bytesWritten: 0, error });
      throw error;
    } finally {
      this.inFlight.delete(key);
    }
  }
}

async function* countChunks(chunks: AsyncIterable<Uint8Array>, count: (size: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    count(chunk.byteLength);
    yield chunk;
  }
}

/** The body, and how many of its bytes went out (all of them for bytes in memory, as streamed otherwise). */
function countedBody(body: Body): { counted: Body; bytes: () => number } {
  if (body instanceof Uint8Array) return { counted: body, bytes: () => body.byteLength };
  let bytes = 0;
  return { counted: countChunks(body, (size) => (bytes += size)), bytes: () => bytes };
}
