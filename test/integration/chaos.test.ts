/** The short chaos run of `npm test` (the long one is `npm run chaos`, at least 20 kills). */
import { runChaos } from '../harness/chaos';

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
