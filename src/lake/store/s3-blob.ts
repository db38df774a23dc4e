import { ReadableStream, TextDecoderStream } from 'node:stream/web';

/** Reads bytes [start, end) of the object; called only for a non-empty range. */
export type RangeReader = (start: number, end: number) => Promise<Uint8Array>;

/**
 * A Blob whose bytes stay in the store until asked for: slicing is free and each read is one
 * ranged GET. parquet-wasm's `ParquetFile.fromFile` uses exactly `size`, `slice(start, end)` and
 * the slice's `arrayBuffer()` (wasm-bindgen's web_sys::Blob bindings, no instanceof check), so a
 * footer costs two small requests and a row group one.
 */
export class RangedBlob implements Blob {
  readonly type = '';

  constructor(
    private readonly readRange: RangeReader,
    private readonly offset: number,
    readonly size: number,
  ) {}

  /** The Blob specification's slice: negative positions count from the end, both are clamped. */
  slice(start = 0, end = this.size): Blob {
    const from = clampPosition(start, this.size);
    const to = clampPosition(end, this.size);
    return new RangedBlob(this.readRange, this.offset + from, Math.max(to - from, 0));
  }

  async bytes(): Promise<Uint8Array> {
    if (this.size === 0) return new Uint8Array(0);
    return this.readRange(this.offset, this.offset + this.size);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return ownArrayBuffer(await this.bytes());
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        controller.enqueue(await this.bytes());
        controller.close();
      },
    });
  }

  /** Part of Blob since Node 24.19: the bytes decoded as UTF-8, as the specification defines it. */
  textStream(): ReadableStream<string> {
    return this.stream().pipeThrough(new TextDecoderStream());
  }
}

export function clampPosition(position: number, size: number): number {
  const integer = Math.trunc(position);
  return integer < 0 ? Math.max(size + integer, 0) : Math.min(integer, size);
}

/** The bytes' own ArrayBuffer when they fill it (the usual case), else a copy of just them. */
function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer;
  return bytes.slice().buffer;
}
