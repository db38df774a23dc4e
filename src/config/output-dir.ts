import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Whether files can really be created in the output directory. access(W_OK) is not enough: it
 * says yes to root on a read-only bind mount's permission bits, and to a path that is a file.
 * Creating and removing a probe file asks the filesystem itself.
 */

export interface ProbeOptions {
  /** Create the directory (and its parents) first, as the start-up does; readiness does not. */
  readonly create: boolean;
}

/** Resolves with null when a file can be created in `dir`, else with the reason it cannot. */
export async function probeWritableDir(dir: string, options: ProbeOptions): Promise<string | null> {
  try {
    // EEXIST: the path is taken by a file; the stat below says so more plainly.
    if (options.create) await fs.mkdir(dir, { recursive: true }).catch(ignoreCode('EEXIST'));
    const stats = await fs.stat(dir);
    if (!stats.isDirectory()) return 'exists but is not a directory';
    // Dot-prefixed and without a .parquet suffix: readers globbing the lake never see it.
    const probe = path.join(dir, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.writeFile(probe, '', { flag: 'wx' });
    await fs.unlink(probe);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function ignoreCode(code: string): (error: NodeJS.ErrnoException) => void {
  return (error) => {
    if (error.code !== code) throw error;
  };
}
