import { columnKey, shortenedName, joinedName, SourceText, type FlatFields, type FlattenLimits } from './flatten';
import { WholeFloat } from '../parquet/schema';

/**
 * The common record's way through decode and flatten in one pass over its bytes: a MessagePack
 * map read straight into flat fields, without building the payload object first.
 *
 * It takes only what it can read exactly as `decodeValue` + `flattenPayload` + `markWholeFloats`
 * would (a whole float64 as a WholeFloat), and answers `false` for anything else, leaving the
 * record to them: lists, binary, extensions (timestamps),
 * 32-bit floats, non-ASCII text, keys that are not short strings or that JavaScript objects order
 * differently from the wire (array indices) or rename (`__proto__`), a key repeated in one map,
 * nesting or field counts past the limits, and bytes after the map. Messages of one topic share
 * their keys, so a key's column name is found by comparing its bytes with the name found at the
 * same place in an earlier message, not by building the key's string again; text values stay in
 * the message's bytes as SourceText for the buffer to copy.
 */

interface KeySlot {
  readonly bytes: Uint8Array;
  /** The joined name of the enclosing maps ('' at the top level or under `data`). */
  readonly prefix: string;
  readonly name: string;
  /** The key's column name when its value is a map: `prefix` of the keys inside it. */
  readonly innerPrefix: string;
}

const MAX_CACHED_KEY_BYTES = 31;
const MAX_COLUMN_NAME_LENGTH = 255;
const TWO_TO_32 = 2 ** 32;
const float64Bytes = new Uint8Array(8);
const float64View = new Float64Array(float64Bytes.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// The message under way, module-wide as in msgpackr: reads of these beat reads of an object's fields.
let src: Uint8Array = new Uint8Array(0);
let position = 0;
let slotIndex = 0;
let fields: FlatFields = { names: [], values: [], filled: 0, texts: [], floats: [], sawReplacementCharacter: false };
let maxDepth = 0;
let maxFields = 0;
/** Where each key of earlier messages was found, by its place in the walk. */
const slots: KeySlot[] = [];
/** Names of the last message whose names were checked for repeats (compared by reference). */
let checkedNames: string[] = [];

/**
 * Fills `out` from `bytes` when the fast reading applies (see the module doc) and returns true;
 * returns false, with `out` in no defined state, when the record must take the general path.
 */
export function flattenMessagePack(bytes: Uint8Array, out: FlatFields, limits: FlattenLimits): boolean {
  src = bytes;
  position = 0;
  slotIndex = 0;
  fields = out;
  maxDepth = limits.maxDepth;
  maxFields = limits.maxFields;
  out.filled = 0;
  out.sawReplacementCharacter = false;
  const entries = mapLength();
  const read = entries >= 0 && readMap(entries, '', 1) && position === bytes.length;
  src = EMPTY;
  if (!read) return false;
  // Trimmed only when the count changed: setting a length costs a call even when it is the same.
  if (out.names.length !== out.filled) {
    out.names.length = out.filled;
    out.values.length = out.filled;
  }
  return namesAreDistinct(out.names);
}

const EMPTY = new Uint8Array(0);

function readMap(entries: number, prefix: string, depth: number): boolean {
  if (depth > maxDepth) return false;
  for (let entry = 0; entry < entries; entry++) {
    const slot = keySlot(prefix);
    if (slot === null) return false;
    const nested = mapLength();
    if (nested >= 0) {
      if (!readMap(nested, slot.innerPrefix, depth + 1)) return false;
      continue;
    }
    if (nested === END || !readValue()) return false;
    fields.names[fields.filled] = slot.name;
    fields.filled++;
    if (fields.filled > maxFields) return false;
  }
  return true;
}

const NOT_A_MAP = -1;
const END = -2;

/** The entry count when a map starts at the position (and moves past its header), else NOT_A_MAP or END. */
function mapLength(): number {
  if (position >= src.length) return END;
  const token = src[position];
  if (token >= 0x80 && token <= 0x8f) {
    position++;
    return token - 0x80;
  }
  if (token === 0xde) {
    if (position + 3 > src.length) return END;
    position += 3;
    return (src[position - 2] << 8) | src[position - 1];
  }
  if (token === 0xdf) {
    if (position + 5 > src.length) return END;
    position += 5;
    return readUint32(position - 4);
  }
  return NOT_A_MAP;
}

/** The slot of the key at the position (moving past it), reusing the one found here before when its bytes match. */
function keySlot(prefix: string): KeySlot | null {
  if (position >= src.length) return null;
  const token = src[position];
  if (token < 0xa0 || token > 0xbf) return null;
  const start = position + 1;
  const end = start + (token - 0xa0);
  if (end > src.length) return null;
  position = end;
  const index = slotIndex++;
  const known = slots[index];
  if (known !== undefined && known.prefix === prefix && sameBytes(known.bytes, start, end)) return known;
  const slot = newSlot(start, end, prefix);
  if (slot !== null) slots[index] = slot;
  return slot;
}

function newSlot(start: number, end: number, prefix: string): KeySlot | null {
  if (end - start > MAX_CACHED_KEY_BYTES || !isAscii(start, end)) return null;
  const key = Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('latin1');
  // Integer-like keys come first in a JavaScript object whatever their wire order, and msgpackr
  // renames __proto__: the general path owns both.
  const first = key.charCodeAt(0);
  if (key === '__proto__' || (first >= 0x30 && first <= 0x39)) return null;
  const column = columnKey(key);
  let name = prefix === '' ? column : joinedName(prefix, column);
  if (name.length > MAX_COLUMN_NAME_LENGTH) name = shortenedName(name);
  return { bytes: src.slice(start, end), prefix, name, innerPrefix: column === 'data' ? '' : name };
}

function sameBytes(known: Uint8Array, start: number, end: number): boolean {
  if (known.length !== end - start) return false;
  for (let i = 0; i < known.length; i++) if (known[i] !== src[start + i]) return false;
  return true;
}

function isAscii(start: number, end: number): boolean {
  let bits = 0;
  for (let i = start; i < end; i++) bits |= src[i];
  return bits < 0x80;
}

/** Reads the scalar at the position into the next field's value as msgpackr decodes it; false for what the fast path leaves alone. */
function readValue(): boolean {
  const token = src[position++];
  if (token <= 0x7f) return put(token);
  if (token >= 0xe0) return put(token - 0x100);
  if (token >= 0xa0 && token <= 0xbf) return putText(token - 0xa0);
  const body = position;
  switch (token) {
    case 0xc0:
      return put(null);
    case 0xc2:
      return put(false);
    case 0xc3:
      return put(true);
    case 0xcb:
      return skip(8) && putFloat(readFloat64(body));
    case 0xcc:
      return skip(1) && put(src[body]);
    case 0xcd:
      return skip(2) && put((src[body] << 8) | src[body + 1]);
    case 0xce:
      return skip(4) && put(readUint32(body));
    case 0xcf:
      return skip(8) && put(uint64(readUint32(body), readUint32(body + 4), body));
    case 0xd0:
      return skip(1) && put((src[body] << 24) >> 24);
    case 0xd1:
      return skip(2) && put((((src[body] << 8) | src[body + 1]) << 16) >> 16);
    case 0xd2:
      return skip(4) && put(readUint32(body) | 0);
    case 0xd3:
      return skip(8) && put(int64(readUint32(body) | 0, readUint32(body + 4), body));
    case 0xd9:
      return skip(1) && putText(src[body]);
    case 0xda:
      return skip(2) && putText((src[body] << 8) | src[body + 1]);
    case 0xdb:
      return skip(4) && putText(readUint32(body));
    default:
      return false;
  }
}

function skip(count: number): boolean {
  position += count;
  return position <= src.length;
}

function put(value: boolean | number | bigint | null): boolean {
  fields.values[fields.filled] = value;
  return true;
}

/** A float of the wire: a whole one is marked so that its column is a double (see WholeFloat). */
function putFloat(value: number): boolean {
  if (!Number.isSafeInteger(value)) return put(value);
  let float = fields.floats[fields.filled];
  if (float === undefined) {
    float = new WholeFloat(value);
    fields.floats[fields.filled] = float;
  }
  float.value = value;
  fields.values[fields.filled] = float;
  return true;
}

function putText(length: number): boolean {
  const start = position;
  const end = start + length;
  if (end > src.length || !isAscii(start, end)) return false;
  position = end;
  let text = fields.texts[fields.filled];
  if (text === undefined) {
    text = new SourceText();
    fields.texts[fields.filled] = text;
  }
  text.source = src;
  text.start = start;
  text.end = end;
  fields.values[fields.filled] = text;
  return true;
}

function readUint32(at: number): number {
  return ((src[at] << 24) >>> 0) + ((src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3]);
}

function readFloat64(at: number): number {
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) float64Bytes[i] = src[at + 7 - i];
  else for (let i = 0; i < 8; i++) float64Bytes[i] = src[at + i];
  return float64View[0];
}

