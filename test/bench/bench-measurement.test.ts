/** The benchmark's bookkeeping (not the benchmark: nothing here is timed). */
import { spawn } from 'node:child_process';
import { combine, distinctRead, mergeHighest, type BareReport } from './bare-consumer';
import { descendantsOf, parseStat, sampleTree, steadyCount, TreeRecorder } from './process-tree';

describe('process tree sampling', () => {
  it('reads utime, stime and RSS after a command name holding spaces and parentheses', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 7 0 100 123456 789';
    expect(parseStat(`42 (node (worker) x) ${rest}`)).toEqual({ utimeTicks: 250, stimeTicks: 40, rssPages: 789 });
    expect(parseStat('garbage')).toBeNull();
  });

  it('takes the tree size most samples saw, not a startup blip', () => {
    expect(steadyCount(new Map([[3, 2], [1, 40]]))).toBe(1);
    expect(steadyCount(new Map([[2, 5], [3, 5]]))).toBe(3);
  });

  it('sums RSS over the live tree and keeps every process last CPU reading', async () => {
    const child = spawn('sleep', ['5']);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(descendantsOf(process.pid)).toContain(child.pid);
      const sample = sampleTree([process.pid, ...descendantsOf(process.pid)]);
      const own = sample.processes.find((p) => p.pid === process.pid);
      expect(own?.rssBytes).toBeGreaterThan(0);
      expect(sample.rssBytes).toBeGreaterThan(own?.rssBytes ?? 0);
      const recorder = new TreeRecorder();
      recorder.add(sample);
      recorder.add({ rssBytes: 1, processes: [{ pid: process.pid, rssBytes: 1, cpuS: 1e6 }] });
      expect(recorder.peakRssBytes).toBe(sample.rssBytes);
      expect(recorder.distinctProcesses).toBe(sample.processes.length);
      expect(recorder.cpuLowerBoundS).toBeGreaterThanOrEqual(1e6);
    } finally {
      child.kill();
    }
  });
});

describe('bare consumer group bookkeeping', () => {
  it('counts distinct messages from the highest offset per partition, re-reads included once', () => {
    const highest = new Map<number, number>();
    mergeHighest(highest, [[0, 9], [1, 4]]);
    mergeHighest(highest, [[0, 5], [2, 0]]);
    expect(distinctRead(highest)).toBe(10 + 5 + 1);
  });

  it('adds the members up, placing their first and last message on one clock', () => {
    const member = (consumed: number, first: number, last: number, assigned: number): BareReport => ({
      messages: consumed, consumed, valueBytes: consumed * 10, processes: 1, assignedEpochMs: assigned, firstMessageS: first, lastMessageS: last,
    });
    const report = combine(
      [
        { report: member(60, 0.5, 2, 1_000), startedEpochMs: 500 },
        { report: member(50, 0.2, 1, 1_200), startedEpochMs: 1_500 },
        { report: member(0, -1, -1, -1), startedEpochMs: 1_500 },
      ],
      100,
    );
    expect(report).toEqual({ messages: 100, consumed: 110, valueBytes: 1_100, processes: 3, assignedEpochMs: 1_000, firstMessageS: 0.5, lastMessageS: 2 });
  });
});
