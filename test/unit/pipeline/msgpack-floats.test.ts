import { pack } from 'msgpackr';
import { decodeValue } from '../../../src/pipeline/decode';
import { createFlatFields, flattenPayload } from '../../../src/pipeline/flatten';
import { floatFieldNames, markWholeFloats } from '../../../src/pipeline/msgpack-floats';
import { WholeFloat } from '../../../src/parquet/schema';
import { float, packWire } from '../../harness/msgpack-wire';

const limits = { maxDepth: 6, maxFields: 40 };

/** The general path's values by name, whole floats of the wire as WholeFloat. */
function general(bytes: Uint8Array): Record<string, unknown> {
  const decoded = decodeValue(bytes, { maxValueBytes: 1 << 20 });
  if (!decoded.ok || decoded.payload === null) throw new Error('not decoded');
  const out = createFlatFields();
  expect(flattenPayload(decoded.payload, out, limits)).toBeNull();
  markWholeFloats(bytes, out);
  return Object.fromEntries(out.names.map((name, i) => [name, out.values[i]]));
}

describe('markWholeFloats', () => {
  it('marks whole float32 and float64 values of a message the fast path leaves alone (non-ASCII text)', () => {
    const fields = general(packWire({ name: 'café', f64: float(10), f32: float(3, 32), half: float(1.5, 32), int: 7, data: { lifted: float(2) }, deep: { x: float(4) } }));
    expect(fields).toEqual({ name: 'café', f64: new WholeFloat(10), f32: new WholeFloat(3), half: 1.5, int: 7, lifted: new WholeFloat(2), deep_x: new WholeFloat(4) });
  });

  it('leaves lists (JSON text), binary, timestamps and integer keys as they are, and reads past them', () => {
    const bytes = packWire({ list: [1.5, 2], raw: Buffer.from([1]), at: new Date(0), ints: { 1: float(5) }, after: float(6) });
    const fields = general(bytes);
    expect(fields.list).toBe('[1.5,2]');
    expect(fields.ints_1).toEqual(new WholeFloat(5));
    expect(fields.after).toEqual(new WholeFloat(6));
  });

  it('takes the last of a repeated key, as the payload object does', () => {
    // {"a": 1.0, "a": 2} and {"a": 2, "a": 1.0}, written by hand (no encoder repeats a key).
    const floatThenInt = Buffer.concat([Buffer.from([0x82, 0xa1, 0x61]), packWire({ a: float(1) }).subarray(3), Buffer.from([0xa1, 0x61, 0x02])]);
    const intThenFloat = Buffer.concat([Buffer.from([0x82, 0xa1, 0x61, 0x02, 0xa1, 0x61]), packWire({ a: float(1) }).subarray(3)]);
    expect(floatFieldNames(floatThenInt)).toEqual(new Map([['a', false]]));
    expect(floatFieldNames(intThenFloat)).toEqual(new Map([['a', true]]));
  });

  it('gives up on bytes it cannot read to the end as one map', () => {
    expect(floatFieldNames(Buffer.concat([pack({ a: 1 }), Buffer.from([0x01])]))).toBeNull();
    expect(floatFieldNames(packWire({ a: float(1), b: 'text' }).subarray(0, 8))).toBeNull();
    expect(floatFieldNames(pack([1]))).toBeNull();
  });

  it('does not walk a message without a whole number', () => {
    const out = createFlatFields();
    out.names = ['a'];
    out.values = [1.5];
    markWholeFloats(Buffer.from([0xc1]), out);
    expect(out.values).toEqual([1.5]);
  });
});
