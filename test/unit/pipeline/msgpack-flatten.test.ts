import { Packr, pack } from 'msgpackr';
import { decodeValue } from '../../../src/pipeline/decode';
import { createFlatFields, flattenPayload, plainValue, type FlatFields, type PlainValue } from '../../../src/pipeline/flatten';
import { flattenMessagePack } from '../../../src/pipeline/msgpack-flatten';
import { markWholeFloats } from '../../../src/pipeline/msgpack-floats';
import { WholeFloat } from '../../../src/parquet/schema';
import { float, packWire, type WireValue } from '../../harness/msgpack-wire';
import { seededRandom } from '../../harness/random';
import { SEED_EXAMPLE, SEED_EXAMPLE_FIELDS } from './seed-example';

const limits = { maxDepth: 6, maxFields: 40 };

/** A field's value, a whole float of the wire told apart from an integer. */
type Wire = PlainValue | { readonly float: number };

function wire(value: FlatFields['values'][number]): Wire {
  return value instanceof WholeFloat ? { float: value.value } : plainValue(value);
}

/** The general path's fields: msgpackr, then flattenPayload and markWholeFloats; null when it dead-letters the value. */
function generalFields(bytes: Uint8Array): Array<[string, Wire]> | null {
  const decoded = decodeValue(bytes, { maxValueBytes: 1 << 20 });
  if (!decoded.ok || decoded.payload === null) return null;
  const out = createFlatFields();
  if (flattenPayload(decoded.payload, out, limits) !== null) return null;
  markWholeFloats(bytes, out);
  return out.names.map((name, i) => [name, wire(out.values[i])]);
}

/** The fast path's fields, or null when it leaves the value to the general path. */
function fastFields(bytes: Uint8Array, out = createFlatFields()): Array<[string, Wire]> | null {
  if (!flattenMessagePack(bytes, out, limits)) return null;
  return out.names.map((name, i) => [name, wire(out.values[i])]);
}

const KEYS = ['data', 'a', 'b', 'symbol', 'price', 'meta', 'x y', '', 'k\u0001', '7up', '__proto__', 'é', 'kafka_offset', 'a_b'];

function randomValue(next: () => number, depth: number): WireValue {
  const pick = Math.floor(next() * 16);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor(next() * 200) - 100;
    case 3:
      return Math.floor(next() * 2 ** 40);
    case 4:
      return next() < 0.5 ? next() * 1000 : float(Math.floor(next() * 100));
    case 5:
      return 'AAPL';
    case 6:
      return 'x'.repeat(Math.floor(next() * 40));
    case 7:
      return 'café';
    case 8:
      return [1, 'two'];
    case 9:
      return [];
    case 10:
      return 2n ** 60n;
    case 11:
      return new Date(1_700_000_000_000);
    case 12:
      return Buffer.from([1, 2, 3]);
    default:
      return depth < 8 ? randomMap(next, depth + 1) : 'leaf';
  }
}

function randomMap(next: () => number, depth: number): Record<string, WireValue> {
  const map: Record<string, WireValue> = {};
  const entries = Math.floor(next() * 5);
  // defineProperty: assigning to __proto__ would set the prototype instead of adding a key.
  for (let i = 0; i < entries; i++) Object.defineProperty(map, KEYS[Math.floor(next() * KEYS.length)], { value: randomValue(next, depth), enumerable: true, configurable: true, writable: true });
  return map;
}

