import type { Table } from 'apache-arrow';
import type { CellValue, ColumnData, SealedBatch } from '../../parquet/batch';
import { holdsOffset, type OffsetRange } from '../offset-range';
import type { LakeStore } from '../store/lake-store';
import type { MergePlan, MergeWindow, SourceSummary } from './plan';
import { OFFSET_COLUMN, PARTITION_COLUMN, readSourceRowGroups, unifiedCell } from './sources';

/**
 * Executes the windows of a merge plan: reads a window's row groups, keeps the rows of its
 * partition and offset span that the day's compacted files do not hold yet, orders them by
 * offset, keeps one row per offset (from the oldest part) and yields them in batches of the
 * unified schema. Only one window's row groups are held at a time.
 */

export interface MergeProgress {
  readonly rows: number;
  /** Rows left out: a second copy of an offset, or an offset a compacted file holds. */
  readonly duplicates: number;
}

interface RowRef {
  readonly table: number;
  readonly row: number;
  readonly offset: number;
  readonly source: number;
}

export async function* mergeWindows(
  store: LakeStore,
  sources: readonly SourceSummary[],
  plan: Pick<MergePlan, 'columns' | 'held'>,
  windows: readonly MergeWindow[],
  batchRows: number,
  progress: (update: MergeProgress) => void = () => undefined,
): AsyncGenerator<SealedBatch> {
  for (const window of windows) {
    const { tables, tableSource } = await readWindow(store, sources, window);
    const { rows, duplicates } = selectRows(tables, tableSource, window, plan.held.get(window.partition) ?? []);
    progress({ rows: rows.length, duplicates });
    for (let start = 0; start < rows.length; start += batchRows) {
      yield toBatch(tables, rows.slice(start, start + batchRows), plan.columns);
    }
  }
}

async function readWindow(store: LakeStore, sources: readonly SourceSummary[], window: MergeWindow): Promise<{ tables: Table[]; tableSource: number[] }> {
  const bySource = new Map<number, number[]>();
  for (const { source, rowGroup } of window.rowGroups) bySource.set(source, [...(bySource.get(source) ?? []), rowGroup]);
  const tables: Table[] = [];
  const tableSource: number[] = [];
  for (const [source, rowGroups] of [...bySource].sort((a, b) => a[0] - b[0])) {
    tables.push(await readSourceRowGroups(store, sources[source].key, rowGroups));
    tableSource.push(source);
  }
  return { tables, tableSource };
}

/** The window's rows in offset order, one per offset (from the oldest source), none that `held` holds. */
function selectRows(tables: readonly Table[], tableSource: readonly number[], window: MergeWindow, held: readonly OffsetRange[]): { rows: RowRef[]; duplicates: number } {
  const candidates: RowRef[] = [];
  let heldRows = 0;
  tables.forEach((table, tableIndex) => {
    const partitions = table.getChild(PARTITION_COLUMN);
    const offsets = table.getChild(OFFSET_COLUMN);
    if (partitions === null || offsets === null) return;
    for (let row = 0; row < table.numRows; row++) {
      if (Number(partitions.get(row)) !== window.partition) continue;
      const offset = Number(offsets.get(row));
      if (offset < window.from || offset > window.to) continue;
      if (held.length > 0 && holdsOffset(held, offset)) {
        heldRows++;
        continue;
      }
      candidates.push({ table: tableIndex, row, offset, source: tableSource[tableIndex] });
    }
  });
  candidates.sort((a, b) => a.offset - b.offset || a.source - b.source || a.row - b.row);
  const rows: RowRef[] = [];
  for (const candidate of candidates) {
    if (rows.length > 0 && rows[rows.length - 1].offset === candidate.offset) continue;
    rows.push(candidate);
  }
  return { rows, duplicates: candidates.length - rows.length + heldRows };
}

function toBatch(tables: readonly Table[], rows: readonly RowRef[], columns: MergePlan['columns']): SealedBatch {
  const data: ColumnData[] = columns.map(({ name, type }) => {
    const vectors = tables.map((table) => table.getChild(name));
    const values: CellValue[] = new Array<CellValue>(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = unifiedCell(vectors[rows[i].table], rows[i].row, type);
    return { name, type, values };
  });
  return { rowCount: rows.length, columns: data, metadata: {} };
}
