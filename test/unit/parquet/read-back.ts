/** Reads Parquet files back with DuckDB, the way users query the collector's output. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection, type JS } from '@duckdb/node-api';

export type Row = Record<string, JS>;

export interface ReadBack {
  /** Writes `bytes` to a fresh file in the temp directory and returns its path. */
  file(name: string, bytes: Uint8Array): string;
  query(sql: string): Promise<Row[]>;
  /** Column name → DuckDB type name, as `DESCRIBE` reports it. */
  describe(file: string): Promise<Record<string, string>>;
  close(): void;
}

export async function openReadBack(): Promise<ReadBack> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'parquet-unit-'));
  const instance = await DuckDBInstance.create();
  const connection: DuckDBConnection = await instance.connect();
  const query = async (sql: string): Promise<Row[]> =>
    (await connection.runAndReadAll(sql)).getRowObjectsJS();
  return {
    file(name, bytes) {
      const file = path.join(directory, name);
      writeFileSync(file, bytes);
      return file;
    },
    query,
    async describe(file) {
      const rows = await query(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
      return Object.fromEntries(rows.map((row) => [String(row.column_name), String(row.column_type)]));
    },
    close() {
      connection.closeSync();
      instance.closeSync();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const decodeText = (value: JS): string =>
  value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value);
