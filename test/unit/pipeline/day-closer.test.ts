import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { partFileName } from '../../../src/lake/layout';
import { DayCloser } from '../../../src/pipeline/day-closer';
import { queryFiles } from '../../harness/lake';
import { DAY, compactorOptions, records, tempLake, writePart } from '../lake/compaction/lake-fixture';
import { recordEvents } from './fakes';

const MS_PER_DAY = 86_400_000;
const GRACE_MS = 10 * 60_000;

function dayCloser(outputDir: string, nowMs: number, holds: Set<number>, groupCommittedBefore?: (topic: string, instantMs: number) => Promise<boolean>) {
  const recorded = recordEvents();
  const closer = new DayCloser(
    { compactor: compactorOptions(outputDir, { now: () => nowMs }), timeZone: 'UTC', graceMs: GRACE_MS, intervalMs: 60_000 },
    { holdsDay: (_topic, day) => holds.has(day), groupCommittedBefore, events: recorded.events },
  );
  return { closer, recorded };
}

describe('DayCloser', () => {
  it('compacts a closed day the pipeline no longer holds, and leaves an open or held day in parts', async () => {
    const outputDir = tempLake();
    await writePart(outputDir, 't', records(0, 0, 9));
    await writePart(outputDir, 't', records(0, 10, 19));
    await writePart(outputDir, 't', records(0, 20, 24), { day: DAY + 1 });
    await writePart(outputDir, 't', records(0, 25, 29), { day: DAY + 2 });
    // DAY + 1 closed (ended, plus the grace period) 5 s ago; DAY + 2 has not ended yet.
    const nowMs = (DAY + 2) * MS_PER_DAY + GRACE_MS + 5000;
    const { closer, recorded } = dayCloser(outputDir, nowMs, new Set([DAY + 1]));

    await closer.pass();

    expect(existsSync(path.join(outputDir, '2025/10/17/t.parquet'))).toBe(true);
    expect(existsSync(path.join(outputDir, '2025/10/17/t'))).toBe(false);
    expect(await queryFiles([path.join(outputDir, '2025/10/17/t.parquet')], 'SELECT count(*)::INT AS n, count(DISTINCT kafka_offset)::INT AS d FROM {files}')).toEqual([{ n: 20, d: 20 }]);
    // Held by the pipeline (records buffered or being written): left for a later pass, and reported as waiting.
    expect(existsSync(path.join(outputDir, '2025/10/18/t.parquet'))).toBe(false);
    expect(existsSync(path.join(outputDir, '2025/10/19/t.parquet'))).toBe(false);
    expect(recorded.named('dayCompacted').map(([result]) => (result as { status: string }).status)).toEqual(['compacted']);
    expect(recorded.named('closedDaysLeft')).toEqual([[5000]]);
  });

  it('reports a failed compaction and carries on with the other days', async () => {
    const outputDir = tempLake();
    await writePart(outputDir, 't', records(0, 0, 9));
    await writePart(outputDir, 'u', records(0, 0, 9));
    // A part that is not Parquet (a disk fault): t's day cannot be merged.
    writeFileSync(path.join(outputDir, '2025/10/17/t', partFileName(Date.UTC(2025, 9, 17, 13), 'ffff0000', 1)), 'not parquet');
    const { closer, recorded } = dayCloser(outputDir, (DAY + 2) * MS_PER_DAY, new Set());
    await closer.pass();
    expect(recorded.named('compactionFailed').map(([target]) => (target as { topic: string }).topic)).toEqual(['t']);
    expect(existsSync(path.join(outputDir, '2025/10/17/u.parquet'))).toBe(true);
    expect(recorded.named('closedDaysLeft')[0][0]).toBeGreaterThan(0);
  });

  it('leaves a closed day in parts until the group has committed the records stamped before its end, or while that cannot be told', async () => {
    const outputDir = tempLake();
    await writePart(outputDir, 't', records(0, 0, 9));
    const asked: number[] = [];
    let answer = async (): Promise<boolean> => false;
    const { closer, recorded } = dayCloser(outputDir, (DAY + 2) * MS_PER_DAY, new Set(), async (_topic, instantMs) => {
      asked.push(instantMs);
      return answer();
    });
    const compacted = (): boolean => existsSync(path.join(outputDir, '2025/10/17/t.parquet'));

    await closer.pass();
    expect(compacted()).toBe(false);
    expect(asked).toEqual([(DAY + 1) * MS_PER_DAY]);
    answer = async () => {
      throw new Error('brokers unreachable');
    };
    await closer.pass();
    expect(compacted()).toBe(false);
    expect(recorded.named('compactionFailed').map(([target, error]) => [(target as { day: number }).day, (error as Error).message])).toEqual([[DAY, 'brokers unreachable']]);
    answer = async () => true;
    await closer.pass();
    expect(compacted()).toBe(true);
  });
});
