import { randomBytes } from 'node:crypto';
import { openAsBlob, promises as fs } from 'node:fs';
import path from 'node:path';
import { CollectorError } from '../../errors';
import { fenceExpired, isFenceExpired, type Body, type LakeStore, type ListOptions, type Listing, type StoredObject } from './lake-store';

/**
 * The lake in a folder of the local filesystem (or a mounted volume). An object becomes visible
 * only when complete and durable: written under a hidden temp name beside its key, fsynced, then
 * linked to its key (link fails when the key exists, which makes `create` create-only without a
 * window), and the folder fsynced so the new name survives a power cut. Readers that glob
 * `*.parquet` never see a temp file (dot prefix, `.tmp` suffix), nor does `list`.
 */

const TEMP_SUFFIX = '.tmp';

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

export class LocalStore implements LakeStore {
  readonly location: string;

  constructor(readonly root: string) {
    this.location = root;
  }

  async create(key: string, body: Body, stillValid?: () => boolean): Promise<boolean> {
    const finalPath = this.pathOf(key);
    const temp = this.tempPathFor(finalPath);
    try {
      const created = await fs.mkdir(path.dirname(finalPath), { recursive: true });
      await writeNewFile(temp, body);
      if (stillValid !== undefined && !stillValid()) throw fenceExpired(finalPath);
      const linked = await fs.link(temp, finalPath).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return false;
          throw error;
        },
      );
      await fs.rm(temp, { force: true });
      if (linked) await fsyncFolder(path.dirname(finalPath));
      // New folders must reach disk too, or a crash could lose the new name along with its folder.
      if (linked && created !== undefined) await fsyncNewAncestors(path.dirname(finalPath), created);
      return linked;
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw isFenceExpired(error) ? error : publishFailed(finalPath, error);
    }
  }

  async replace(key: string, body: Body): Promise<void> {
    const finalPath = this.pathOf(key);
    const temp = this.tempPathFor(finalPath);
    try {
      await fs.mkdir(path.dirname(finalPath), { recursive: true });
      await writeNewFile(temp, body);
      await fs.rename(temp, finalPath);
      await fsyncFolder(path.dirname(finalPath));
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw publishFailed(finalPath, error);
    }
  }

  async read(key: string): Promise<Uint8Array | null> {
    return fs.readFile(this.pathOf(key)).catch(ifAbsent(null));
  }

  /** openAsBlob of a missing file fails only when read: the stat makes a missing key fail here. */
  async open(key: string): Promise<Blob> {
    const filePath = this.pathOf(key);
    await fs.stat(filePath);
    return openAsBlob(filePath);
  }

  async stat(key: string): Promise<StoredObject | null> {
    const stats = await fs.stat(this.pathOf(key)).catch(ifAbsent(null));
    return stats !== null && stats.isFile() ? { key, size: stats.size, modifiedMs: stats.mtimeMs } : null;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<Listing> {
    const slash = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    const objects: StoredObject[] = [];
    const prefixes: string[] = [];
    if (options.changedSinceMs !== undefined && !(await this.changedSince(folderKey, options.changedSinceMs))) return { objects, prefixes };
    const walk = async (key: string, nameFilter: string): Promise<void> => {
      const entries = await fs.readdir(this.pathOf(key), { withFileTypes: true }).catch(ifAbsent([]));
      for (const entry of entries.sort((a, b) => compareKeys(a.name, b.name))) {
        if (!entry.name.startsWith(nameFilter) || isTempName(entry.name)) continue;
        const entryKey = `${key}${entry.name}`;
        if (entry.isDirectory()) {
          if (options.delimiter === true) prefixes.push(`${entryKey}/`);
          else await walk(`${entryKey}/`, '');
        } else if (entry.isFile()) {
          const stats = await fs.stat(this.pathOf(entryKey)).catch(ifAbsent(null));
          if (stats !== null) objects.push({ key: entryKey, size: stats.size, modifiedMs: stats.mtimeMs });
        }
      }
    };
    await walk(folderKey, namePrefix);
    const after = options.startAfter;
    return {
      objects: after === undefined ? objects.sort((a, b) => compareKeys(a.key, b.key)) : objects.filter((object) => compareKeys(object.key, after) > 0).sort((a, b) => compareKeys(a.key, b.key)),
      prefixes: after === undefined ? prefixes : prefixes.filter((entry) => compareKeys(entry, after) > 0),
    };
  }

  /** A folder gains an entry, and a newer mtime, on every name created in it. */
  private async changedSince(folderKey: string, sinceMs: number): Promise<boolean> {
    const stats = await fs.stat(this.pathOf(folderKey)).catch(ifAbsent(null));
    return stats !== null && stats.mtimeMs >= sinceMs;
  }

  /** Removes the files and fsyncs their folders; a folder the removals emptied goes too, as it would on object storage. */
  async remove(keys: readonly string[]): Promise<void> {
    const folders = new Set<string>();
    for (const key of keys) {
      const filePath = this.pathOf(key);
      await fs.rm(filePath, { force: true });
      folders.add(path.dirname(filePath));
    }
    for (const folder of folders) {
      if (folder === this.root) continue;
      // rmdir fails on a folder that still holds something (a part published meanwhile): that is fine.
      const removed = await fs.rmdir(folder).then(
        () => true,
        () => false,
      );
      await fsyncFolder(removed ? path.dirname(folder) : folder).catch(() => undefined);
    }
  }

  async now(): Promise<number> {
    return Date.now();
  }

  /** Temp files older than `minAgeMs`: younger ones may be another live collector's, writing into the same folder. */
  async sweepAbandoned(minAgeMs: number): Promise<string[]> {
    const removed: string[] = [];
    const nowMs = Date.now();
    const walk = async (folder: string): Promise<void> => {
      for (const entry of await fs.readdir(folder, { withFileTypes: true }).catch(() => [])) {
        const entryPath = path.join(folder, entry.name);
        if (entry.isDirectory()) await walk(entryPath);
        else if (isTempName(entry.name)) {
          const stats = await fs.stat(entryPath).catch(() => null);
          if (stats !== null && nowMs - stats.mtimeMs >= minAgeMs) {
            await fs.rm(entryPath, { force: true });
            removed.push(entryPath);
          }
        }
      }
    };
    await walk(this.root);
    return removed;
  }

  /** A filesystem refuses a second link to one name by itself: what is left to probe is whether files can be created. */
  probe(): Promise<string | null> {
    return this.check();
  }

  /**
   * Whether files can really be created here. access(W_OK) is not enough: it says yes to root on a
   * read-only bind mount's permission bits, and to a path that is a file. Creating and removing a
   * probe file asks the filesystem itself.
   */
  async check(): Promise<string | null> {
    try {
      // EEXIST: the path is taken by a file; the stat below says so more plainly.
      await fs.mkdir(this.root, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      if (!(await fs.stat(this.root)).isDirectory()) return 'exists but is not a directory';
      // Dot-prefixed and without a .parquet suffix: readers globbing the lake never see it.
      const probe = path.join(this.root, `.write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
      await fs.writeFile(probe, '', { flag: 'wx' });
      await fs.unlink(probe);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  close(): void {
    // Nothing is held open between requests.
  }

  /** The file of a key; keys come from layout.ts, which keeps every one inside the root. */
  pathOf(key: string): string {
    return key === '' ? this.root : path.join(this.root, ...key.split('/'));
  }

  /** Unique per call: two writers of one key (a retry, another collector) never share a temp file. */
  private tempPathFor(finalPath: string): string {
    return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  }
}

/** S3's order: by UTF-16 code units of the key is close enough for the ASCII keys layout.ts builds. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function ifAbsent<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return value;
    throw error;
  };
}

/** Writes a new file (never an existing one) from the body as it comes, then fsyncs it. */
async function writeNewFile(filePath: string, body: Body): Promise<void> {
  const handle = await fs.open(filePath, 'wx');
  try {
    const chunks = body instanceof Uint8Array ? [body] : body;
    for await (const chunk of chunks) {
      // write() may write less than asked (a nearly full disk): loop until the chunk is out.
      for (let done = 0; done < chunk.byteLength; ) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs each folder from the parent of the first created one down to `folder`. */
async function fsyncNewAncestors(folder: string, firstCreated: string): Promise<void> {
  let current = path.dirname(folder);
  const stop = path.dirname(firstCreated);
  for (;;) {
    await fsyncFolder(current);
    if (current === stop || current === path.dirname(current)) return;
    current = path.dirname(current);
  }
}

function publishFailed(filePath: string, error: unknown): CollectorError {
  return new CollectorError('PUBLISH_FAILED', `could not publish ${filePath}: ${(error as Error).message}`, {
    cause: error,
    context: { path: filePath, errno: (error as NodeJS.ErrnoException).code ?? null },
  });
}
