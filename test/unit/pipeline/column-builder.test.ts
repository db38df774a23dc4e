import { ColumnBuilder } from '../../../src/pipeline/column-builder';
import { SourceText } from '../../../src/pipeline/flatten';
import { coerce, inferColumnType, WholeFloat, type RawValue } from '../../../src/parquet/schema';
import type { ColumnData } from '../../../src/parquet/batch';
import { batchToArrowTable } from '../../../src/parquet/encode';

/** Runs of single rows in the given order, or one run of every row. */
function runsOf(order: readonly number[] | null, rows: number): Uint32Array {
  return order === null ? Uint32Array.of(0, rows) : Uint32Array.from(order.flatMap((row) => [row, 1]));
}

/** What the column must read as: every value widened to the column's type and coerced (schema.ts). */
function expected(values: readonly RawValue[], rows: number, order: readonly number[] | null): { type: string; cells: unknown[] } {
  const type = inferColumnType(values) ?? 'string';
  const cells = Array.from({ length: rows }, (_, i) => {
    const source = order === null ? i : order[i];
    return source < values.length ? coerce(values[source], type) : null;
  });
  return { type, cells };
}

function built(values: readonly RawValue[]): ColumnBuilder {
  const column = new ColumnBuilder();
  values.forEach((value, row) => column.append(row, value));
  return column;
}

/** Sealed with its own type (text for a column that has none, only nulls). */
function sealOwn(column: ColumnBuilder, name: string, rows: number, runs: Uint32Array): ColumnData {
  return column.seal(name, rows, runs, column.type ?? 'string');
}

function sourceText(text: string): SourceText {
  const source = new SourceText();
  source.source = Buffer.from(`##${text}##`, 'latin1');
  source.start = 2;
  source.end = 2 + text.length;
  return source;
}

