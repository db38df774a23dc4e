import { assign, eventually, messages, testPipeline } from './fakes';

describe('pipeline: shutdown', () => {
  it('stops consuming, then publishes every buffer, then commits, in that order', async () => {
    const test = testPipeline();
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 7));
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.calls.filter((call) => call.startsWith('consume')).length >= 3, 'the batch ingested');
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
});
