import { consumerProcesses, coresFromCpuMax, encoderThreads } from '../../../src/cluster/process-count';

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

  it('takes the cores for auto and the configured count otherwise', () => {
    expect(consumerProcesses('auto', 2)).toBe(2);
    expect(consumerProcesses('auto', 0)).toBe(1);
    expect(consumerProcesses(3, 2)).toBe(3);
  });

  it('gives each process the cores left to it for encoding, at least one thread', () => {
    expect(encoderThreads('auto', 2, 1)).toBe(2);
    expect(encoderThreads('auto', 2, 2)).toBe(1);
    expect(encoderThreads('auto', 2, 4)).toBe(1);
    expect(encoderThreads(3, 2, 2)).toBe(3);
  });
});
