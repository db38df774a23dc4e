import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { librdkafkaVersion } from '@confluentinc/kafka-javascript';

const ROOT = path.join(__dirname, '..');

/** The package version, written into every file footer; read at run time from dist/ or src/ alike. */
export const COLLECTOR_VERSION: string = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What runs, for the collector_build_info metric: which build to blame when two replicas differ. */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly node: string;
  readonly librdkafka: string;
}

/**
 * The image has no .git: its build bakes the commit in as COLLECTOR_COMMIT (a build argument, see
 * the Dockerfile). A checkout asks git once. Anything else is "unknown", never a failure.
 */
export function buildCommit(env: NodeJS.ProcessEnv = process.env): string {
  const baked = env.COLLECTOR_COMMIT?.trim();
  if (baked) return baked;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).toString().trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= { version: COLLECTOR_VERSION, commit: buildCommit(), node: process.version, librdkafka: librdkafkaVersion };
  return cached;
}
