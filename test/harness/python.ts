/** Reads Parquet files with Python's pyarrow and Polars (.cache/pyenv, installed by scripts/setup.sh), and with DuckDB in the same plain form, to compare value for value. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { queryFiles, type LakeRow } from './lake';

/** Installed by scripts/setup.sh (npm run setup / npm test). */
const PYTHON = path.resolve(__dirname, '../../.cache/pyenv/bin/python');
const SCRIPT = path.join(__dirname, 'read-with-python.py');

export type Plain = string | number | boolean | null;
export interface PythonView {
  readonly schema: Record<string, string>;
  readonly rows: Array<Record<string, Plain>>;
}

export function readWithPython(mode: 'compacted' | 'open', files: readonly string[]): { pyarrow: PythonView; polars: PythonView } {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run npm run setup (installs pyarrow and polars)`);
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, mode, ...files], { encoding: 'utf8' })) as { pyarrow: PythonView; polars: PythonView };
}

function plain(value: unknown): Plain {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

export async function duckdbRows(files: readonly string[]): Promise<Array<Record<string, Plain>>> {
  const rows: LakeRow[] = await queryFiles(files, 'SELECT * EXCLUDE (filename) FROM {files} ORDER BY kafka_partition, kafka_offset');
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, plain(value)])));
}

