/** Reads the collector's output back with DuckDB, as its users do; never with our own code. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type JS } from '@duckdb/node-api';

export type LakeRow = Record<string, JS>;

/** Every published Parquet file below `dir` (temp files excluded), optionally only dead letters. */
export function parquetFiles(dir: string, kind: 'data' | 'dead-letter' = 'data'): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    if (!existsSync(folder)) return;
    for (const name of readdirSync(folder)) {
      const entry = path.join(folder, name);
      if (statSync(entry).isDirectory()) {
        walk(entry);
      } else if (name.endsWith('.parquet') && !name.startsWith('.')) {
        const isDeadLetter = entry.split(path.sep).includes('_dead_letter');
        if (isDeadLetter === (kind === 'dead-letter')) found.push(entry);
      }
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * Runs `sql` where `{files}` stands for read_parquet over the given files (with a filename column),
 * merging their schemas by name unless `unionByName` is false (then the files must agree).
 */
export async function queryFiles(files: readonly string[], sql: string, { unionByName = true } = {}): Promise<LakeRow[]> {
  if (files.length === 0) throw new Error('no Parquet files to query');
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  try {
    const list = files.map((file) => `'${file.replace(/'/g, "''")}'`).join(', ');
    const source = `read_parquet([${list}], filename = true, union_by_name = ${unionByName})`;
    const reader = await connection.runAndReadAll(sql.replace(/\{files\}/g, source));
    return reader.getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export async function queryLake(dir: string, sql: string, kind: 'data' | 'dead-letter' = 'data'): Promise<LakeRow[]> {
  return queryFiles(parquetFiles(dir, kind), sql);
}