describe('flattenMessagePack', () => {
  it("reads the seed's example message as the general path does", () => {
    const message = pack(SEED_EXAMPLE);
    expect(fastFields(message)).toEqual(generalFields(message));
    expect(fastFields(message)).toEqual(SEED_EXAMPLE_FIELDS);
  });

  it('agrees with the general path on 5,000 random payloads, or leaves them to it', () => {
    const next = seededRandom(7);
    const out = createFlatFields();
    let taken = 0;
    for (let n = 0; n < 5000; n++) {
      const bytes = packWire(randomMap(next, 1));
      const fast = fastFields(bytes, out);
      if (fast === null) continue;
      taken++;
      expect(fast).toEqual(generalFields(bytes));
    }
    // The generator mixes in what the fast path leaves alone, but most payloads are plain.
    expect(taken).toBeGreaterThan(1500);
  });

  it('reads every integer and float width as msgpackr does, bigints past 2^53', () => {
    const values = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53), 0.5, -1e300, Number.NaN];
    for (const value of values) {
      const bytes = pack({ v: value });
      expect([value, fastFields(bytes)]).toEqual([value, generalFields(bytes)]);
    }
    // 64-bit words written directly: 2^53 + 1 and -(2^53) - 1 must come back exact, as bigints.
    const uint64 = Buffer.from([0x81, 0xa1, 0x76, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 1]);
    const int64 = Buffer.from([0x81, 0xa1, 0x76, 0xd3, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const exact = Buffer.from([0x81, 0xa1, 0x76, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]);
    expect(fastFields(uint64)).toEqual([['v', 2n ** 53n + 1n]]);
    expect(fastFields(int64)).toEqual([['v', -(2n ** 53n) - 1n]]);
    expect(fastFields(exact)).toEqual([['v', 2 ** 53]]);
    for (const bytes of [uint64, int64, exact]) expect(fastFields(bytes)).toEqual(generalFields(bytes));
  });

  it.each<[string, Uint8Array]>([
    ['a list', pack({ tags: [1] })],
    ['binary', pack({ raw: Buffer.from([1]) })],
    ['a timestamp extension', pack({ at: new Date(0) })],
    ['a 32-bit float', new Packr({ useFloat32: 1 }).pack({ f: 1.5 })],
    ['non-ASCII text', pack({ name: 'café' })],
    ['a non-ASCII key', pack({ café: 1 })],
    ['a key JavaScript orders first', pack({ b: 1, '2': 2 })],
    ['__proto__', pack({ __proto__x: 1, ['__proto__']: 2 })],
    ['a map key repeated', Buffer.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02])],
    ['a name reached twice', pack({ a_b: 1, a: { b: 2 } })],
    ['bytes after the map', Buffer.concat([pack({ a: 1 }), Buffer.from([0x01])])],
    ['a truncated map', pack({ a: 1, b: 'text' }).subarray(0, 6)],
    ['a value that is not a map', pack([1, 2])],
    ['JSON text', Buffer.from('{"a":1}')],
    ['nesting past the limit', pack({ a: { b: { c: { d: { e: { f: { g: 1 } } } } } } })],
    ['more fields than the limit', pack(Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`f${i}`, i])))],
  ])('leaves %s to the general path', (_what, bytes) => {
    expect(fastFields(bytes)).toBeNull();
  });

  it('gives a key the same column name as the general path when its bytes repeat in later messages', () => {
    const out = createFlatFields();
    const first = pack({ metadata: { exchange: 'NYSE' }, data: { exchange: 'ARCA' } });
    const second = pack({ metadata: { exchange: 'BATS' }, data: { other: 1 } });
    const third = pack({ data: { exchange: 'BATS' }, metadata: { exchange: 'NYSE' } });
    for (const bytes of [first, second, third, first]) expect(fastFields(bytes, out)).toEqual(generalFields(bytes));
  });

  it('keeps a whole float of the wire a float, as the general path marks it', () => {
    const fast = packWire({ price: float(10), size: 10, nested: { bid: float(-0), ask: float(2.5) } });
    expect(fastFields(fast)).toEqual([
      ['price', { float: 10 }],
      ['size', 10],
      ['nested_bid', { float: -0 }],
      ['nested_ask', 2.5],
    ]);
    expect(fastFields(fast)).toEqual(generalFields(fast));
  });

  it('keeps text in the message bytes until asked for it', () => {
    const out = createFlatFields();
    expect(flattenMessagePack(pack({ s: 'abc', n: 1 }), out, limits)).toBe(true);
    expect(out.values[0]).not.toBe('abc');
    expect(plainValue(out.values[0])).toBe('abc');
    expect(out.values[1]).toBe(1);
  });
});
