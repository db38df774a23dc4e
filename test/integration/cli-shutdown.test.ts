/**
 * The daemon stopped by a signal while messages keep arriving, as `docker stop` and a Kubernetes
 * rollout do it: the collector runs as `node dist/main.js`, and the files are read back with DuckDB.
 */
import { randomBytes } from 'node:crypto';
import { killRunningCollectors, startCli, type CliProcess, type LogEvent } from '../harness/cli';
import { tempOutputDir } from '../harness/collector';
import { bootstrapServers, committedOffsets, createTopic, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { sampleSum } from '../harness/prometheus';

const PARTITIONS = 3;
const BATCH_SIZE = 200;

/** Produces batches until stopped, so the signal lands mid-stream. */
function produceContinuously(topic: string): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    while (running) {
      const batch: TestMessage[] = Array.from({ length: 150 }, (_, i) => {
        const n = sent + i;
        return { partition: n % PARTITIONS, key: String(n), value: encodeEvent(marketEvent(n, Date.now()), n % 2 === 0 ? 'msgpack' : 'json') };
      });
      await produce(topic, batch);
      sent += batch.length;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

interface PartitionSummary {
  readonly partition: number;
  readonly rows: number;
  readonly distinct: number;
  readonly first: number;
  readonly last: number;
}

async function lakeByPartition(outputDir: string): Promise<PartitionSummary[]> {
  const rows = await queryLake(
    outputDir,
    `SELECT kafka_partition::INTEGER AS partition, count(*)::INTEGER AS rows, count(DISTINCT kafka_offset)::INTEGER AS distinct,
            min(kafka_offset)::INTEGER AS first, max(kafka_offset)::INTEGER AS last
     FROM {files} GROUP BY ALL ORDER BY partition`,
  );
  return rows.map((row) => ({ partition: Number(row.partition), rows: Number(row.rows), distinct: Number(row.distinct), first: Number(row.first), last: Number(row.last) }));
}

function daemon(topic: string, groupId: string, outputDir: string, extra: Readonly<Record<string, string>> = {}): CliProcess {
  return startCli([], {
    BOOTSTRAP_SERVERS: bootstrapServers(),
    TOPICS: topic,
    GROUP_ID: groupId,
    OUTPUT_DIR: outputDir,
    BATCH_SIZE: String(BATCH_SIZE),
    // Consumed counts then rarely land on a multiple of BATCH_SIZE: a partly filled buffer is
    // almost always left for the stop to publish.
    CONSUME_BATCH_SIZE: '77',
    FLUSH_INTERVAL_MS: '600000',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  });
}

/**
 * The collector's own count of consumed messages, scraped from /metrics until the process exits.
 * The HTTP server closes last, so the final scrapes see the count after consuming stopped.
 */
function watchConsumed(cli: CliProcess): Promise<number> {
  return (async () => {
    const [listening] = await cli.waitForEvents('http_listening', 1);
    let consumed = 0;
    while (cli.child.exitCode === null) {
      const text = await fetch(`${String(listening.address)}/metrics`).then((response) => response.text(), () => null);
      if (text !== null) consumed = sampleSum(text, 'collector_messages_consumed_total');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return consumed;
  })();
}

function fieldsOf(events: readonly LogEvent[], name: string): LogEvent[] {
  return events.filter((entry) => entry.event === name);
}

afterEach(killRunningCollectors);

describe('graceful shutdown of the daemon', () => {
  it('on SIGTERM mid-stream publishes what it consumed, commits exactly that, logs each step and exits 0', async () => {
    const topic = uniqueName('sigterm');
    await createTopic(topic, PARTITIONS);
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const producer = produceContinuously(topic);
    // A password on a plaintext listener is unused, but it still goes through config logging.
    const cli = daemon(topic, groupId, outputDir, { SASL_USERNAME: 'collector', SASL_PASSWORD: password });
    const lastConsumedCount = watchConsumed(cli);
    try {
      await cli.waitForEvents('file_published', 3);
      await cli.waitForEvents('offsets_committed', 1);
      cli.signal('SIGTERM');
      const exit = await cli.exited;
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await producer.stop();
    }

    // Every consumed record is in exactly one published file, with no gap from the first offset,
    // and the group's commit is the next offset after the last one written: nothing lost, nothing twice.
    const committed = await committedOffsets(groupId, topic);
    const lake = await lakeByPartition(outputDir);
    expect(lake.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const { partition, rows, distinct, first, last } of lake) {
      expect({ partition, rows, distinct, first, committed: committed.get(partition) }).toEqual({ partition, rows, distinct: rows, first: 0, committed: last + 1 });
    }
    const consumed = lake.reduce((sum, p) => sum + p.rows, 0);
    expect(consumed).toBeGreaterThanOrEqual(3 * BATCH_SIZE);
    // Records still buffered when the signal came are in the lake too: the stop published them.
    expect(consumed).toBeGreaterThanOrEqual(await lastConsumedCount);

    const events = cli.events();
    const published = fieldsOf(events, 'file_published');
    expect(published.reduce((sum, entry) => sum + Number(entry.rows), 0)).toBe(consumed);
    expect(published.map((entry) => entry.path).sort()).toEqual(parquetFiles(outputDir));
    for (const entry of published) {
      expect(entry).toEqual(expect.objectContaining({ topic, path: expect.any(String), rows: expect.any(Number), bytes: expect.any(Number), durationMs: expect.any(Number), offsets: expect.anything() }));
    }
    // The last, partly filled buffer was published by the stop, not by a size limit.
    if (consumed % BATCH_SIZE !== 0) expect(published.some((entry) => entry.trigger === 'shutdown')).toBe(true);

    const order = ['config_loaded', 'partitions_assigned', 'file_published', 'offsets_committed', 'signal', 'shutdown_started', 'shutdown_complete'];
    const firstIndex = (name: string): number => events.findIndex((entry) => entry.event === name);
    expect(order.map(firstIndex).every((index) => index >= 0)).toBe(true);
    expect(order.map(firstIndex)).toEqual([...order.map(firstIndex)].sort((a, b) => a - b));
    expect(events[events.length - 1].event).toBe('shutdown_complete');
    expect(fieldsOf(events, 'signal')[0]).toMatchObject({ signal: 'SIGTERM' });
    expect(fieldsOf(events, 'config_loaded')[0]).toMatchObject({ config: { kafka: { saslPassword: '[redacted]', topics: [topic] } } });
    expect(`${cli.stdout}${cli.stderr}`).not.toContain(password);
    expect(cli.stderr).toBe('');
  });

  it('exits at once with 130 on a second signal, having committed nothing that is not in a file', async () => {
    const topic = uniqueName('sigint');
    await createTopic(topic, PARTITIONS);
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    const producer = produceContinuously(topic);
    // A long deadline: only the second signal can end the stop early.
    const cli = daemon(topic, groupId, outputDir, { SHUTDOWN_DEADLINE_MS: '60000' });
    try {
      await cli.waitForEvents('file_published', 1);
      cli.signal('SIGTERM');
      cli.signal('SIGINT');
      expect(await cli.exited).toEqual({ code: 130, signal: null });
    } finally {
      await producer.stop();
    }
    // The two signals may be handled in either order; one starts the stop, the other forces the exit.
    expect(cli.eventsNamed('signal')).toHaveLength(1);
    expect(cli.eventsNamed('shutdown_forced')).toEqual([expect.objectContaining({ signal: expect.stringMatching(/^SIG(INT|TERM)$/) })]);
    expect(cli.eventsNamed('shutdown_complete')).toEqual([]);

    // Files are encoded and published in parallel, so a forced exit may leave a gap below a later
    // file; what the commit claims must be on disk all the same: every offset below it, once.
    const committed = await committedOffsets(groupId, topic);
    for (const summary of await lakeByPartition(outputDir)) expect(summary.distinct).toBe(summary.rows);
    for (const [partition, offset] of committed) {
      const [below] = await queryLake(
        outputDir,
        `SELECT count(*)::INTEGER AS rows, count(DISTINCT kafka_offset)::INTEGER AS distinct FROM {files}
         WHERE kafka_partition = ${partition} AND kafka_offset < ${offset}`,
      );
      expect({ partition, rows: Number(below?.rows ?? 0), distinct: Number(below?.distinct ?? 0) }).toEqual({ partition, rows: offset, distinct: offset });
    }
  });
});
