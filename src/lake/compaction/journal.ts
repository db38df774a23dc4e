import { CollectorError } from '../../errors';
import type { LakeStore } from '../store/lake-store';

/**
 * The commit point of a compaction. Once every output is durable under its hidden
 * `.….parquet.compacting` key, the journal (what to move, what to remove, the closed-day marker) is
 * written whole beside them; from then on the compaction is finished by whoever reads the journal:
 * the compactor itself, or the start-up repair after a crash. Without a journal, an interrupted
 * compaction is undone instead (its hidden outputs are removed: the parts are all still there).
 * Keys are the lake's, so another pod that mounts the lake elsewhere can finish it too.
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
  /** `path` holds the marker's key (the field's name in journals written before the store seam). */
  readonly marker: { readonly path: string; readonly content: unknown };
}

export type JournalStep = 'renamed' | 'removed' | 'marked';

export async function writeJournal(store: LakeStore, key: string, journal: CompactionJournal): Promise<void> {
  await store.replace(key, Buffer.from(JSON.stringify(journal)));
}

/** The journal at `key`, or null when there is none; a torn one is impossible (written whole). */
export async function readJournal(store: LakeStore, key: string): Promise<CompactionJournal | null> {
  const bytes = await store.read(key);
  if (bytes === null) return null;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as CompactionJournal;
  } catch (error) {
    throw new CollectorError('COMPACTION_INCONSISTENT', `unreadable compaction journal ${key}`, { cause: error, context: { key } });
  }
}

/**
 * Finishes a committed compaction; every step can run again after a crash. An output whose hidden
 * object is gone was moved already; its final object must then exist, or nothing is removed.
 */
export async function applyJournal(
  store: LakeStore,
  key: string,
  journal: CompactionJournal,
  onStep: (step: JournalStep) => Promise<void> | void = () => undefined,
): Promise<void> {
  for (const output of journal.outputs) {
    if ((await store.stat(output.temp)) !== null) await store.move(output.temp, output.final);
    else if ((await store.stat(output.final)) === null) {
      throw new CollectorError('COMPACTION_INCONSISTENT', `compacted file ${output.final} and its hidden output are both missing`, {
        context: { journal: key, final: output.final },
      });
    }
  }
  await onStep('renamed');
  await store.remove(journal.remove);
  await onStep('removed');
  await store.replace(journal.marker.path, Buffer.from(`${JSON.stringify(journal.marker.content, null, 2)}\n`));
  await onStep('marked');
  await store.remove([key]);
}
