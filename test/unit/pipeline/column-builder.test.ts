import { ColumnBuilder } from '../../../src/pipeline/column-builder';
import { SourceText } from '../../../src/pipeline/flatten';
import { coerce, inferColumnType, type RawValue } from '../../../src/parquet/schema';
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
    ['only nulls', [null, null]],
    ['objects', [{ a: 1 }, 'x']],
  ])('keeps %s as the widening rules say', (_what, values) => {
    const rows = values.length + 2;
    for (const order of [null, [3, 0, 5, 1, 4, 2].filter((row) => row < rows)]) {
      const column = built(values).seal('c', rows, runsOf(order, rows));
      const want = expected(values, rows, order);
      expect(column.type).toBe(want.type);
      expect(column.values).toEqual(want.cells);
    }
  });

  it('lays numbers and text out for Arrow, and Arrow reads the same values back', () => {
    const numbers = built([3, null, 4.5]).seal('n', 4, runsOf(null, 4));
    const text = built(['x', null, 'café']).seal('t', 4, Uint32Array.of(2, 1, 0, 2, 3, 1));
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
    const sealed = column.seal('ts', 2, runsOf(null, 2));
    expect(sealed.type).toBe('timestamp_ms');
    const table = batchToArrowTable({ rowCount: 2, columns: [sealed, built([2 ** 40, -3]).seal('i', 2, runsOf(null, 2))], metadata: {} });
    expect([...(table.getChild('ts') ?? [])]).toEqual([1_700_000_000_000, null]);
    expect([...(table.getChild('i') ?? [])]).toEqual([2n ** 40n, -3n]);
  });

  it('copies text from message bytes, and turns it into a string where the column keeps values', () => {
    const text = new ColumnBuilder();
    text.append(0, sourceText('AAPL'));
    text.append(1, 'MSFT');
    expect(text.seal('t', 2, runsOf(null, 2)).values).toEqual(['AAPL', 'MSFT']);

    const mixed = new ColumnBuilder();
    mixed.append(0, 1);
    const reused = sourceText('AAPL');
    mixed.append(1, reused);
    reused.source = Buffer.from('######', 'latin1');
    expect(mixed.seal('m', 2, runsOf(null, 2)).values).toEqual(['1', 'AAPL']);
  });

  it('replaces the last row on a collision and hands back what it held', () => {
    const column = built([1, 2]);
    expect(column.replaceLast('x')).toBe(2);
    expect(column.seal('c', 2, runsOf(null, 2)).values).toEqual(['1', 'x']);
  });

  it('reorders by runs of rows, rows never given a value read as null', () => {
    const runs = Uint32Array.of(3, 2, 0, 3);
    expect(built(['a', 'b']).seal('t', 5, runs).values).toEqual([null, null, 'a', 'b', null]);
    expect(built([1, null, 2.5, 4]).seal('n', 5, runs).values).toEqual([4, null, 1, null, 2.5]);
    expect(built([true, false]).seal('b', 5, runs).values).toEqual([null, null, true, false, null]);
  });

  it('grows past its first capacity', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? null : `v${i}`));
    expect(built(values).seal('c', 5000, runsOf(null, 5000)).values).toEqual(values);
  });
});
