import { combinedLiveness, combinedProgress, combinedReadiness, restartDelayMs, type WorkerReport } from '../../../src/cluster/health';

const report = (index: number, overrides: Partial<WorkerReport> = {}): WorkerReport => ({
  index,
  liveness: { name: 'consume-loop', ok: true },
  readiness: [
    { name: 'kafka-connected', ok: true },
    { name: 'output-writable', ok: true },
  ],
  reportedAtMs: 1000,
  ...overrides,
});

describe('health over consumer processes', () => {
  it('is live while every process reports a live loop, starting until all reported', () => {
    expect(combinedLiveness([report(0), report(1)], 2, 1500, 3000)).toEqual({ name: 'consume-loop', ok: true, detail: undefined });
    expect(combinedLiveness([report(0)], 2, 1500, 3000)).toMatchObject({ ok: true, detail: 'starting' });
    expect(combinedLiveness([report(0), report(1, { liveness: { name: 'consume-loop', ok: false, detail: 'no consume iteration for 9 ms' } })], 2, 1500, 3000)).toEqual({
      name: 'consume-loop',
      ok: false,
      detail: 'worker 1: no consume iteration for 9 ms',
    });
    expect(combinedLiveness([report(0, { reportedAtMs: 4000 }), report(1, { reportedAtMs: 0 })], 2, 5000, 3000)).toMatchObject({ ok: false, detail: 'worker 1: no report for 5000 ms' });
  });

  it('is ready when every check passes in every process and all are up, naming the process that fails', () => {
    expect(combinedReadiness([report(0), report(1)], 2).every((check) => check.ok)).toBe(true);
    const failing = combinedReadiness([report(0), report(1, { readiness: [{ name: 'kafka-connected', ok: true }, { name: 'output-writable', ok: false, detail: 'disk full' }] })], 2);
    expect(failing.filter((check) => !check.ok)).toEqual([{ name: 'output-writable', ok: false, detail: 'worker 1: disk full' }]);
    expect(combinedReadiness([report(0)], 2).filter((check) => !check.ok)).toEqual([{ name: 'workers-up', ok: false, detail: '1 of 2 consumer processes up' }]);
  });

  it('adds the processes\' progress per topic', () => {
    expect(
      combinedProgress([
        [{ topic: 'a', done: 5, total: 10 }],
        [
          { topic: 'a', done: 1, total: 4 },
          { topic: 'b', done: 2, total: 2 },
        ],
      ]),
    ).toEqual([
      { topic: 'a', done: 6, total: 14 },
      { topic: 'b', done: 2, total: 2 },
    ]);
  });

  it('backs restarts off from 1 s to 30 s', () => {
    expect([1, 2, 3, 6, 10].map(restartDelayMs)).toEqual([1000, 2000, 4000, 30_000, 30_000]);
  });
});