// msgpackr's 'auto' for 64-bit integers: a number up to 2^53 in magnitude, a bigint beyond. The
// high word decides exactly (a double of the whole value would round past 2^53).
const HIGH_WORD_OF_2_TO_53 = 0x200000;

function uint64(high: number, low: number, at: number): number | bigint {
  if (high < HIGH_WORD_OF_2_TO_53 || (high === HIGH_WORD_OF_2_TO_53 && low === 0)) return high * TWO_TO_32 + low;
  return new DataView(src.buffer, src.byteOffset, src.byteLength).getBigUint64(at);
}

function int64(high: number, low: number, at: number): number | bigint {
  if ((high >= -HIGH_WORD_OF_2_TO_53 && high < HIGH_WORD_OF_2_TO_53) || (high === HIGH_WORD_OF_2_TO_53 && low === 0)) return high * TWO_TO_32 + low;
  return new DataView(src.buffer, src.byteOffset, src.byteLength).getBigInt64(at);
}

/** A flat name twice in one message is a repeated key (or a collision): the general path decides. */
function namesAreDistinct(names: string[]): boolean {
  if (checkedNames.length === names.length) {
    let same = true;
    for (let i = 0; i < names.length && same; i++) same = checkedNames[i] === names[i];
    if (same) return true;
  }
  if (new Set(names).size !== names.length) return false;
  checkedNames = names.slice();
  return true;
}
