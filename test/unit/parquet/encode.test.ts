import type { CellValue, ColumnData, Compression, EncodeOptions, SealedBatch } from '../../../src/parquet/batch';
import { encodeParquet, ipcToParquet } from '../../../src/parquet/encode';
import { CollectorError } from '../../../src/errors';
import { coerce, inferColumnType, type RawValue } from '../../../src/parquet/schema';
import { decodeText, openReadBack, type ReadBack } from './read-back';

const ZSTD: EncodeOptions = { compression: 'zstd', rowGroupSize: 1000 };
const T0 = Date.UTC(2025, 9, 17, 23, 59, 59, 999);

let db: ReadBack;
beforeAll(async () => {
  db = await openReadBack();
});
afterAll(() => db.close());

function batchOf(columns: ColumnData[], metadata: Record<string, string> = {}): SealedBatch {
  return { rowCount: columns[0]?.values.length ?? 0, columns, metadata };
}

/** A column built the way the buffer stage builds one: infer, widen, coerce. */
function widenedColumn(name: string, raw: RawValue[]): ColumnData {
  const type = inferColumnType(raw) ?? 'string';
  return { name, type, values: raw.map((value) => coerce(value, type)) };
}

async function readOrdered(file: string): Promise<Array<Record<string, unknown>>> {
  return db.query(`SELECT * FROM read_parquet('${file}') ORDER BY idx`);
}

const allTypes = (): SealedBatch =>
  batchOf(
    [
      { name: 'idx', type: 'int64', values: [0, 1, 2, 3] },
      { name: 'kafka_offset', type: 'int64', values: [9_007_199_254_740_991, -(2n ** 63n), 2n ** 63n - 1n, null] },
      { name: 'bid', type: 'double', values: [150.25, -0.5, null, Number.NaN] },
      { name: 'in_stock', type: 'boolean', values: [true, false, null, true] },
      { name: 'symbol', type: 'string', values: ['AAPL', '', null, 'Zürich €😀'] },
      { name: 'raw', type: 'binary', values: [new Uint8Array([0, 255]), new Uint8Array(), null, Buffer.from('hi')] },
      { name: 'kafka_timestamp', type: 'timestamp_ms', values: [T0, 0, null, 2n ** 40n] },
      { name: 'always_null', type: 'string', values: [null, null, null, null] },
    ],
    { 'collector.offsets': '{"0":[[10,13]]}' },
  );

