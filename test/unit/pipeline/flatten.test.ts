import { createFlatFields, flattenPayload, type FlatValue } from '../../../src/pipeline/flatten';
import { SEED_EXAMPLE, SEED_EXAMPLE_FIELDS } from './seed-example';

const limits = { maxDepth: 8, maxFields: 20 };

function flatten(payload: Record<string, unknown>): Array<[string, FlatValue]> {
  const out = createFlatFields();
  const failure = flattenPayload(payload, out, limits);
  if (failure !== null) throw new Error(failure.message);
  return out.names.map((name, i) => [name, out.values[i]]);
}

describe('flattenPayload', () => {
  it("gives the seed's example columns for the seed's example message", () => {
    expect(flatten(SEED_EXAMPLE)).toEqual(SEED_EXAMPLE_FIELDS);
  });

  it.each<[string, Record<string, unknown>, Array<[string, FlatValue]>]>([
    ['lifts `data` at any depth, unprefixed', { metadata: { data: { x: 1 } } }, [['x', 1]]],
    ['joins nested dicts with _', { a: { b: { c: true } } }, [['a_b_c', true]]],
    ['turns a list into JSON text', { tags: [1, 'two', { three: 3 }] }, [['tags', '[1,"two",{"three":3}]']]],
    ['turns an empty list into null', { tags: [] }, [['tags', null]]],
    ['keeps null', { gone: null }, [['gone', null]]],
    ['keeps an empty dict as no column', { empty: {} }, []],
    ['keeps `data` that is not a dict as a plain column', { data: 5 }, [['data', 5]]],
    ['keeps bigints inside lists as decimal text', { ids: [2n ** 62n] }, [['ids', '["4611686018427387904"]']]],
    [
      'keeps colliding names side by side (the buffer resolves them)',
      { symbol: 'X', data: { symbol: 'Y' } },
      [
        ['symbol', 'X'],
        ['symbol', 'Y'],
      ],
    ],
  ])('%s', (_label, payload, expected) => {
    expect(flatten(payload)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['nesting deeper than the limit', nest(12), 'too-deep'],
    ['more fields than the limit', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, i])), 'too-many-fields'],
  ])('rejects %s', (_label, payload, reason) => {
    expect(flattenPayload(payload, createFlatFields(), limits)?.reason).toBe(reason);
  });

  const long = 'k'.repeat(300);
  it.each<[string, Record<string, unknown>, string]>([
    ['an empty key', { '': 1 }, '_'],
    ['a key with /', { 'a/b': 1 }, 'a/b'],
    ['a key with ..', { '../../etc/passwd': 1 }, '../../etc/passwd'],
    ['a key with dots and spaces', { 'a.b c': 1 }, 'a.b c'],
    ['a key with NUL and other control characters', { 'a\u0000b\tc\u007f': 1 }, 'a%00b%09c%7F'],
    ['a unicode key', { 'prix_€_日本': 1 }, 'prix_€_日本'],
    ['an empty key under a dict', { meta: { '': 1 } }, 'meta__'],
  ])('keeps the value of %s, as column %j', (_label, payload, column) => {
    const out = createFlatFields();
    expect(flattenPayload(payload, out, limits)).toBeNull();
    expect([out.names, out.values]).toEqual([[column], [1]]);
  });

  it('shortens a very long name, keeping long names that differ apart', () => {
    const out = createFlatFields();
    expect(flattenPayload({ [`${long}a`]: 1, [`${long}b`]: 2 }, out, limits)).toBeNull();
    expect(out.values).toEqual([1, 2]);
    expect(out.names.map((name) => name.length)).toEqual([249, 249]);
    expect(out.names[0].startsWith(long.slice(0, 240))).toBe(true);
    expect(out.names[0]).not.toBe(out.names[1]);
  });
});

function nest(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}
