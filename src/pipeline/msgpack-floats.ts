import { WholeFloat } from '../parquet/schema';
import { columnKey, joinedName, shortenedName, type FlatFields } from './flatten';

/**
 * The wire types msgpackr drops, for the general path: it hands `10.0` over as the number 10,
 * which flattenPayload cannot tell from the integer 10. After flattening, this walks the
 * MessagePack bytes once more without decoding values, names the fields whose value was a float32
 * or float64 on the wire (by the same naming rules as flatten.ts), and marks those that hold a
 * whole number as WholeFloat. Messages without a whole number (most that take this path) are not
 * walked at all.
 *
 * Two fields that flatten to one name (resolved later by the buffer's `__dup` columns) are told
 * apart by name only: the last one on the wire decides, as it does for the payload object.
 */

const MAX_COLUMN_NAME_LENGTH = 255;
const utf8 = new TextDecoder();

export function markWholeFloats(bytes: Uint8Array, out: FlatFields): void {
  if (!out.values.some(isWholeNumber)) return;
  const floats = floatFieldNames(bytes);
  if (floats === null) return;
  for (let i = 0; i < out.names.length; i++) {
    const value = out.values[i];
    if (isWholeNumber(value) && floats.get(out.names[i]) === true) out.values[i] = new WholeFloat(value);
  }
}

function isWholeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Each flat field name and whether its (last) value was a float; null when the bytes are not read to the end as one map. */
export function floatFieldNames(bytes: Uint8Array): Map<string, boolean> | null {
  const reader = new Reader(bytes);
  const floats = new Map<string, boolean>();
  const entries = reader.mapHeader();
  if (entries === null || !reader.fields(entries, '', floats)) return null;
  return reader.at === bytes.length ? floats : null;
}

function isIntegerToken(token: number): boolean {
  return token <= 0x7f || token >= 0xe0 || (token >= 0xcc && token <= 0xd3);
}

class Reader {
  at = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The entries of the map fields of `prefix`, recorded into `floats`; false on anything unreadable. */
  fields(entries: number, prefix: string, floats: Map<string, boolean>): boolean {
    for (let entry = 0; entry < entries; entry++) {
      const key = this.key();
      if (key === null) return false;
      const column = columnKey(key);
      let name = prefix === '' ? column : joinedName(prefix, column);
      if (name.length > MAX_COLUMN_NAME_LENGTH) name = shortenedName(name);
      const nested = this.mapHeader();
      if (nested !== null) {
        if (!this.fields(nested, column === 'data' ? '' : name, floats)) return false;
        continue;
      }
      const token = this.bytes[this.at];
      floats.set(name, token === 0xca || token === 0xcb);
      if (!this.skip()) return false;
    }
    return true;
  }

  /** A map's entry count (moving past its header), or null when no map starts here. */
  mapHeader(): number | null {
    const token = this.bytes[this.at];
    if (token >= 0x80 && token <= 0x8f) return this.header(1, token - 0x80);
    if (token === 0xde) return this.header(3, this.uint(1, 2));
    if (token === 0xdf) return this.header(5, this.uint(1, 4));
    return null;
  }

  /** A key as msgpackr makes it a property name: text as itself, an integer as its digits. */
  private key(): string | null {
    const token = this.bytes[this.at];
    const length = this.textLength(token);
    if (length !== null) {
      const start = this.at;
      this.at += length;
      return this.at <= this.bytes.length ? utf8.decode(this.bytes.subarray(start, this.at)) : null;
    }
    if (isIntegerToken(token)) {
      const value = this.integer(token);
      return value === null ? null : String(value);
    }
    return null;
  }

  /** For a text token: moves past its header and answers the byte length; null for other tokens. */
  private textLength(token: number): number | null {
    if (token >= 0xa0 && token <= 0xbf) return this.header(1, token - 0xa0);
    if (token === 0xd9) return this.header(2, this.uint(1, 1));
    if (token === 0xda) return this.header(3, this.uint(1, 2));
    if (token === 0xdb) return this.header(5, this.uint(1, 4));
    return null;
  }

  private integer(token: number): number | bigint | null {
    if (token <= 0x7f) return this.header(1, token);
    if (token >= 0xe0) return this.header(1, token - 0x100);
    const at = this.at + 1;
    const width = 1 << ((token - 0xcc) & 3);
    if (at + width > this.bytes.length) return null;
    const signed = token >= 0xd0;
    let value: number | bigint;
    if (width === 8) value = signed ? this.view.getBigInt64(at) : this.view.getBigUint64(at);
    else if (width === 4) value = signed ? this.view.getInt32(at) : this.view.getUint32(at);
    else if (width === 2) value = signed ? this.view.getInt16(at) : this.view.getUint16(at);
    else value = signed ? this.view.getInt8(at) : this.view.getUint8(at);
    this.at = at + width;
    return typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  /** Moves past one value of any kind; false when the bytes end first or hold no MessagePack token. */
  private skip(): boolean {
    if (this.at >= this.bytes.length) return false;
    const token = this.bytes[this.at];
    const map = this.mapHeader();
    if (map !== null) return this.skipMany(map * 2);
    const text = this.textLength(token);
    if (text !== null) return this.advance(text);
    if (token >= 0x90 && token <= 0x9f) return this.header(1, 0) !== null && this.skipMany(token - 0x90);
    switch (token) {
      case 0xc0:
      case 0xc2:
      case 0xc3:
        return this.advance(1);
      case 0xc4:
        return this.advance(2 + this.uint(1, 1));
      case 0xc5:
        return this.advance(3 + this.uint(1, 2));
      case 0xc6:
        return this.advance(5 + this.uint(1, 4));
      case 0xc7:
        return this.advance(3 + this.uint(1, 1));
      case 0xc8:
        return this.advance(4 + this.uint(1, 2));
      case 0xc9:
        return this.advance(6 + this.uint(1, 4));
      case 0xca:
        return this.advance(5);
      case 0xcb:
        return this.advance(9);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.advance(2 + (1 << (token - 0xd4)));
      case 0xdc:
        return this.skipMany(this.header(3, this.uint(1, 2)));
      case 0xdd:
        return this.skipMany(this.header(5, this.uint(1, 4)));
      default:
        return isIntegerToken(token) && this.integer(token) !== null;
    }
  }

  private skipMany(count: number | null): boolean {
    if (count === null) return false;
    for (let i = 0; i < count; i++) if (!this.skip()) return false;
    return true;
  }

  /** Moves past a header of `size` bytes and answers `value`, or null when the bytes end first. */
  private header(size: number, value: number): number | null {
    if (this.at + size > this.bytes.length) return null;
    this.at += size;
    return value;
  }

  private advance(count: number): boolean {
    this.at += count;
    return this.at <= this.bytes.length;
  }

  /** The unsigned big-endian integer of `width` bytes at `offset` past the position (0 past the end). */
  private uint(offset: number, width: 1 | 2 | 4): number {
    const at = this.at + offset;
    if (at + width > this.bytes.length) return 0;
    if (width === 1) return this.view.getUint8(at);
    return width === 2 ? this.view.getUint16(at) : this.view.getUint32(at);
  }
}