describe('encodeParquet read back by DuckDB', () => {
  test('maps every column type to the DuckDB type users expect', async () => {
    const file = db.file('types.parquet', encodeParquet(allTypes(), ZSTD));
    expect(await db.describe(file)).toEqual({
      idx: 'BIGINT',
      kafka_offset: 'BIGINT',
      bid: 'DOUBLE',
      in_stock: 'BOOLEAN',
      symbol: 'VARCHAR',
      raw: 'BLOB',
      kafka_timestamp: 'TIMESTAMP WITH TIME ZONE',
      always_null: 'VARCHAR',
    });
  });

  test('keeps every value and every null', async () => {
    const file = db.file('values.parquet', encodeParquet(allTypes(), ZSTD));
    const rows = await readOrdered(file);
    expect(rows.map((row) => row.kafka_offset)).toEqual([9_007_199_254_740_991n, -(2n ** 63n), 2n ** 63n - 1n, null]);
    expect(rows.map((row) => row.bid)).toEqual([150.25, -0.5, null, Number.NaN]);
    expect(rows.map((row) => row.in_stock)).toEqual([true, false, null, true]);
    expect(rows.map((row) => row.symbol)).toEqual(['AAPL', '', null, 'Zürich €😀']);
    expect(rows.map((row) => row.raw)).toEqual([
      Buffer.from([0, 255]),
      Buffer.alloc(0),
      null,
      Buffer.from('hi'),
    ]);
    expect(rows.map((row) => row.always_null)).toEqual([null, null, null, null]);
  });

  test('keeps integers exact across the 32-bit word boundary and down to the smallest safe integer', async () => {
    const integers = [0, -1, 4_294_967_295, 4_294_967_296, -4_294_967_296, -4_294_967_297, -9_007_199_254_740_991, 9_007_199_254_740_991];
    const batch = batchOf([
      { name: 'idx', type: 'int64', values: integers.map((_, i) => i) },
      { name: 'n', type: 'int64', values: integers },
      { name: 'seen_at', type: 'timestamp_ms', values: integers.map((n) => -n) },
    ]);
    const file = db.file('int64-words.parquet', encodeParquet(batch, ZSTD));
    const rows = await db.query(`SELECT n, epoch_ms(seen_at) AS ms FROM read_parquet('${file}') ORDER BY idx`);
    expect(rows.map((row) => row.n)).toEqual(integers.map(BigInt));
    expect(rows.map((row) => row.ms)).toEqual(integers.map((n) => BigInt(-n)));
  });

  test('stores timestamps as UTC instants', async () => {
    const file = db.file('instants.parquet', encodeParquet(allTypes(), ZSTD));
    const rows = await db.query(
      `SELECT epoch_ms(kafka_timestamp) AS ms,
              strftime(kafka_timestamp AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS utc
       FROM read_parquet('${file}') ORDER BY idx`,
    );
    expect(rows.map((row) => row.ms)).toEqual([BigInt(T0), 0n, null, 2n ** 40n]);
    // The last millisecond of the day stays on that day: the route stage depends on it.
    expect(rows[0].utc).toBe('2025-10-17 23:59:59.999');
  });

  test('writes widened columns in their widened type', async () => {
    const batch = batchOf([
      widenedColumn('idx', [0, 1, 2, 3]),
      widenedColumn('price', [1, 2.5, null, 3n]),
      widenedColumn('flag', [true, 3, 'x', null]),
      widenedColumn('payload', ['text', new Uint8Array([0xff]), null, 7]),
      widenedColumn('seen_at', [new Date(T0), 5, null, new Date(0)]),
    ]);
    const file = db.file('widened.parquet', encodeParquet(batch, ZSTD));
    expect(await db.describe(file)).toMatchObject({
      price: 'DOUBLE',
      flag: 'VARCHAR',
      payload: 'VARCHAR',
      seen_at: 'BIGINT',
    });
    const rows = await readOrdered(file);
    expect(rows.map((row) => row.price)).toEqual([1, 2.5, null, 3]);
    expect(rows.map((row) => row.flag)).toEqual(['true', '3', 'x', null]);
    expect(rows.map((row) => row.payload)).toEqual(['text', '/w==', null, '7']);
    expect(rows.map((row) => row.seen_at)).toEqual([BigInt(T0), 5n, null, 0n]);
  });

  test('splits a batch into row groups of rowGroupSize rows', async () => {
    const rowCount = 25;
    const batch = batchOf([
      { name: 'idx', type: 'int64', values: Array.from({ length: rowCount }, (_, i) => i) },
      { name: 'symbol', type: 'string', values: Array.from({ length: rowCount }, (_, i) => `S${i % 3}`) },
    ]);
    const file = db.file('row-groups.parquet', encodeParquet(batch, { compression: 'zstd', rowGroupSize: 10 }));
    const groups = await db.query(
      `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${file}') ORDER BY row_group_id`,
    );
    expect(groups.map((group) => group.row_group_num_rows)).toEqual([10n, 10n, 5n]);
    const [{ n, total }] = await db.query(`SELECT count(*) AS n, sum(idx) AS total FROM read_parquet('${file}')`);
    expect([n, total]).toEqual([25n, 300n]);
  });

  test('writes the batch metadata as footer key-value metadata', async () => {
    const metadata = { 'collector.offsets': '{"0":[[10,13]]}', 'collector.topic': 'market_data', empty: '' };
    const file = db.file('kv.parquet', encodeParquet(batchOf(allTypes().columns.slice(), metadata), ZSTD));
    const rows = await db.query(`SELECT key, value FROM parquet_kv_metadata('${file}')`);
    const footer = Object.fromEntries(rows.map((row) => [decodeText(row.key), decodeText(row.value)]));
    expect(footer).toMatchObject(metadata);
  });

  test('compresses with ZSTD, dictionary-encodes text, delta-encodes integers and keeps statistics', async () => {
    const file = db.file('layout.parquet', encodeParquet(allTypes(), ZSTD));
    const chunks = await db.query(
      `SELECT path_in_schema AS col, compression, encodings, stats_null_count, stats_min_value, stats_max_value
       FROM parquet_metadata('${file}')`,
    );
    const byColumn = Object.fromEntries(chunks.map((chunk) => [String(chunk.col), chunk]));
    for (const chunk of chunks) expect(chunk.compression).toBe('ZSTD');
    for (const col of ['symbol', 'raw']) expect(String(byColumn[col].encodings)).toMatch(/RLE_DICTIONARY|PLAIN_DICTIONARY/);
    for (const col of ['kafka_offset', 'kafka_timestamp']) expect(String(byColumn[col].encodings)).toMatch(/DELTA_BINARY_PACKED/);
    expect(String(byColumn.bid.encodings)).not.toMatch(/DICTIONARY/);
    expect(byColumn.kafka_offset).toMatchObject({
      stats_null_count: 1n,
      stats_min_value: String(-(2n ** 63n)),
      stats_max_value: String(2n ** 63n - 1n),
    });
    expect(byColumn.symbol).toMatchObject({ stats_null_count: 1n, stats_min_value: '' });
    expect(byColumn.kafka_timestamp.stats_min_value).toContain('1970-01-01');
    expect(byColumn.always_null.stats_null_count).toBe(4n);
  });

  test.each<[Compression, string]>([
    ['zstd', 'ZSTD'],
    ['snappy', 'SNAPPY'],
    ['gzip', 'GZIP'],
    ['lz4', 'LZ4_RAW'],
    ['brotli', 'BROTLI'],
    ['none', 'UNCOMPRESSED'],
  ])('compression %s is written as %s and reads back', async (compression, expected) => {
    const file = db.file(`codec-${compression}.parquet`, encodeParquet(allTypes(), { compression, rowGroupSize: 2 }));
    const codecs = await db.query(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    expect(codecs.map((row) => row.compression)).toEqual([expected]);
    const rows = await readOrdered(file);
    expect(rows.map((row) => row.symbol)).toEqual(['AAPL', '', null, 'Zürich €😀']);
  });

  test('encodes strings exactly, including multi-byte text and a split surrogate pair', async () => {
    // A lone high surrogate ending one value and a lone low one starting the next would join into
    // one valid character if the column were encoded as a single string without care.
    const texts: CellValue[] = ['plain', 'é', '€uro', '😀', 'a\uD83D', '\uDE00b', null, ''];
    const batch = batchOf([
      { name: 'idx', type: 'int64', values: texts.map((_, i) => i) },
      { name: 'text', type: 'string', values: texts },
    ]);
    const rows = await readOrdered(db.file('unicode.parquet', encodeParquet(batch, ZSTD)));
    expect(rows.map((row) => row.text)).toEqual(['plain', 'é', '€uro', '😀', 'a\uFFFD', '\uFFFDb', null, '']);
  });

  test('encodes a batch without rows', async () => {
    const batch: SealedBatch = { rowCount: 0, columns: [{ name: 'idx', type: 'int64', values: [] }], metadata: {} };
    const file = db.file('empty.parquet', encodeParquet(batch, ZSTD));
    const [{ n }] = await db.query(`SELECT count(*) AS n FROM read_parquet('${file}')`);
    expect(n).toBe(0n);
  });
});

test('reports a failure inside parquet-wasm as ENCODE_FAILED with the cause', () => {
  let caught: unknown;
  try {
    ipcToParquet(new Uint8Array([1, 2, 3]), {}, ZSTD, []);
  } catch (error) {
    caught = error;
  }
  expect(caught).toMatchObject({ code: 'ENCODE_FAILED', retryable: false });
  expect((caught as Error).cause).toBeDefined();
});

describe('encodeParquet rejects invalid input with INVALID_BATCH', () => {
  const column = (values: unknown[], type: ColumnData['type'] = 'int64', name = 'c'): ColumnData => ({
    name,
    type,
    values: values as CellValue[],
  });
  test.each<[string, SealedBatch, EncodeOptions, RegExp]>([
    ['no columns', { rowCount: 0, columns: [], metadata: {} }, ZSTD, /at least one column/],
    ['a column of the wrong length', { rowCount: 3, columns: [column([1, 2])], metadata: {} }, ZSTD, /2 values for 3 rows/],
    ['a duplicate column name', { rowCount: 1, columns: [column([1]), column([2])], metadata: {} }, ZSTD, /duplicate column "c"/],
    ['a string in an int64 column', batchOf([column([1, '2'])]), ZSTD, /row 1: expected an integer, got string/],
    ['a fraction in an int64 column', batchOf([column([1.5])]), ZSTD, /expected a safe integer/],
    ['a bigint past int64', batchOf([column([2n ** 63n])]), ZSTD, /expected a 64-bit integer/],
    ['a number in a string column', batchOf([column([1], 'string')]), ZSTD, /expected a string/],
    ['a string in a binary column', batchOf([column(['x'], 'binary')]), ZSTD, /expected a Uint8Array/],
    ['a number in a boolean column', batchOf([column([1], 'boolean')]), ZSTD, /expected a boolean/],
    ['a string in a double column', batchOf([column(['1.5'], 'double')]), ZSTD, /expected a number/],
    ['a fraction in a timestamp column', batchOf([column([1.5], 'timestamp_ms')]), ZSTD, /expected a safe integer/],
    ['an unknown column type', batchOf([column([1], 'decimal' as ColumnData['type'])]), ZSTD, /unknown column type/],
    ['an unknown compression', batchOf([column([1])]), { compression: 'lzo' as Compression, rowGroupSize: 1 }, /unknown compression/],
    ['a metadata value that is not a string', batchOf([column([1])], { n: 1 as unknown as string }), ZSTD, /metadata "n" must be a string/],
    ['an inherited property as compression', batchOf([column([1])]), { compression: 'toString' as Compression, rowGroupSize: 1 }, /unknown compression/],
    ['a zero row-group size', batchOf([column([1])]), { compression: 'zstd', rowGroupSize: 0 }, /rowGroupSize/],
  ])('%s', (_label, batch, options, message) => {
    let caught: unknown;
    try {
      encodeParquet(batch, options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CollectorError);
    expect(caught).toMatchObject({ code: 'INVALID_BATCH', retryable: false });
    expect((caught as Error).message).toMatch(message);
  });
});
