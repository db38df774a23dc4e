/**
 * bin/redpanda-parquet-collector, the entry point of the image and of `npm start`: Node must start
 * with the heap limits the memory budget plans and with the malloc settings, and whatever the user
 * set in NODE_OPTIONS or the malloc variables wins. The collector reports what it runs with in its
 * config_loaded event; the expected heap limit is what Node itself reports for the same options.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killRunningCollectors, runCli, type CliResult } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, createTopic, uniqueName } from '../harness/kafka';

const MIB = 1024 * 1024;

/** heap_size_limit in MiB of a Node started with these options, rounded as the collector logs it. */
function heapLimitMiB(nodeOptions: readonly string[]): number {
  const bytes = execFileSync(process.execPath, [...nodeOptions, '-p', 'require("v8").getHeapStatistics().heap_size_limit'], { encoding: 'utf8' });
  return Math.round(Number(bytes) / MIB);
}

/** A one-shot run over an empty topic: it loads the config, connects, finds nothing to do, exits 0. */
async function runOnceOnEmptyTopic(env: Readonly<Record<string, string>>, args: readonly string[] = []): Promise<Record<string, unknown>> {
  const topic = uniqueName('launcher');
  await createTopic(topic, 1);
  const result: CliResult = await runCli(['--once', ...args], {
    BOOTSTRAP_SERVERS: bootstrapServers(),
    OUTPUT_DIR: tempOutputDir(),
    TOPICS: topic,
    GROUP_ID: uniqueName('group'),
    LOG_LEVEL: 'info',
    ...env,
  });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const loaded = result.events.find((entry) => entry.event === 'config_loaded');
  expect(loaded).toBeDefined();
  return loaded?.runtime as Record<string, unknown>;
}

afterEach(killRunningCollectors);

describe('the launcher', () => {
  it('starts Node with the heap limits planned for MEMORY_BUDGET_BYTES, and malloc with two arenas', async () => {
    const runtime = await runOnceOnEmptyTopic({ MEMORY_BUDGET_BYTES: String(64 * MIB) });
    // The launcher runs the `node` first on PATH: under npm test, the one scripts/with-node.sh chose
    // for these tests (the image's major), not the machine's own.
    expect(runtime.node).toBe(process.version);
    expect(runtime).toMatchObject({ plannedOldSpaceMiB: 128, plannedSemiSpaceMiB: 2, plannedOldSpaceFloorMiB: 32, mallocArenaMax: '2', mallocMmapThreshold: '131072' });
    expect(runtime.heapOptions).toBe('--max-old-space-size=128 --max-semi-space-size=2 --initial-old-space-size=32');
    expect(runtime.heapLimitMiB).toBe(heapLimitMiB(['--max-old-space-size=128', '--max-semi-space-size=2']));
    // Not Node's default: the limit really came from the budget.
    expect(runtime.heapLimitMiB).not.toBe(heapLimitMiB([]));
  });

  it('plans from the budget in the config file named by --config', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'collector-config-')), 'collector.json');
    writeFileSync(file, JSON.stringify({ flush: { memoryBudgetBytes: 96 * MIB } }));
    const runtime = await runOnceOnEmptyTopic({}, ['--config', file]);
    expect(runtime.heapLimitMiB).toBe(heapLimitMiB(['--max-old-space-size=160', '--max-semi-space-size=3']));
  });

  it("leaves the user's own heap options and malloc settings alone", async () => {
    const runtime = await runOnceOnEmptyTopic({ NODE_OPTIONS: '--max-old-space-size=200', MALLOC_ARENA_MAX: '4' });
    expect(runtime.heapLimitMiB).toBe(heapLimitMiB(['--max-old-space-size=200']));
    expect(runtime.mallocArenaMax).toBe('4');
  });

  it('passes a bad configuration through to the collector, which names every wrong key and exits 2', async () => {
    const result = await runCli(['--once'], { MEMORY_BUDGET_BYTES: 'lots', BATCH_SIZE: '-1', OUTPUT_DIR: tempOutputDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/MEMORY_BUDGET_BYTES/);
    expect(result.stderr).toMatch(/BATCH_SIZE/);
  });
});