describe('ColumnBuilder', () => {
  it.each<[string, RawValue[]]>([
    ['integers', [1, 2, null, 2 ** 40]],
    ['integers then fractions (double)', [1, null, 2.5]],
    ['text', ['a', null, 'bé', '']],
    ['text then a number (text)', ['a', 5]],
    ['numbers then text (text)', [5, 1.5, null, 'a']],
    ['numbers then a boolean (text)', [1, true]],
    ['booleans', [true, null, false]],
    ['a bigint among integers', [1, 2n ** 60n]],
    ['bytes', [Buffer.from([1, 2]), null]],
    ['bytes then text', [Buffer.from([1, 2]), 'x']],
    ['timestamps then integers', [new Date(5), 7]],
    ['objects', [{ a: 1 }, 'x']],
  ])('keeps %s as the widening rules say', (_what, values) => {
    const rows = values.length + 2;
    for (const order of [null, [3, 0, 5, 1, 4, 2].filter((row) => row < rows)]) {
      const column = sealOwn(built(values), 'c', rows, runsOf(order, rows));
      const want = expected(values, rows, order);
      expect(column.type).toBe(want.type);
      expect(column.values).toEqual(want.cells);
    }
  });

  it('lays numbers and text out for Arrow, and Arrow reads the same values back', () => {
    const numbers = sealOwn(built([3, null, 4.5]), 'n', 4, runsOf(null, 4));
    const text = sealOwn(built(['x', null, 'café']), 't', 4, Uint32Array.of(2, 1, 0, 2, 3, 1));
    expect(numbers.prepared?.kind).toBe('numbers');
    expect(text.prepared?.kind).toBe('utf8');
    const table = batchToArrowTable({ rowCount: 4, columns: [numbers, text], metadata: {} });
    expect(table.getChild('n')?.toArray()).toEqual(Float64Array.from([3, 0, 4.5, 0]));
    expect([...(table.getChild('n') ?? [])]).toEqual([3, null, 4.5, null]);
    expect([...(table.getChild('t') ?? [])]).toEqual(['café', 'x', null, null]);
  });

  it('writes integer columns as Arrow int64 and Kafka timestamps as timestamps', () => {
    const column = new ColumnBuilder();
    column.appendNumber(0, 1_700_000_000_000, 'timestamp_ms');
    column.append(1, null);
    const sealed = sealOwn(column, 'ts', 2, runsOf(null, 2));
    expect(sealed.type).toBe('timestamp_ms');
    const table = batchToArrowTable({ rowCount: 2, columns: [sealed, sealOwn(built([2 ** 40, -3]), 'i', 2, runsOf(null, 2))], metadata: {} });
    expect([...(table.getChild('ts') ?? [])]).toEqual([1_700_000_000_000, null]);
    expect([...(table.getChild('i') ?? [])]).toEqual([2n ** 40n, -3n]);
  });

  it('copies text from message bytes, and turns it into a string where the column keeps values', () => {
    const text = new ColumnBuilder();
    text.append(0, sourceText('AAPL'));
    text.append(1, 'MSFT');
    expect(sealOwn(text, 't', 2, runsOf(null, 2)).values).toEqual(['AAPL', 'MSFT']);

    const mixed = new ColumnBuilder();
    mixed.append(0, 1);
    const reused = sourceText('AAPL');
    mixed.append(1, reused);
    reused.source = Buffer.from('######', 'latin1');
    expect(sealOwn(mixed, 'm', 2, runsOf(null, 2)).values).toEqual(['1', 'AAPL']);
  });

  it('replaces the last row on a collision and hands back what it held', () => {
    const column = built([1, 2]);
    expect(column.replaceLast('x')).toBe(2);
    expect(sealOwn(column, 'c', 2, runsOf(null, 2)).values).toEqual(['1', 'x']);
  });

  it('reorders by runs of rows, rows never given a value read as null', () => {
    const runs = Uint32Array.of(3, 2, 0, 3);
    expect(sealOwn(built(['a', 'b']), 't', 5, runs).values).toEqual([null, null, 'a', 'b', null]);
    expect(sealOwn(built([1, null, 2.5, 4]), 'n', 5, runs).values).toEqual([4, null, 1, null, 2.5]);
    expect(sealOwn(built([true, false]), 'b', 5, runs).values).toEqual([null, null, true, false, null]);
  });

  it('has no type while it has held only nulls', () => {
    expect(built([null, null]).type).toBeNull();
    expect(built([null, 1]).type).toBe('int64');
  });

  it('keeps a whole float of the wire a double, in a numbers column and among values', () => {
    const reused = new WholeFloat(10);
    const numbers = new ColumnBuilder();
    numbers.append(0, reused);
    numbers.append(1, 3);
    expect(numbers.type).toBe('double');
    const sealedNumbers = sealOwn(numbers, 'n', 2, runsOf(null, 2));
    expect(sealedNumbers.prepared?.kind).toBe('numbers');
    expect(sealedNumbers.values).toEqual([10, 3]);

    const values = new ColumnBuilder();
    values.append(0, 1n);
    values.append(1, reused);
    reused.value = 99;
    expect(values.type).toBe('double');
    expect(sealOwn(values, 'v', 2, runsOf(null, 2)).values).toEqual([1, 10]);
  });

  it('makes an integer past int64 text, and its column string', () => {
    const column = built([1, 2n ** 64n]);
    expect(column.type).toBe('string');
    expect(sealOwn(column, 'c', 2, runsOf(null, 2)).values).toEqual(['1', '18446744073709551616']);
  });

  it('seals with a wider type than its own (the topic schema)', () => {
    expect(built([1, null, 2]).seal('d', 3, runsOf(null, 3), 'double')).toMatchObject({ type: 'double', prepared: { kind: 'numbers' } });
    expect(built([1, null, 2.5]).seal('s', 3, runsOf(null, 3), 'string').values).toEqual(['1', null, '2.5']);
    expect(built([null, null]).seal('n', 3, runsOf(null, 3), 'boolean').values).toEqual([null, null, null]);
    const timestamps = new ColumnBuilder();
    timestamps.appendNumber(0, 1_700_000_000_000, 'timestamp_ms');
    expect(timestamps.seal('t', 1, runsOf(null, 1), 'string').values).toEqual(['2023-11-14T22:13:20.000Z']);
  });

  it('grows past its first capacity', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? null : `v${i}`));
    expect(sealOwn(built(values), 'c', 5000, runsOf(null, 5000)).values).toEqual(values);
  });
});
