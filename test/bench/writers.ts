/**
 * Parquet writer benchmark: @dsnp/parquetjs (pure JS) against our encoder (apache-arrow +
 * parquet-wasm), on market-data rows in the seed's flattened shape.
 *
 *   npm run bench:writers                       # 200,000 rows
 *   BENCH_ROWS=1000000 npm run bench:writers
 *   BENCH_PYTHON=0 npm run bench:writers        # skip the pyarrow/polars reference
 *
 * Each writer runs BENCH_REPEATS times (3); the table shows the median. Every output file is read
 * back by DuckDB before its figures count.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ParquetSchema, ParquetWriter } from '@dsnp/parquetjs';
import type { ColumnType, EncodeOptions, SealedBatch } from '../../src/parquet/batch';
import { encodeParquet } from '../../src/parquet/encode';
import { EncoderPool } from '../../src/parquet/worker-pool';
import { BENCH_COLUMNS, generateMarketBatch, toRowObjects } from './writers-data';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
/** One row group for every writer at the default size, as pyarrow's default (1 Mi rows) gives. */
const ROW_GROUP = Number(process.env.BENCH_ROW_GROUP ?? 1_048_576);
const RUN_PYTHON = process.env.BENCH_PYTHON !== '0';

interface Writer {
  readonly name: string;
  /** Writes the rows to `file`; everything inside is timed. */
  write(file: string): Promise<void>;
}

interface Result {
  readonly name: string;
  readonly medianMs: number;
  readonly bytes: number;
  readonly file: string;
}

const PARQUETJS_TYPE: Readonly<Record<ColumnType, string>> = {
  boolean: 'BOOLEAN',
  int64: 'INT64',
  double: 'DOUBLE',
  string: 'UTF8',
  binary: 'BYTE_ARRAY',
  timestamp_ms: 'TIMESTAMP_MILLIS',
};

function parquetjsWriter(batch: SealedBatch): Writer {
  // parquetjs takes row objects; building them is the caller's cost, so it happens outside the timing.
  const rows = toRowObjects(batch);
  // Its best settings: SNAPPY on every column. It writes PLAIN/RLE only (no dictionary encoding).
  const schema = new ParquetSchema(
    Object.fromEntries(
      BENCH_COLUMNS.map(([name, type]) => [
        name,
        { type: PARQUETJS_TYPE[type], compression: 'SNAPPY', optional: true },
      ]),
    ) as ConstructorParameters<typeof ParquetSchema>[0],
  );
  return {
    name: '@dsnp/parquetjs, snappy',
    async write(file) {
      const writer = await ParquetWriter.openFile(schema, file, { rowGroupSize: ROW_GROUP });
      for (const row of rows) await writer.appendRow(row);
      await writer.close();
    },
  };
}

function encoderWriter(batch: SealedBatch, options: EncodeOptions): Writer {
  return {
    name: `encodeParquet, ${options.compression}`,
    async write(file) {
      writeFileSync(file, encodeParquet(batch, options));
    },
  };
}

/** `callerMs` collects how long each `encode` call held the calling thread before it returned. */
function poolWriter(batch: SealedBatch, pool: EncoderPool, callerMs: number[]): Writer {
  return {
    name: 'EncoderPool(1 worker), zstd',
    async write(file) {
      const start = process.hrtime.bigint();
      const encoded = pool.encode(batch);
      callerMs.push(Number(process.hrtime.bigint() - start) / 1e6);
      writeFileSync(file, await encoded);
    },
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(writer: Writer, directory: string, index: number): Promise<Result> {
  const file = path.join(directory, `writer-${index}.parquet`);
  const times: number[] = [];
  for (let run = 0; run < REPEATS; run++) {
    const start = process.hrtime.bigint();
    await writer.write(file);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { name: writer.name, medianMs: median(times), bytes: statSync(file).size, file };
}

async function duckdbRowCount(file: string): Promise<bigint> {
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${file}')`);
    const [row] = reader.getRowObjectsJS();
    return typeof row?.n === 'bigint' ? row.n : -1n;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A Markdown table: the first column left-aligned, the figures right-aligned. */
function formatTable(results: readonly Result[]): string {
  const header = ['writer', 'median ms', 'rows/s', 'file bytes', 'bytes/row'];
  const lines = results.map((result) => [
    result.name,
    result.medianMs.toFixed(0),
    Math.round((ROWS / result.medianMs) * 1000).toLocaleString('en-US'),
    result.bytes.toLocaleString('en-US'),
    (result.bytes / ROWS).toFixed(2),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column].length)),
  );
  const pad = (cell: string, column: number): string =>
    column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]);
  const render = (cells: readonly string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = widths.map((width, column) =>
    column === 0 ? '-'.repeat(width + 2) : `${'-'.repeat(width + 1)}:`,
  );
  return [render(header), `|${rule.join('|')}|`, ...lines.map(render)].join('\n');
}

function runPythonReference(file: string): void {
  // npm runs scripts from the package root.
  const script = path.resolve('test', 'bench', 'pyarrow-reference.py');
  const result = spawnSync('python3', [script, file], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    const reason = result.stderr ?? result.error?.message;
    console.log(`\npyarrow reference skipped or failed (needs python3, pyarrow, polars):\n${reason}`);
    return;
  }
  console.log(`\n${result.stdout.trimEnd()}`);
}

async function main(): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'bench-writers-'));
  const pool = new EncoderPool({ size: 1, options: { compression: 'zstd', rowGroupSize: ROW_GROUP } });
  try {
    console.log(
      `${ROWS.toLocaleString('en-US')} rows x ${BENCH_COLUMNS.length} columns, median of ${REPEATS}, ` +
        `node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
    );
    const batch = generateMarketBatch(ROWS);
    const callerMs: number[] = [];
    const writers = [
      parquetjsWriter(batch),
      encoderWriter(batch, { compression: 'zstd', rowGroupSize: ROW_GROUP }),
      encoderWriter(batch, { compression: 'snappy', rowGroupSize: ROW_GROUP }),
      poolWriter(batch, pool, callerMs),
    ];
    const results: Result[] = [];
    for (const [index, writer] of writers.entries()) {
      const result = await measure(writer, directory, index);
      const count = await duckdbRowCount(result.file);
      if (count !== BigInt(ROWS)) {
        throw new Error(`${writer.name}: DuckDB read ${count} rows, expected ${ROWS}`);
      }
      results.push(result);
    }
    console.log(`\n${formatTable(results)}\n\nEvery file read back by DuckDB with ${ROWS} rows.`);
    console.log(
      `EncoderPool.encode held the calling thread ${median(callerMs).toFixed(0)} ms (median) ` +
        'for validation and the Arrow IPC stream; the Parquet writer ran in the worker.',
    );
    if (RUN_PYTHON) runPythonReference(results[1].file);
  } finally {
    await pool.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
