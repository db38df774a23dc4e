import { createHash } from 'node:crypto';
import { isPayloadMap, type Payload } from './decode';
import { WholeFloat } from '../parquet/schema';

/**
 * The seed's flattening rules, as its program applies them:
 * - a dict under the key `data`, at any depth, has its fields lifted to the top level, unprefixed;
 * - any other dict has its fields joined to its own (already joined) key with `_`;
 * - a list becomes JSON text, an empty list becomes null;
 * - everything else is kept as it is.
 * Names that collide are resolved later, by the buffer (see buffer.ts), so that no value is lost.
 *
 * Any key a producer sends becomes a column name by one rule (`columnKey`), never a reason to
 * dead-letter the record: an empty key becomes `_`, each control character (U+0000–U+001F, U+007F)
 * becomes `%XX` (its code in hex), and a joined name longer than 255 characters keeps its first 240
 * and `~` with 8 hex digits of a hash of the whole name, so long names stay distinct. Everything
 * else (`/`, `.`, spaces, any Unicode) is kept: column names never become paths, and Parquet,
 * DuckDB, Polars, pyarrow and Spark take them (quoted where their syntax needs it).
 */

export type FlatValue = boolean | number | bigint | string | Uint8Array | Date | SourceText | WholeFloat | null;

/**
 * An ASCII text value the MessagePack reader left in the message's bytes (msgpack-flatten.ts), so
 * that a text column copies the bytes instead of a string being made and dropped per value. One
 * object per field position, reused for every message: whoever keeps the value keeps `text()`.
 */
export class SourceText {
  source: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;

  text(): string {
    return Buffer.from(this.source.buffer, this.source.byteOffset + this.start, this.end - this.start).toString('latin1');
  }
}

export type PlainValue = Exclude<FlatValue, SourceText | WholeFloat>;

/** A field's value as a plain value (the text of a SourceText, the number of a WholeFloat). */
export function plainValue(value: FlatValue): PlainValue {
  if (value instanceof SourceText) return value.text();
  return value instanceof WholeFloat ? value.value : value;
}

/** Reused output of one flatten call: parallel arrays of column names and values, in payload order. */
export interface FlatFields {
  names: string[];
  values: FlatValue[];
  /** Fields written so far by the flatten call under way (the arrays are trimmed to it at the end). */
  filled: number;
  /** The reusable SourceText of each field position (see SourceText). */
  texts: SourceText[];
  /** The reusable WholeFloat of each field position (see parquet/schema.ts WholeFloat). */
  floats: WholeFloat[];
  /**
   * A name or text value holds U+FFFD. The MessagePack decoder puts it where string bytes were not
   * UTF-8, so the caller checks the raw value (see decode.ts `hasInvalidUtf8Strings`).
   */
  sawReplacementCharacter: boolean;
}

export interface FlattenLimits {
  /** Nesting deeper than this is rejected rather than turned into thousands of joined names. */
  readonly maxDepth: number;
  /** More flattened fields than this in one message are rejected (it would explode the schema). */
  readonly maxFields: number;
}

export type FlattenFailureReason = 'too-deep' | 'too-many-fields';

export interface FlattenFailure {
  readonly reason: FlattenFailureReason;
  readonly message: string;
}

const REPLACEMENT_CHARACTER = '\ufffd';
const MAX_COLUMN_NAME_LENGTH = 255;
const KEPT_PREFIX_LENGTH = 240;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

export function createFlatFields(): FlatFields {
  return { names: [], values: [], filled: 0, texts: [], floats: [], sawReplacementCharacter: false };
}

/** Fills `out` with the flattened fields of `payload`; returns a failure instead when it must be dead-lettered. */
export function flattenPayload(payload: Payload, out: FlatFields, limits: FlattenLimits): FlattenFailure | null {
  // Overwritten in place, then trimmed: emptying the arrays first would make V8 drop their backing
  // stores and grow them again for every message (measured: 300 bytes of garbage per message).
  out.filled = 0;
  out.sawReplacementCharacter = false;
  const failure = flattenInto(payload, '', 1, out, limits);
  out.names.length = out.filled;
  out.values.length = out.filled;
  return failure;
}

function flattenInto(map: Payload, prefix: string, depth: number, out: FlatFields, limits: FlattenLimits): FlattenFailure | null {
  if (depth > limits.maxDepth) {
    return { reason: 'too-deep', message: `payload nests deeper than ${limits.maxDepth} levels` };
  }
  for (const rawKey in map) {
    const value = map[rawKey];
    const key = columnKey(rawKey);
    let name = prefix === '' ? key : joinedName(prefix, key);
    if (name.length > MAX_COLUMN_NAME_LENGTH) name = shortenedName(name);
    if (isPayloadMap(value)) {
      const failure = flattenInto(value, key === 'data' ? '' : name, depth + 1, out, limits);
      if (failure !== null) return failure;
      continue;
    }
    const flat = Array.isArray(value) ? listToJson(value) : toFlatValue(value);
    if ((typeof flat === 'string' && flat.includes(REPLACEMENT_CHARACTER)) || name.includes(REPLACEMENT_CHARACTER)) out.sawReplacementCharacter = true;
    out.names[out.filled] = name;
    out.values[out.filled] = flat;
    out.filled++;
    if (out.filled > limits.maxFields) {
      return { reason: 'too-many-fields', message: `payload has more than ${limits.maxFields} fields` };
    }
  }
  return null;
}

/** Keys already made column names, and joined names already built: messages of a topic repeat them. */
const NAME_CACHE_LIMIT = 10_000;
const columnKeys = new Map<string, string>();
const joinedNames = new Map<string, Map<string, string>>();

export function joinedName(prefix: string, key: string): string {
  let byKey = joinedNames.get(prefix);
  if (byKey === undefined) {
    if (joinedNames.size >= NAME_CACHE_LIMIT) return `${prefix}_${key}`;
    byKey = new Map();
    joinedNames.set(prefix, byKey);
  }
  let name = byKey.get(key);
  if (name === undefined) {
    name = `${prefix}_${key}`;
    if (byKey.size < NAME_CACHE_LIMIT) byKey.set(key, name);
  }
  return name;
}

/** A payload key as a column name (see the module doc). */
export function columnKey(key: string): string {
  const known = columnKeys.get(key);
  if (known !== undefined) return known;
  const name = key === '' ? '_' : key.replace(CONTROL_CHARACTERS, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (columnKeys.size < NAME_CACHE_LIMIT) columnKeys.set(key, name);
  return name;
}

/** A name over the length limit: its start and a hash of all of it. */
export function shortenedName(name: string): string {
  return `${name.slice(0, KEPT_PREFIX_LENGTH)}~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

function toFlatValue(value: unknown): FlatValue {
  if (value === undefined || value === null) return null;
  switch (typeof value) {
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'string':
      return value;
    default:
      break;
  }
  if (value instanceof Uint8Array || value instanceof Date || value instanceof WholeFloat) return value;
  // Anything else a decoder may hand over (a Map with non-string keys, say) is kept as JSON text.
  return JSON.stringify(value, jsonReplacer);
}

/** The seed stores lists as JSON text and an empty list as null. */
export function listToJson(list: readonly unknown[]): string | null {
  if (list.length === 0) return null;
  return JSON.stringify(list, jsonReplacer);
}

/** JSON.stringify's replacer for values JSON has no form of: bigints as text, bytes as base64. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
