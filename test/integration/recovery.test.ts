/**
 * Exactly-once output across a crash between publishing a file and committing its offsets: the
 * next run reads the footers of files published since the last commit and skips what they hold.
 */
import { runOnce, tempOutputDir } from '../harness/collector';
import { committedOffsets, createTopic, endOffsets, produce, uniqueName, type TestMessage } from '../harness/kafka';
import { parquetFiles, queryLake } from '../harness/lake';
import { encodeEvent, marketEvent } from '../harness/market-data';
import { startCollector } from '../harness/cli';

const BASE = Date.UTC(2025, 9, 17, 12);

function messages(count: number, partitions: number): TestMessage[] {
  return Array.from({ length: count }, (_, n) => ({ partition: n % partitions, value: encodeEvent(marketEvent(n, BASE + n), 'msgpack'), timestamp: BASE + n }));
}

describe('crash between publish and commit', () => {
  it.each([
    ['the first file of a new group', 1],
    ['a later file, after earlier commits', 0.35],
  ])('writes nothing twice when the crash hits %s', async (_label, probability) => {
    const topic = uniqueName('crash');
    await createTopic(topic, 3);
    await produce(topic, messages(3000, 3));
    const outputDir = tempOutputDir();
    const groupId = uniqueName('group');
    // A short session: the next run joins as soon as the killed member's session expires.
    const env = { OUTPUT_DIR: outputDir, TOPICS: topic, GROUP_ID: groupId, BATCH_SIZE: '200', KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': 6000 }) };

    // Crash (SIGKILL, no shutdown) right after a publish, before the commit of its offsets.
    for (let attempt = 0; attempt < 5; attempt++) {
      const crashing = startCollector({ ...env, COLLECTOR_TEST_ONLY_CRASH_AFTER_PUBLISH: String(probability) });
      const { signal } = await crashing.exited;
      if (signal === 'SIGKILL') break;
    }
    expect(parquetFiles(outputDir).length).toBeGreaterThan(0);

    await runOnce(env);
    const [summary] = await queryLake(outputDir, 'SELECT count(*)::INTEGER AS rows, count(DISTINCT (kafka_partition, kafka_offset))::INTEGER AS distinct_rows FROM {files}');
    expect(summary).toEqual({ rows: 3000, distinct_rows: 3000 });
    expect(await committedOffsets(groupId, topic)).toEqual(await endOffsets(topic));
  });
});
