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
