/**
 * Two daemons of one group sharing one bucket, one of them paused (SIGSTOP) past its session while
 * records keep coming, then resumed: a zombie that held partitions, buffers and writes when the
 * group gave its partitions to the other. Nothing may be lost, and nothing written twice. Before
 * the fences (a commit before each publish, no commit sent in a later assignment than its own, no
 * record written of a partition not owned) the zombie wrote part of its old partitions again in
 * about one run of three; before each commit request had an id of its own, a refused fence read
 * back as stored whenever the survivor had not committed yet, and the zombie published a part.
 */
import { killRunningCollectors, runCli, startCollector, type CliProcess } from '../harness/cli';
import { exactlyOnceFigures, sleep, startContinuousProducer } from '../harness/chaos';
import { committedOffsets, createTopic, endOffsets, testKafka, uniqueName, waitUntil } from '../harness/kafka';
import { s3LakeOf } from '../harness/s3-server';
import { s3ServerForSuite } from '../harness/s3-suite';

const PARTITIONS = 4;
const SESSION_TIMEOUT_MS = 6000;

afterEach(killRunningCollectors);

describe('a zombie daemon on a shared bucket', () => {
  const server = s3ServerForSuite('zombie-lake');

  it('loses nothing and writes nothing twice when a daemon paused past its session comes back', async () => {
    const topic = uniqueName('zombie');
    const groupId = uniqueName('group');
    await createTopic(topic, PARTITIONS);
    const target = s3LakeOf(server(), uniqueName('lake'));
    const env = {
      ...target.env,
      OUTPUT_DIR: target.outputDir,
      TOPICS: topic,
      GROUP_ID: groupId,
      BATCH_SIZE: '200',
      FLUSH_INTERVAL_MS: '500',
      LOG_LEVEL: 'info',
      KAFKA_PROPERTIES: JSON.stringify({ 'session.timeout.ms': SESSION_TIMEOUT_MS, 'heartbeat.interval.ms': 500 }),
    };
    // Days move on: a member's files span several days, each needing a recovery point first.
    const producer = startContinuousProducer(topic, PARTITIONS, 20, testKafka(), null, true);
    const zombie = startCollector(env);
    const survivor = startCollector(env);
    try {
      await Promise.all([zombie.waitForEvents('file_published', 2), survivor.waitForEvents('file_published', 2)]);
      const pid = zombie.child.pid ?? 0;
      const assignedBefore = survivor.eventsNamed('partitions_assigned').length;
      process.kill(pid, 'SIGSTOP');
      try {
        // The group takes the paused member's partitions once its session ends. The zombie comes
        // back at once, before the survivor has committed anything of them: the group's commit is
        // still the one the zombie made, so a refused commit of it again must not pass for stored.
        await waitUntil(() => survivor.eventsNamed('partitions_assigned').length > assignedBefore, { timeoutMs: 60_000, what: "the survivor taking the zombie's partitions" });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      await waitUntil(() => zombie.eventsNamed('partitions_lost').length + zombie.eventsNamed('partitions_revoked').length > 0, { timeoutMs: 60_000, what: 'the zombie learning it lost its partitions' });
      await sleep(3000);
    } finally {
      const produced = await producer.stop();
      await waitUntil(async () => sameOffsets(await committedOffsets(groupId, topic), await endOffsets(topic)), { timeoutMs: 120_000, what: 'every offset committed' });
      await stopBoth(zombie, survivor);
      const figures = await exactlyOnceFigures(target.lake, topic);
      const late = zombie.eventsNamed('file_late_for_fence').length;
      process.stderr.write(`[s3-zombie] produced ${produced}: ${JSON.stringify(figures)}; zombie lost ${JSON.stringify(zombie.eventsNamed('partitions_lost').map((e) => e.droppedRows))}, files late for their fence: ${late}\n`);
      try {
        if (late === 0) expect(figures).toEqual({ written: produced, lost: 0, duplicated: 0 });
        else {
          // The window no fence closes (docs/design.md): paused during an upload, the zombie's part
          // may reach the bucket after the survivor recovered. It says so, and compaction keeps
          // one row per offset.
          expect((await runCli(['compact'], env, 120_000)).code).toBe(0);
          expect(await exactlyOnceFigures(target.lake, topic)).toEqual({ written: produced, lost: 0, duplicated: 0 });
        }
      } finally {
        target.lake.store.close();
      }
    }
  }, 300_000);
});

function sameOffsets(a: Map<number, number>, b: Map<number, number>): boolean {
  return a.size === b.size && [...b].every(([partition, offset]) => a.get(partition) === offset);
}

async function stopBoth(...daemons: CliProcess[]): Promise<void> {
  for (const daemon of daemons) daemon.signal('SIGTERM');
  for (const daemon of daemons) expect((await daemon.exited).code).toBe(0);
}
