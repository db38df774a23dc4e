import { CollectorError } from '../../../src/errors';
import { fenceExpired } from '../../../src/lake/store/lake-store';
import pino from 'pino';
import { CollectorMetrics } from '../../../src/observability/metrics';
import { Telemetry } from '../../../src/observability/telemetry';

const series = async (metrics: CollectorMetrics): Promise<string[]> =>
  [...(await metrics.committedOffset.get()).values, ...(await metrics.consumerLag.get()).values].map((sample) => `${sample.labels.topic}[${sample.labels.partition}]`).sort();

/** Telemetry whose log lines are kept, parsed, in `lines`. */
function recordingTelemetry(): { lines: Array<Record<string, unknown>>; metrics: CollectorMetrics; telemetry: Telemetry } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = new CollectorMetrics({ defaultMetrics: false });
  return { lines, metrics, telemetry: new Telemetry(logger, metrics) };
}

describe('Telemetry', () => {
  it('removes the per-partition series of revoked partitions and keeps the others', async () => {
    const metrics = new CollectorMetrics({ defaultMetrics: false });
    const telemetry = new Telemetry(pino({ level: 'silent' }), metrics);
    telemetry.offsetsCommitted(
      [
        { topic: 't', partition: 0, offset: 10 },
        { topic: 't', partition: 1, offset: 20 },
      ],
      'progress',
    );
    metrics.consumerLag.set({ topic: 't', partition: '0' }, 5);
    metrics.consumerLag.set({ topic: 't', partition: '1' }, 6);
    expect(await series(metrics)).toEqual(['t[0]', 't[0]', 't[1]', 't[1]']);

    telemetry.partitionsRevoked([{ topic: 't', partition: 0 }]);
    expect(await series(metrics)).toEqual(['t[1]', 't[1]']);
  });

  it('counts and logs each event once, in one place', async () => {
    const { lines, metrics, telemetry } = recordingTelemetry();
    telemetry.commitFailed(new Error('down'), 'recovery-point');
    telemetry.deadLettered({ topic: 't', partition: 0, offset: 3, stage: 'decode', reason: 'malformed', message: 'bad' });
    expect(lines.map((line) => [line.event, line.purpose ?? line.reason])).toEqual([
      ['commit_failed', 'recovery-point'],
      ['dead_letter', 'malformed'],
    ]);
    expect((await metrics.commits.get()).values).toEqual([expect.objectContaining({ labels: { result: 'error' }, value: 1 })]);
    expect((await metrics.deadLetterRecords.get()).values).toEqual([expect.objectContaining({ labels: { topic: 't' }, value: 1 })]);
  });

  it('tells a commit a rebalance made pointless (its assignment ended) from a failed one: info, not an error', async () => {
    const { lines, metrics, telemetry } = recordingTelemetry();
    telemetry.commitFailed(new CollectorError('KAFKA_COMMIT_FAILED', 'not committed: the assignment it was made for has ended', { context: { partitions: 3, assignmentEnded: true } }), 'progress');
    expect(lines.map((line) => [line.event, line.level])).toEqual([['commit_superseded', 30]]);
    expect((await metrics.commits.get()).values).toEqual([expect.objectContaining({ labels: { result: 'superseded' }, value: 1 })]);
  });

  it('tells a fence that expired before its file appeared (a paused process) from a failed commit: a warning, counted as expired', async () => {
    const { lines, metrics, telemetry } = recordingTelemetry();
    telemetry.commitFailed(fenceExpired('s3://b/2025/10/17/t/part.parquet'), 'fence');
    expect(lines.map((line) => [line.event, line.level])).toEqual([['fence_expired', 40]]);
    expect((await metrics.commits.get()).values).toEqual([expect.objectContaining({ labels: { result: 'expired' }, value: 1 })]);
  });

  it('warns of and counts a file created later than its fence holds, beside its file_published line', async () => {
    const { lines, metrics, telemetry } = recordingTelemetry();
    const published = { topic: 't', kind: 'data' as const, path: 'p', rows: 1, bytes: 10, ranges: new Map([[0, [[0, 0] as [number, number]]]]), trigger: 'age' as const, durationMs: 5, publishedAtMs: 0 };
    telemetry.filePublished({ ...published, lateForFence: false });
    telemetry.filePublished({ ...published, lateForFence: true });
    expect(lines.map((line) => [line.event, line.level])).toEqual([
      ['file_published', 30],
      ['file_published', 30],
      ['file_late_for_fence', 40],
    ]);
    expect((await metrics.filesLateForFence.get()).values).toEqual([expect.objectContaining({ labels: { topic: 't' }, value: 1 })]);
  });
});
