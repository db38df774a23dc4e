import { assign, eventually, messages, startWithBatch, testPipeline } from './fakes';

describe('pipeline: shutdown', () => {
  it('stops consuming, then publishes every buffer, then commits, in that order', async () => {
    const test = testPipeline();
    await assign(test, [{ topic: 't', partition: 0 }]);
    const { loop } = await startWithBatch(test, messages('t', 0, 0, 7));
    expect(test.recorded.named('filePublished')).toEqual([]);

    await test.pipeline.drain();
    await loop;
    const names = test.recorded.log.map((entry) => entry.name);
    const published = names.indexOf('filePublished');
    const lastCommit = names.lastIndexOf('offsetsCommitted');
    expect(published).toBeGreaterThan(-1);
    expect(lastCommit).toBeGreaterThan(published);
    expect(test.recorded.named('filePublished').map(([event]) => (event as { trigger: string }).trigger)).toEqual(['shutdown']);
    expect(test.consumer.calls[test.consumer.calls.length - 1]).toBe('commit t[0]@7');
    // Nothing is consumed once the drain began.
    const consumesAfter = test.consumer.calls.slice(test.consumer.calls.findIndex((call) => call.startsWith('commit'))).filter((call) => call.startsWith('consume'));
    expect(consumesAfter).toEqual([]);
  });

  it('drops what it holds, unpublished, when the client declares the assignment lost while the drain waits for commits', async () => {
    // A broker outage that outlasts the session: the recovery point before the file can never be
    // stored, and the consume loop that would run the lost hand-off has stopped.
    const test = testPipeline();
    await assign(test, [{ topic: 't', partition: 0 }]);
    const { loop } = await startWithBatch(test, messages('t', 0, 0, 7));
    test.consumer.failCommits = Number.POSITIVE_INFINITY;

    const drained = test.pipeline.drain();
    await eventually(() => test.consumer.calls.filter((call) => call.startsWith('commit')).length >= 3, 'recovery-point commits failing');
    test.consumer.assignmentLost = true;
    await drained;
    await loop;
    expect(test.recorded.named('filePublished')).toEqual([]);
    expect(test.consumer.commits).toEqual([]);
    expect(test.recorded.named('partitionsLost')).toEqual([[[{ topic: 't', partition: 0 }], 7]]);

    // The client's own lost hand-off, when it comes, finds nothing left to drop or report.
    await test.pipeline.onLost([{ topic: 't', partition: 0 }]);
    expect(test.recorded.named('partitionsLost')).toHaveLength(1);
  });
});
