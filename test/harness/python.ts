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

export function readWithPython(mode: 'compacted' | 'open' | 'topic', files: readonly string[]): { pyarrow: PythonView; polars: PythonView } {
  return runReader([mode, ...files], {}) as { pyarrow: PythonView; polars: PythonView };
}

/** A lake in an S3-compatible bucket, read from the bucket by pyarrow and Polars: its keys below the prefix, and the data rows (dead letters excluded). */
export function readBucketWithPython(
  bucket: { readonly endpoint: string; readonly bucket: string; readonly accessKeyId: string; readonly secretAccessKey: string },
  prefix: string,
): { keys: string[]; pyarrow: PythonView; polars: PythonView } {
  const credentials = { AWS_ACCESS_KEY_ID: bucket.accessKeyId, AWS_SECRET_ACCESS_KEY: bucket.secretAccessKey };
  return runReader(['s3', bucket.endpoint, bucket.bucket, prefix], credentials) as { keys: string[]; pyarrow: PythonView; polars: PythonView };
}

function runReader(args: readonly string[], env: Readonly<Record<string, string>>): unknown {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run npm run setup (installs pyarrow and polars)`);
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 }));
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

