import path from 'node:path';
import { autoProcesses, bytesFromMemoryMax, coresFromCpuMax, encoderThreads } from '../../../src/cluster/process-count';
import { chooseProcesses, workerConfig } from '../../../src/cluster/roles';
import { loadConfig } from '../../../src/config/load';
import { MIN_PROCESS_SHARE_BYTES, expectedPeakBytes } from '../../../src/config/memory-plan';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const EMPTY = path.join(__dirname, '..', '..', 'harness', 'empty-config.json');

describe('process counts', () => {
  it.each<[string, number | null]>([
    ['max 100000', null],
    ['200000 100000', 2],
    ['150000 100000', 2],
    ['50000 100000', 1],
    ['garbage', null],
    ['', null],
  ])('cpu.max %j allows %j cores', (text, cores) => {
    expect(coresFromCpuMax(text)).toBe(cores);
  });

  it.each<[string, number | null]>([
    ['max\n', null],
    ['805306368\n', 768 * MIB],
    ['0', null],
    ['', null],
  ])('memory.max %j allows %j bytes', (text, bytes) => {
    expect(bytesFromMemoryMax(text)).toBe(bytes);
  });

  it('gives each process the cores left to it for encoding, at least one thread', () => {
    expect(encoderThreads('auto', 2, 1)).toBe(2);
    expect(encoderThreads('auto', 2, 2)).toBe(1);
    expect(encoderThreads('auto', 2, 4)).toBe(1);
    expect(encoderThreads(3, 2, 2)).toBe(3);
  });
});

describe('MAX_WORKERS=auto', () => {
  it('takes the available cores when the budget and memory allow them', () => {
    expect(autoProcesses(2, 256 * MIB, null)).toMatchObject({ processes: 2, boundBy: 'cores' });
    expect(autoProcesses(0, 256 * MIB, null)).toMatchObject({ processes: 1, boundBy: 'cores' });
  });

  it('on a 32-core node without a CPU limit, never gives a process less than its minimum share of the budget', () => {
    const choice = autoProcesses(32, 256 * MIB, null);
    expect(choice).toMatchObject({ processes: 4, boundBy: 'memory-budget' });
    expect(256 * MIB / choice.processes).toBeGreaterThanOrEqual(MIN_PROCESS_SHARE_BYTES);
    expect(autoProcesses(32, 32 * MIB, null)).toMatchObject({ processes: 1, boundBy: 'memory-budget' });
  });

  it('fits the processes and their runtime into the container\'s memory limit', () => {
    // 768 MiB, the Kubernetes example's limit: 3 processes expect 256 + 90 + 3 x 130 = 736 MiB.
    const choice = autoProcesses(32, 256 * MIB, 768 * MIB);
    expect(choice).toMatchObject({ processes: 3, boundBy: 'container-memory' });
    expect(expectedPeakBytes(256 * MIB, 3)).toBeLessThanOrEqual(768 * MIB);
    expect(expectedPeakBytes(256 * MIB, 4)).toBeGreaterThan(768 * MIB);
    // Too small even for one: still one process (the log says the limit is too small).
    expect(autoProcesses(8, 256 * MIB, 300 * MIB)).toMatchObject({ processes: 1, boundBy: 'container-memory' });
    expect(autoProcesses(8, 1 * GIB, 8 * GIB).processes).toBe(8);
  });

  it('says in the start-up log what it chose and which bound chose it', () => {
    const { why } = autoProcesses(32, 256 * MIB, 768 * MIB);
    expect(why).toBe(
      "MAX_WORKERS=auto: 3 consumer processes, the least of: 32 available cores; MEMORY_BUDGET_BYTES 256 MiB holds 4 shares of at least 64 MiB; the container's 768 MiB hold 3 (budget + runtime: 736 MiB)",
    );
    expect(autoProcesses(2, 256 * MIB, null).why).toContain('no container memory limit found');
  });

  it('is left alone when MAX_WORKERS is a number, and is one process for a one-shot run with MAX_MESSAGES', () => {
    const config = (env: Record<string, string>) => loadConfig({ file: EMPTY, env }).config;
    expect(chooseProcesses(config({ MAX_WORKERS: '6' }), 32, 256 * MIB)).toEqual({ processes: 6, why: 'MAX_WORKERS=6' });
    expect(chooseProcesses(config({ RUN_MODE: 'once', MAX_MESSAGES: '10' }), 32, null).processes).toBe(1);
    expect(chooseProcesses(config({}), 32, 768 * MIB).processes).toBe(3);
  });

  it('hands the primary\'s count to each consumer process, whose own share would choose another', () => {
    const primary = loadConfig({ file: EMPTY, env: {} }).config;
    const worker = workerConfig(primary, { index: 0, processes: 3 });
    expect(worker.workers.processes).toBe(3);
    expect(chooseProcesses(worker, 32, 768 * MIB).processes).toBe(3);
  });
});
