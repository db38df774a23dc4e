/**
 * Compaction against the real broker: records of several days and topics collected by `--once`
 * runs into parts, then `compact` from the command line; late records; two compactors at once; and
 * a compactor killed (SIGKILL) at random moments, many times. The lake is read back with DuckDB.
 */
import path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { killRunningCollectors, runCli, startCli } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, createTopic, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryFiles } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { records, writePart } from '../unit/lake/compaction/lake-fixture';

const PARTITIONS = 2;
const LEASE_MS = 1000;
const DAYS = ['2025/10/16', '2025/10/17', '2025/10/18'];
const dayStart = (i: number): number => Date.UTC(2025, 9, 16 + i);

/** `count` records per day; JSON records on the last day add a column and turn volume into text. */
function messages(day: number, count: number, from = 0): TestMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const timestamp = dayStart(day) + n * 60_000;
    const event = marketEvent(n, timestamp);
    const value = day === 2 ? Buffer.from(JSON.stringify({ ...event, data: { ...event.data, volume: `v${n}`, note: 'drift' } })) : encodeEvent(event, 'msgpack');
    return { partition: n % PARTITIONS, key: String(n), value, timestamp };
  });
}

afterEach(killRunningCollectors);

describe('compaction of the collected lake', () => {
  it('compacts several days and topics with schema drift into the seed paths, then merges late records', async () => {
    const topics = [uniqueName('compact-a'), uniqueName('compact-b')];
    for (const topic of topics) await createTopic(topic, PARTITIONS);
    for (const topic of topics) for (const day of [0, 1, 2]) await produce(topic, messages(day, 90));
    const outputDir = tempOutputDir();
    const env = { BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: outputDir, TOPICS: topics.join(','), GROUP_ID: uniqueName('group'), BATCH_SIZE: '25', COMPACTION_GRACE_MS: '0' };

    expect((await runCli(['--once'], env)).code).toBe(0);
    expect(parquetFiles(outputDir).length).toBeGreaterThan(12);
    const compacted = await runCli(['compact', '--json'], env);
    expect(compacted.stderr).toBe('');
    expect(compacted.code).toBe(0);

    for (const [i, day] of DAYS.entries()) {
      for (const topic of topics) expect(existsSync(path.join(outputDir, day, topic))).toBe(false);
      const rows = await queryFiles([path.join(outputDir, day, '*.parquet')], 'SELECT kafka_topic AS t, count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d, min(kafka_timestamp) >= $start AS inside FROM {files} GROUP BY ALL ORDER BY t'.replace('$start', `'${new Date(dayStart(i)).toISOString()}'::TIMESTAMPTZ`));
      expect(rows).toEqual([...topics].sort().map((t) => ({ t, n: 90, d: 90, inside: true })));
    }
    const [drift] = await queryFiles([path.join(outputDir, DAYS[2], `${topics[0]}.parquet`)], "SELECT any_value(typeof(volume)) AS volume, count(note)::INTEGER AS notes, min(volume) AS first FROM {files}");
    expect(drift).toEqual({ volume: 'VARCHAR', notes: 90, first: 'v0' });

    // Late records for the first day: they land in parts of that day, the next pass writes them to
    // the day's next file, leaving the first one as it was.
    for (const topic of topics) await produce(topic, messages(0, 10, 90));
    expect((await runCli(['--once'], env)).code).toBe(0);
    expect(existsSync(path.join(outputDir, DAYS[0], topics[0]))).toBe(true);
    const verifyMixed = await runCli(['verify', '--json'], env);
    expect(verifyMixed.code).toBe(0);
    const [inspected] = (JSON.parse((await runCli(['inspect', '2025-10-16', '--topic', topics[0], '--json'], env)).stdout) as { entries: Array<{ state: string; rows: number }> }).entries;
    expect(inspected).toMatchObject({ state: 'mixed', rows: 100 });

    const dayFile = path.join(outputDir, DAYS[0], `${topics[0]}.parquet`);
    const before = readFileSync(dayFile);
    expect((await runCli(['compact'], env)).code).toBe(0);
    expect(readFileSync(dayFile).equals(before)).toBe(true);
    expect(readdirSync(path.join(outputDir, DAYS[0])).filter((name) => name.endsWith('.parquet')).sort()).toEqual(
      [...topics].sort().flatMap((topic) => [`${topic}-0001.parquet`, `${topic}.parquet`]).sort(),
    );
    const [late] = await queryFiles([path.join(outputDir, DAYS[0], '*.parquet')], 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
    expect(late).toEqual({ n: 200, d: 200 });
    expect((await runCli(['verify'], env)).code).toBe(0);
  });

  it.each([1, 2])('a one-shot run with COMPACT_AFTER_ONCE=true and MAX_WORKERS=%i ends with one compacted file per closed day and topic, and no parts', async (processes) => {
    const topics = [uniqueName('once-compact-a'), uniqueName('once-compact-b')];
    for (const topic of topics) await createTopic(topic, PARTITIONS);
    for (const topic of topics) for (const day of [0, 1, 2]) await produce(topic, messages(day, 90));
    const outputDir = tempOutputDir();
    const env = { BOOTSTRAP_SERVERS: bootstrapServers(), OUTPUT_DIR: outputDir, TOPICS: topics.join(','), GROUP_ID: uniqueName('group'), BATCH_SIZE: '25', COMPACTION_GRACE_MS: '0' };

    const run = await runCli(['--once'], { ...env, MAX_WORKERS: String(processes), COMPACT_AFTER_ONCE: 'true', LOG_LEVEL: 'info' });
    expect({ code: run.code, failures: run.events.filter((entry) => Number(entry.level) >= 50) }).toEqual({ code: 0, failures: [] });
    expect(parquetFiles(outputDir).map((file) => path.relative(outputDir, file))).toEqual(DAYS.flatMap((day) => [...topics].sort().map((topic) => path.join(day, `${topic}.parquet`))));
    const [lake] = await queryFiles(parquetFiles(outputDir), 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_topic, kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
    expect(lake).toEqual({ n: 2 * 3 * 90, d: 2 * 3 * 90 });
  });

  it('two compactors at once, and a compactor killed at random moments many times: every offset exactly once', async () => {
    const outputDir = tempOutputDir();
    const env = { OUTPUT_DIR: outputDir, COMPACTION_GRACE_MS: '0', COMPACTION_LOCK_LEASE_MS: String(LEASE_MS) };
    const topic = 'kill-loop';
    /** Offsets written so far in each of the two partitions. */
    let next = 0;
    const addParts = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        // Each part also replays the previous part's last two offsets, as a crash before a commit would.
        await writePart(outputDir, topic, [...records(0, Math.max(0, next - 2), next + 49, (o) => ({ v: o, s: `s${o}` })), ...records(1, next, next + 49, (o) => ({ v: o }))]);
        next += 50;
      }
    };
    const distinct = async (): Promise<{ n: number; d: number }> => {
      const [row] = await queryFiles(parquetFiles(outputDir), 'SELECT count(*)::INTEGER AS n, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS d FROM {files}');
      return { n: Number(row.n), d: Number(row.d) };
    };

    await addParts(20);
    const racing = await Promise.all([runCli(['compact', '--json'], env), runCli(['compact', '--json'], env)]);
    expect(racing.map((r) => r.code)).toEqual([0, 0]);
    const statuses = racing.flatMap((r) => (JSON.parse(r.stdout) as { results: Array<{ status: string }> }).results.map((x) => x.status));
    expect(statuses.filter((s) => s === 'compacted')).toHaveLength(1);
    expect(await distinct()).toEqual({ n: 2 * next, d: 2 * next });

    for (let round = 0; round < 12; round++) {
      await addParts(3);
      const cli = startCli(['compact'], env);
      // From before the command has read its configuration to after it is done.
      await sleep(200 + Math.random() * 1500);
      cli.signal('SIGKILL');
      await cli.exited;
      // Whatever moment the kill hit, nothing is lost.
      expect((await distinct()).d).toBe(2 * next);
      // The killed compactor's lease runs out: the next one removes what it merged and merges the rest.
      await sleep(LEASE_MS);
    }
    const final = await runCli(['compact'], env);
    expect(final.code).toBe(0);
    expect(await distinct()).toEqual({ n: 2 * next, d: 2 * next });
    // Parts added after the first compaction land in the day's next files, each created once.
    const files = parquetFiles(outputDir).map((file) => path.relative(outputDir, file));
    expect(files).toContain(path.join('2025/10/17', `${topic}.parquet`));
    expect(files.every((file) => new RegExp(`^2025/10/17/${topic}(-\\d{4})?\\.parquet$`).test(file))).toBe(true);
  });
});
