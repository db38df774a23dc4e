import { encodeParquet } from '../../../src/parquet/encode';
import type { SealedBatch } from '../../../src/parquet/batch';
import { assign, deferred, eventually, messages, testPipeline } from './fakes';

describe('pipeline: memory budget', () => {
  it('seals early over the budget and pauses fetching while writes in flight are over it, resuming once they land', async () => {
    const encoderGate = deferred<void>();
    const test = testPipeline({
      memory: { bufferedBytes: 2_000, heldBytes: 2_000 },
      encode: async (batch: SealedBatch) => {
        await encoderGate.promise;
        return encodeParquet(batch, { compression: 'zstd', rowGroupSize: 1000 });
      },
    });
    await assign(test, [{ topic: 't', partition: 0 }]);
    test.consumer.batches.push(messages('t', 0, 0, 50));
    const loop = test.pipeline.start();
    await eventually(() => test.consumer.calls.includes('pause 1'), 'the pause');
    const callsWhilePaused = test.consumer.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Paused: the loop waits for the write instead of consuming more.
    expect(test.consumer.calls.slice(callsWhilePaused).filter((call) => call.startsWith('consume'))).toEqual([]);
    expect(test.recorded.named('filePublished')).toEqual([]);

    encoderGate.resolve();
    await eventually(() => test.consumer.calls.includes('resume 1'), 'the resume');
    expect(test.recorded.named('filePublished').map(([event]) => (event as { trigger: string }).trigger)).toEqual(['memory']);
    expect(test.recorded.named('consumptionPaused')).toEqual([[1]]);
    await test.pipeline.drain();
    await loop;
    expect(test.consumer.committedOffset('t', 0)).toBe(50);
  });
});
