/** `verify` from the command line: clean output passes; a duplicate or a gap the broker holds fails. */
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runOnce, tempOutputDir } from '../harness/collector';
import { bootstrapServers, createTopic, produce, uniqueName } from '../harness/kafka';
import { parquetFiles } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { runCli } from '../harness/cli';

const DAY = Date.UTC(2025, 9, 17, 8);

async function verify(outputDir: string, ...args: string[]): Promise<{ status: number | null; stdout: string }> {
  const result = await runCli(['verify', '--output-dir', outputDir, ...args], { BOOTSTRAP_SERVERS: bootstrapServers() });
  return { status: result.code, stdout: result.stdout + result.stderr };
}

describe('verify command', () => {
  it('passes clean output and fails on a duplicate or a gap the broker still holds', async () => {
    const topic = uniqueName('verify');
    await createTopic(topic, 2);
    await produce(topic, Array.from({ length: 400 }, (_, n) => ({ partition: n % 2, value: encodeEvent(marketEvent(n, DAY + n), 'msgpack'), timestamp: DAY + n })));
    const outputDir = tempOutputDir();
    await runOnce({ OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: uniqueName('group'), BATCH_SIZE: '50' });

    const clean = await verify(outputDir, '--topic', topic, '--against-broker');
    expect(clean.stdout).toMatch(/OK: no duplicates, no gaps the broker still holds/);
    expect(clean.stdout).toMatch(new RegExp(`${topic}\\t0\\t200\\t0-199\\t-\\t-\\t0\\t0`));
    expect(clean.status).toBe(0);
    expect((await verify(outputDir, '--from', '2025-10-18')).stdout).toMatch(/files read: 0/);

    const files = parquetFiles(outputDir);
    const copy = path.join(path.dirname(files[0]), 'part-20991231T000000000Z-00000000-000001.parquet');
    copyFileSync(files[0], copy);
    const duplicated = await verify(outputDir, '--topic', topic);
    expect(duplicated.status).toBe(1);
    expect(duplicated.stdout).toMatch(/FAILED/);
    rmSync(copy);

    rmSync(files[0]); // the first file holds offset 0 of a partition: a gap from the low watermark
    expect((await verify(outputDir, '--topic', topic)).status).toBe(0); // without the broker a gap cannot be judged
    const gap = await verify(outputDir, '--topic', topic, '--against-broker');
    expect(gap.status).toBe(1);
    expect(gap.stdout).toMatch(/FAILED/);

    expect((await verify(outputDir, '--from', 'yesterday')).status).toBe(2);
  });
});
