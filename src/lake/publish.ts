import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CollectorError } from '../errors';
import { isTempFileName, tempPathFor } from './layout';

/**
 * A file becomes visible only when complete and durable: written under a hidden temp name beside
 * its final path, fsynced, renamed atomically, and the folder fsynced so the rename survives a
 * power cut. Readers that glob `*.parquet` never see a temp file (dot prefix, `.tmp` suffix).
 */

/** Unique per process start: file names never clash across restarts or instances sharing a folder. */
export function newInstanceId(): string {
  return randomBytes(4).toString('hex');
}

export async function publishFile(finalPath: string, bytes: Uint8Array): Promise<void> {
  const folder = path.dirname(finalPath);
  const tempPath = tempPathFor(finalPath);
  try {
    const created = await fs.mkdir(folder, { recursive: true });
    await writeDurably(tempPath, bytes);
    await fs.rename(tempPath, finalPath);
    await fsyncFolder(folder);
    // New folders must reach disk too, or a crash could lose the rename along with its folder.
    if (created !== undefined) await fsyncNewAncestors(folder, created);
  } catch (error) {
    await fs.rm(tempPath, { force: true }).catch(() => undefined);
    throw new CollectorError('PUBLISH_FAILED', `could not publish ${finalPath}: ${(error as Error).message}`, {
      cause: error,
      context: { path: finalPath, bytes: bytes.byteLength, errno: (error as NodeJS.ErrnoException).code ?? null },
    });
  }
}

async function writeDurably(filePath: string, bytes: Uint8Array): Promise<void> {
  await writeChunksDurably(filePath, [bytes]);
}

/**
 * Writes a new file (never an existing one) from chunks as they come, then fsyncs it; returns its
 * size. A large file is streamed this way without ever being whole in memory.
 */
export async function writeChunksDurably(filePath: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
  await fs.mkdir(path.dirname(filePath), { recursive: true });
  const handle = await fs.open(filePath, 'wx');
  let size = 0;
  try {
    for await (const chunk of chunks) {
      // write() may write less than asked (a nearly full disk): loop until the chunk is out.
      for (let done = 0; done < chunk.byteLength; ) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
      size += chunk.byteLength;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return size;
}

/** Renames within one folder and fsyncs the folder: after it returns, the rename survives a power cut. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  await fsyncFolder(path.dirname(to));
}

/** Removes files (absent ones too) and fsyncs each folder they were in. */
export async function removeDurably(files: readonly string[]): Promise<void> {
  const folders = new Set<string>();
  for (const file of files) {
    await fs.rm(file, { force: true });
    folders.add(path.dirname(file));
  }
  for (const folder of folders) await fsyncFolder(folder).catch(() => undefined);
}

export async function fsyncFolder(folder: string): Promise<void> {
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

/**
 * Removes temp files a crash left behind. Only those older than `minAgeMs`: another collector
 * sharing the output folder may be writing its own right now.
 */
export async function sweepTempFiles(outputDir: string, nowMs: number, minAgeMs: number): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const entryPath = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        await walk(entryPath);
      } else if (isTempFileName(entry.name)) {
        const stat = await fs.stat(entryPath).catch(() => null);
        if (stat !== null && nowMs - stat.mtimeMs >= minAgeMs) {
          await fs.rm(entryPath, { force: true });
          removed.push(entryPath);
        }
      }
    }
  };
  await walk(outputDir);
  return removed;
}
