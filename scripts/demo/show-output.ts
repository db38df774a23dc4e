/**
 * Demo step: shows what the collector wrote: the file tree, then DuckDB queries over the files
 * (rows per day and topic, a few rows, a per-symbol summary, the dead letters). With --summary
 * (from produce-sample) it also checks that every produced message is in exactly one file and
 * exits 1 when not, so the demo doubles as a smoke test.
 *
 *   node .cache/demo/scripts/demo/show-output.js demo-output [--summary FILE]
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ProducedSummary } from './produce-sample';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ options: { summary: { type: 'string' } }, allowPositionals: true, strict: true });
  const dir = positionals[0] ?? 'demo-output';
  if (!existsSync(dir)) throw new Error(`${dir} does not exist: did the collector run?`);

  section(`Files under ${dir}/`);
  const lines = tree(dir);
  process.stdout.write(`${dir}/\n${lines.join('\n')}\n`);

  // Relative globs, so each query can be pasted into the duckdb shell from the repository root.
  // A closed day is one file per topic (YYYY/MM/DD/<topic>.parquet, dead letters in
  // YYYY/MM/DD/_dead_letter/<topic>.parquet); an open day has parts one folder further down.
  const files = findFiles(dir).filter((file) => file.endsWith('.parquet'));
  const data = parquetSource(dir, files, false);
  const deadLetters = parquetSource(dir, files, true);
  const hasDeadLetters = files.some(isDeadLetter);

  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  let failed = false;
  try {
    const perDay = await show(
      connection,
      'Rows per day folder and topic',
      `SELECT regexp_extract(filename, '(\\d{4}/\\d{2}/\\d{2})/', 1) AS day_folder,
       kafka_topic AS topic, count(*) AS rows, count(DISTINCT filename) AS files,
       min(kafka_timestamp) AS first_record, max(kafka_timestamp) AS last_record
FROM ${data}
GROUP BY ALL ORDER BY ALL`,
    );
    await show(
      connection,
      'A few rows (the seed\'s columns: kafka_* metadata, payload fields, data.* lifted, metadata.* joined with _)',
      `SELECT kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, kafka_key,
       event_type, source, symbol, bid, ask, volume, metadata_exchange, metadata_timestamp
FROM ${data}
ORDER BY kafka_partition, kafka_offset
LIMIT 5`,
    );
    await show(
      connection,
      'Per symbol, both days',
      `SELECT symbol, count(*) AS ticks, round(avg(bid), 2) AS avg_bid, round(avg(ask - bid), 4) AS avg_spread,
       sum(volume) AS volume
FROM ${data}
GROUP BY symbol ORDER BY ticks DESC, symbol
LIMIT 5`,
    );
    const duplicates = await query(
      connection,
      `SELECT count(*) AS n FROM (SELECT kafka_topic, kafka_partition, kafka_offset FROM ${data} GROUP BY ALL HAVING count(*) > 1)`,
    );
    let deadLetterCount = 0;
    if (hasDeadLetters) {
      const rows = await show(
        connection,
        'Dead letters (raw bytes kept, with the reason)',
        `SELECT kafka_partition, kafka_offset, error_stage, error_reason, octet_length(raw_value) AS raw_bytes,
       left(error_message, 70) AS error_message
FROM ${deadLetters}
ORDER BY kafka_partition, kafka_offset`,
      );
      deadLetterCount = rows.length;
    } else {
      section('Dead letters');
      process.stdout.write('(none)\n');
    }

    if (values.summary) {
      const expected = JSON.parse(readFileSync(values.summary, 'utf8')) as ProducedSummary;
      const rows = perDay.reduce((sum, row) => sum + Number(row.rows), 0);
      const expectedRows = expected.messages - expected.deadLetters;
      const duplicateKeys = Number(duplicates[0]?.n ?? 0);
      section('Check');
      const checks: [string, boolean][] = [
        [`${rows} rows in data files, ${expectedRows} market events produced`, rows === expectedRows],
        [`${deadLetterCount} dead letters, ${expected.deadLetters} undecodable messages produced`, deadLetterCount === expected.deadLetters],
        [`${duplicateKeys} (topic, partition, offset) keys appear more than once`, duplicateKeys === 0],
        [`${perDay.length} day folders, ${Object.keys(expected.perDay).length} UTC days produced`, perDay.length === Object.keys(expected.perDay).length],
      ];
      for (const [text, ok] of checks) process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${text}\n`);
      failed = checks.some(([, ok]) => !ok);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return failed ? 1 : 0;
}

type Row = Record<string, unknown>;

async function query(connection: DuckDBConnection, sql: string): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Row[];
}

async function show(connection: DuckDBConnection, title: string, sql: string): Promise<Row[]> {
  section(title);
  process.stdout.write(`${dim(sql)}\n\n`);
  const rows = await query(connection, sql);
  process.stdout.write(`${table(rows)}\n`);
  return rows;
}

function section(title: string): void {
  process.stdout.write(`\n${bold(`--- ${title}`)}\n`);
}

function format(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 10000) / 10000);
  return String(value);
}

function table(rows: readonly Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0]);
  const cells = rows.map((row) => columns.map((column) => format(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
  const render = (line: readonly string[]): string => line.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [render(columns), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)].join('\n');
}

const isDeadLetter = (file: string): boolean => file.split(path.sep).includes('_dead_letter');

/**
 * read_parquet over the compacted files and the parts of the lake (data or dead letters), with
 * only the globs that match something: DuckDB rejects a glob without a file.
 */
function parquetSource(dir: string, files: readonly string[], deadLetters: boolean): string {
  const depthOf = (file: string): number => path.relative(dir, file).split(path.sep).length;
  const kind = files.filter((file) => isDeadLetter(file) === deadLetters);
  const compactedDepth = deadLetters ? 5 : 4;
  const globs = [
    [deadLetters ? `${dir}/*/*/*/_dead_letter/*.parquet` : `${dir}/*/*/*/*.parquet`, kind.some((file) => depthOf(file) === compactedDepth)],
    [deadLetters ? `${dir}/*/*/*/_dead_letter/*/*.parquet` : `${dir}/*/*/*/[!_]*/*.parquet`, kind.some((file) => depthOf(file) === compactedDepth + 1)],
  ] as const;
  const present = globs.filter(([, found]) => found).map(([glob]) => `'${glob}'`);
  return `read_parquet([${present.join(', ')}], filename = true, union_by_name = true)`;
}

/** Every file below dir, sorted. */
function findFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder).sort()) {
      const entry = path.join(folder, name);
      if (statSync(entry).isDirectory()) walk(entry);
      else found.push(entry);
    }
  };
  walk(dir);
  return found;
}

/** `tree`-style lines with file sizes. */
function tree(dir: string, prefix = ''): string[] {
  const names = readdirSync(dir).sort();
  return names.flatMap((name, i) => {
    const entry = path.join(dir, name);
    const last = i === names.length - 1;
    const branch = `${prefix}${last ? '└── ' : '├── '}`;
    if (statSync(entry).isDirectory()) return [`${branch}${name}/`, ...tree(entry, `${prefix}${last ? '    ' : '│   '}`)];
    return [`${branch}${name}  ${dim(humanBytes(statSync(entry).size))}`];
  });
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const bold = (text: string): string => (colour ? `\u001b[1m${text}\u001b[0m` : text);
const dim = (text: string): string => (colour ? `\u001b[2m${text}\u001b[0m` : text);

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`show-output: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
