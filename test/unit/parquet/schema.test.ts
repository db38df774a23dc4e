import type { ColumnType } from '../../../src/parquet/batch';
import { CollectorError } from '../../../src/errors';
import {
  coerce,
  inferCellType,
  inferColumnType,
  widen,
  widenWith,
  WholeFloat,
  type RawValue,
} from '../../../src/parquet/schema';

const ALL_TYPES: readonly ColumnType[] = ['boolean', 'int64', 'double', 'string', 'binary', 'timestamp_ms'];
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('inferCellType', () => {
  test.each<[string, RawValue, ColumnType | null]>([
    ['null', null, null],
    ['undefined', undefined, null],
    ['true', true, 'boolean'],
    ['false', false, 'boolean'],
    ['zero', 0, 'int64'],
    ['negative integer', -42, 'int64'],
    ['largest safe integer', Number.MAX_SAFE_INTEGER, 'int64'],
    ['integer past 2^53 (already rounded)', 2 ** 60, 'double'],
    ['fraction', 150.25, 'double'],
    ['NaN', Number.NaN, 'double'],
    ['Infinity', Number.POSITIVE_INFINITY, 'double'],
    ['bigint', 2n ** 62n, 'int64'],
    ['smallest int64', -(2n ** 63n), 'int64'],
    ['uint64 past int64 (text, exact)', 2n ** 63n, 'string'],
    ['whole float of the wire', new WholeFloat(10), 'double'],
    ['string', 'AAPL', 'string'],
    ['empty string', '', 'string'],
    ['Uint8Array', bytes(1, 2), 'binary'],
    ['Buffer', Buffer.from('ab'), 'binary'],
    ['Date', new Date(0), 'timestamp_ms'],
    ['invalid Date', new Date(Number.NaN), 'string'],
    ['list', [1, 2], 'string'],
    ['object', { a: 1 }, 'string'],
  ])('%s', (_label, value, expected) => {
    expect(inferCellType(value)).toBe(expected);
  });
});

describe('widen', () => {
  test.each<[ColumnType, ColumnType, ColumnType]>([
    ['int64', 'double', 'double'],
    ['timestamp_ms', 'int64', 'int64'],
    ['timestamp_ms', 'double', 'double'],
    ['boolean', 'int64', 'string'],
    ['boolean', 'double', 'string'],
    ['boolean', 'timestamp_ms', 'string'],
    ['boolean', 'string', 'string'],
    ['int64', 'string', 'string'],
    ['double', 'string', 'string'],
    ['timestamp_ms', 'string', 'string'],
    ['string', 'binary', 'string'],
    ['boolean', 'binary', 'string'],
    ['int64', 'binary', 'string'],
    ['double', 'binary', 'string'],
    ['timestamp_ms', 'binary', 'string'],
  ])('%s with %s is %s, either way round', (a, b, expected) => {
    expect(widen(a, b)).toBe(expected);
    expect(widen(b, a)).toBe(expected);
  });

  test.each(ALL_TYPES.map((type) => [type]))('%s with itself is itself', (type) => {
    expect(widen(type, type)).toBe(type);
  });

  test('is associative, so arrival order never changes the final type', () => {
    for (const a of ALL_TYPES) {
      for (const b of ALL_TYPES) {
        for (const c of ALL_TYPES) {
          expect(widen(widen(a, b), c)).toBe(widen(a, widen(b, c)));
        }
      }
    }
  });

  test('never narrows: the result widens back to itself with either input', () => {
    for (const a of ALL_TYPES) {
      for (const b of ALL_TYPES) {
        const joined = widen(a, b);
        expect(widen(joined, a)).toBe(joined);
        expect(widen(joined, b)).toBe(joined);
      }
    }
  });
});

