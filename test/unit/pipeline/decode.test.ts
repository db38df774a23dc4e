import { pack } from 'msgpackr';
import { decodeValue, hasInvalidUtf8Strings } from '../../../src/pipeline/decode';
import { WholeFloat } from '../../../src/parquet/schema';

const limits = { maxValueBytes: 1024 };
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('decodeValue', () => {
  it.each([
    ['a MessagePack map', pack({ symbol: 'AAPL', bid: 150.25 }), 'msgpack', { symbol: 'AAPL', bid: 150.25 }],
    ['a JSON object', bytes('{"symbol":"AAPL","bid":150.25}'), 'json', { symbol: 'AAPL', bid: 150.25 }],
    ['a JSON object with leading white space', bytes(' \n{"a":1}'), 'json', { a: 1 }],
    ['a MessagePack map with a 64-bit integer', pack({ big: 2n ** 62n }), 'msgpack', { big: 2n ** 62n }],
  ])('decodes %s', (_label, value, format, payload) => {
    expect(decodeValue(value, limits)).toEqual({ ok: true, format, payload });
  });

  it('types JSON numbers by how they are written: a fraction or exponent is a double, an integer an int64, exactly', () => {
    const text = '{"whole":10.0,"exp":1e3,"fraction":2.5,"int":10,"big":12345678901234567890,"huge":123456789012345678901234567890,"neg":-9223372036854775808,"list":[1.0,12345678901234567890],"s":"1.0"}';
    expect(decodeValue(bytes(text), limits)).toEqual({
      ok: true,
      format: 'json',
      payload: {
        whole: new WholeFloat(10),
        exp: new WholeFloat(1000),
        fraction: 2.5,
        int: 10,
        big: 12345678901234567890n,
        huge: 123456789012345678901234567890n,
        neg: -9223372036854775808n,
        list: [1, 12345678901234567000],
        s: '1.0',
      },
    });
  });

  it('keeps a tombstone (null value) as a row with no payload', () => {
    expect(decodeValue(null, limits)).toEqual({ ok: true, format: 'tombstone', payload: null });
  });

  it.each([
    ['a bare JSON number (also the MessagePack integer 53)', bytes('5'), 'not-a-map'],
    ['a JSON array', bytes('[1,2]'), 'not-a-map'],
    ['a MessagePack string', pack('hello'), 'not-a-map'],
    ['a JSON string', bytes('"hello"'), 'not-a-map'],
    ['truncated MessagePack', pack({ a: 'hello world' }).subarray(0, 5), 'malformed'],
    ['bytes that are neither', Buffer.from([0xc1, 0x00]), 'malformed'],
    ['invalid JSON text', bytes('{"a":'), 'malformed'],
    ['an unknown MessagePack extension', Buffer.from([0xd4, 0x05, 0x01]), 'malformed'],
    ['a value over the size limit', Buffer.alloc(2048, 0x20), 'too-large'],
  ])('rejects %s', (_label, value, reason) => {
    const result = decodeValue(value, limits);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message.length).toBeGreaterThan(0);
    }
  });
});

describe('hasInvalidUtf8Strings', () => {
  it('tells replaced bytes from a real U+FFFD', () => {
    expect(hasInvalidUtf8Strings(Buffer.from([0x81, 0xa1, 0x61, 0xa2, 0xff, 0xfe]))).toBe(true);
    expect(hasInvalidUtf8Strings(pack({ a: 'real \ufffd' }))).toBe(false);
  });
});
