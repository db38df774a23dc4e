import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CollectorError } from '../../errors';
import { tempPathFor } from '../layout';
import { publishFile, removeDurably, renameDurably } from '../publish';

/**
 * The commit point of a compaction. Once every output is durable under its hidden
 * `.….parquet.compacting` name, the journal (what to rename, what to remove, the closed-day
 * marker) is published atomically beside them; from then on the compaction is finished by
 * whoever reads the journal: the compactor itself, or the start-up repair after a crash. Without
 * a journal, an interrupted compaction is undone instead (its hidden outputs are removed: the
 * parts are all still there). Paths are relative to OUTPUT_DIR, so another pod that mounts the
 * lake elsewhere can finish it too.
 */

export interface JournalOutput {
  readonly temp: string;
  readonly final: string;
}

export interface CompactionJournal {
  readonly version: 1;
  readonly owner: string;
  readonly outputs: readonly JournalOutput[];
  /** Parts merged into the outputs, and compacted files the outputs replace without overwriting. */
  readonly remove: readonly string[];
  readonly marker: { readonly path: string; readonly content: unknown };
}

export type JournalStep = 'renamed' | 'removed' | 'marked';

export async function writeJournal(journalPath: string, journal: CompactionJournal): Promise<void> {
  await publishOver(journalPath, Buffer.from(JSON.stringify(journal)));
}

/** publishFile, after removing the temp file a crash may have left under the same name (the lock is held). */
async function publishOver(finalPath: string, bytes: Uint8Array): Promise<void> {
  await fs.rm(tempPathFor(finalPath), { force: true });
  await publishFile(finalPath, bytes);
}

/** The journal at `journalPath`, or null when there is none; a torn one is impossible (published by rename). */
export async function readJournal(journalPath: string): Promise<CompactionJournal | null> {
  const text = await fs.readFile(journalPath, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as CompactionJournal;
  } catch (error) {
    throw new CollectorError('COMPACTION_INCONSISTENT', `unreadable compaction journal ${journalPath}`, { cause: error, context: { path: journalPath } });
  }
}

/**
 * Finishes a committed compaction; every step can run again after a crash. An output whose hidden
 * file is gone was renamed already; its final file must then exist, or nothing is removed.
 */
export async function applyJournal(
  outputDir: string,
  journalPath: string,
  journal: CompactionJournal,
  onStep: (step: JournalStep) => Promise<void> | void = () => undefined,
): Promise<void> {
  const absolute = (relative: string): string => path.join(outputDir, relative);
  for (const output of journal.outputs) {
    const temp = absolute(output.temp);
    if (await exists(temp)) await renameDurably(temp, absolute(output.final));
    else if (!(await exists(absolute(output.final)))) {
      throw new CollectorError('COMPACTION_INCONSISTENT', `compacted file ${output.final} and its hidden output are both missing`, {
        context: { journal: journalPath, final: output.final },
      });
    }
  }
  await onStep('renamed');
  await removeDurably(journal.remove.map(absolute));
  for (const folder of new Set(journal.remove.map((file) => path.dirname(absolute(file))))) {
    // An emptied part folder goes too, so `YYYY/MM/DD/*` lists only the compacted files; a part
    // published meanwhile keeps it (rmdir fails on a non-empty folder, which is fine).
    if (!journal.outputs.some((output) => path.dirname(absolute(output.final)) === folder)) await fs.rmdir(folder).catch(() => undefined);
  }
  await onStep('removed');
  await publishOver(absolute(journal.marker.path), Buffer.from(`${JSON.stringify(journal.marker.content, null, 2)}\n`));
  await onStep('marked');
  await removeDurably([journalPath]);
}

async function exists(filePath: string): Promise<boolean> {
  return fs.access(filePath).then(
    () => true,
    () => false,
  );
}