describe('widenWith / inferColumnType', () => {
  test.each<[string, RawValue[], ColumnType | null]>([
    ['no values', [], null],
    ['only missing values', [null, undefined], null],
    ['integers then a fraction', [1, 2, 2.5], 'double'],
    ['a fraction then integers', [2.5, 1, 2], 'double'],
    ['nulls do not widen', [null, 1, null], 'int64'],
    ['booleans and numbers', [true, 1], 'string'],
    ['strings and bytes', ['a', bytes(1)], 'string'],
    ['dates and integers', [new Date(0), 5], 'int64'],
  ])('%s', (_label, values, expected) => {
    expect(inferColumnType(values)).toBe(expected);
  });

  test('keeps the current type for a missing value', () => {
    expect(widenWith('double', null)).toBe('double');
    expect(widenWith(null, undefined)).toBeNull();
    expect(widenWith(null, 'x')).toBe('string');
  });
});

describe('coerce', () => {
  const at = Date.UTC(2025, 9, 17, 10, 30, 0, 5);
  test.each<[string, RawValue, ColumnType, unknown]>([
    ['null stays null', null, 'int64', null],
    ['undefined becomes null', undefined, 'string', null],
    ['boolean as boolean', true, 'boolean', true],
    ['integer as int64', 7, 'int64', 7],
    ['bigint as int64', 2n ** 62n, 'int64', 2n ** 62n],
    ['Date as int64 (epoch ms)', new Date(at), 'int64', at],
    ['Date as timestamp_ms', new Date(at), 'timestamp_ms', at],
    ['epoch ms as timestamp_ms', at, 'timestamp_ms', at],
    ['integer as double', 7, 'double', 7],
    ['bigint as double', 2n ** 53n, 'double', 2 ** 53],
    ['Date as double', new Date(at), 'double', at],
    ['true as string', true, 'string', 'true'],
    ['false as string', false, 'string', 'false'],
    ['integer as string', -12, 'string', '-12'],
    ['double as string (shortest round-trip form)', 0.1 + 0.2, 'string', '0.30000000000000004'],
    ['NaN as string', Number.NaN, 'string', 'NaN'],
    ['-Infinity as string', Number.NEGATIVE_INFINITY, 'string', '-Infinity'],
    ['bigint as string', 2n ** 64n, 'string', '18446744073709551616'],
    ['Date as string (ISO 8601 UTC)', new Date(at), 'string', '2025-10-17T10:30:00.005Z'],
    ['list as string (JSON)', [1, 'a', null], 'string', '[1,"a",null]'],
    ['object with bigint as string (JSON)', { n: 1n }, 'string', '{"n":"1"}'],
    ['whole float as double', new WholeFloat(10), 'double', 10],
    ['whole float as string', new WholeFloat(10), 'string', '10'],
    ['bytes as binary (same bytes)', bytes(0, 255), 'binary', bytes(0, 255)],
    ['bytes as string (base64)', bytes(0, 255), 'string', 'AP8='],
  ])('%s', (_label, value, type, expected) => {
    expect(coerce(value, type)).toEqual(expected);
  });

  test('coerced text parses back to the same number', () => {
    for (const value of [0.1, 1e-300, 123456789.123456789, -0.000001, Number.MAX_VALUE]) {
      expect(Number(coerce(value, 'string'))).toBe(value);
    }
  });

  test.each<[string, RawValue, ColumnType]>([
    ['string into int64', '1', 'int64'],
    ['fraction into int64', 1.5, 'int64'],
    ['unsafe integer into int64', 2 ** 60, 'int64'],
    ['number into boolean', 1, 'boolean'],
    ['string into double', '1.5', 'double'],
    ['string into binary', 'x', 'binary'],
    ['double into binary', 1.5, 'binary'],
    ['boolean into timestamp_ms', true, 'timestamp_ms'],
  ])('refuses to narrow: %s', (_label, value, type) => {
    expect(() => coerce(value, type)).toThrow(CollectorError);
    try {
      coerce(value, type);
    } catch (error) {
      expect(error).toMatchObject({ code: 'TYPE_MISMATCH', retryable: false });
    }
  });

  test('every value coerces into the widened type of its column', () => {
    const values: RawValue[] = [true, 1, 2.5, 3n, 'x', bytes(1), new Date(0), null];
    for (const a of values) {
      for (const b of values) {
        const type = inferColumnType([a, b]);
        if (type === null) continue;
        expect(() => coerce(a, type)).not.toThrow();
        expect(() => coerce(b, type)).not.toThrow();
      }
    }
  });
});
