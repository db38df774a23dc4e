/** The short chaos run of `npm test` (the long one is `npm run chaos`, at least 20 kills). */
import { runChaos } from '../harness/chaos';
import { uniqueName } from '../harness/kafka';
import { s3LakeOf } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';

describe('chaos: SIGKILL at random moments while producing', () => {
  it('loses nothing and duplicates nothing over 4 kills', async () => {
    const figures = await runChaos({ kills: 4 });
    process.stderr.write(`[chaos] ${JSON.stringify(figures)}\n`);
    expect(figures.kills).toBe(4);
    expect(figures.produced).toBeGreaterThan(0);
    expect({ lost: figures.lost, duplicated: figures.duplicated, written: figures.written }).toEqual({ lost: 0, duplicated: 0, written: figures.produced });
  }, 600_000);
});

describe('chaos: SIGKILL at random moments while the daemon compacts closed days', () => {
  it('loses nothing and duplicates nothing, before and after the last compaction', async () => {
    const figures = await runChaos({ kills: 6, compaction: true });
    process.stderr.write(`[chaos+compaction] ${JSON.stringify(figures)}\n`);
    expect(figures.compactions).toBeGreaterThan(0);
    expect({ lost: figures.lost, duplicated: figures.duplicated, written: figures.written }).toEqual({ lost: 0, duplicated: 0, written: figures.produced });
    expect(figures.afterCompaction).toEqual({ lost: 0, duplicated: 0, written: figures.produced, partsLeft: 0 });
  }, 600_000);
});

describe('chaos: MAX_WORKERS=2, SIGKILL of the primary and of single consumer processes', () => {
  it('loses nothing and duplicates nothing', async () => {
    const figures = await runChaos({ kills: 6, workers: 2 });
    process.stderr.write(`[chaos+workers] ${JSON.stringify(figures)}\n`);
    expect(figures.workerKills).toBeGreaterThan(0);
    expect({ lost: figures.lost, duplicated: figures.duplicated, written: figures.written }).toEqual({ lost: 0, duplicated: 0, written: figures.produced });
  }, 600_000);
});

describe('chaos on S3: MAX_WORKERS=2 compacting into a bucket, SIGKILL of the primary and of single consumer processes', () => {
  const server = s3ServerForSuite('chaos-lake');

  it('loses nothing and duplicates nothing, before and after the last compaction, and leaves no part', async () => {
    const target = s3LakeOf(server(), uniqueName('lake'));
    try {
      const figures = await runChaos({ kills: 6, workers: 2, compaction: true, lake: target });
      process.stderr.write(`[chaos+s3] ${JSON.stringify(figures)}\n`);
      expect(figures.workerKills).toBeGreaterThan(0);
      expect({ lost: figures.lost, duplicated: figures.duplicated, written: figures.written }).toEqual({ lost: 0, duplicated: 0, written: figures.produced });
      expect(figures.afterCompaction).toEqual({ lost: 0, duplicated: 0, written: figures.produced, partsLeft: 0 });
    } finally {
      target.lake.store.close();
    }
  }, 600_000);
});
