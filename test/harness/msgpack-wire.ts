import { pack } from 'msgpackr';

/**
 * MessagePack as producers in other languages write it: msgpackr packs a whole JavaScript number
 * (10.0) as an integer, while Python, Go or Java write a float as a float64 whatever its value.
 * `float(10)` marks a value to be written as a float64 (or float32), the rest is msgpackr's.
 */

export class WireFloat {
  constructor(
    readonly value: number,
    readonly width: 32 | 64,
  ) {}
}

export function float(value: number, width: 32 | 64 = 64): WireFloat {
  return new WireFloat(value, width);
}

export type WireValue = WireFloat | null | boolean | number | bigint | string | Date | Uint8Array | readonly unknown[] | { readonly [key: string]: WireValue };

/** A map (string keys) as MessagePack bytes, floats marked by `float` written as floats. */
export function packWire(map: { readonly [key: string]: WireValue }): Buffer {
  const entries = Object.entries(map);
  const parts: Buffer[] = [mapHeader(entries.length)];
  for (const [key, value] of entries) parts.push(pack(key), packValue(value));
  return Buffer.concat(parts);
}

function packValue(value: WireValue): Buffer {
  if (value instanceof WireFloat) {
    const bytes = Buffer.alloc(value.width === 64 ? 9 : 5);
    bytes[0] = value.width === 64 ? 0xcb : 0xca;
    if (value.width === 64) bytes.writeDoubleBE(value.value, 1);
    else bytes.writeFloatBE(value.value, 1);
    return bytes;
  }
  if (isPlainMap(value)) return packWire(value);
  return pack(value);
}

function isPlainMap(value: WireValue): value is { readonly [key: string]: WireValue } {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function mapHeader(entries: number): Buffer {
  if (entries < 16) return Buffer.from([0x80 + entries]);
  const header = Buffer.alloc(3);
  header[0] = 0xde;
  header.writeUInt16BE(entries, 1);
  return header;
}
