import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package version, written into every file footer; read at run time from dist/ or src/ alike. */
export const COLLECTOR_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
