/**
 * Preloaded into the collector by the memory run (`--require .../memory-probe.js` in COLLECTOR_NODE_ARGS):
 * every 200 ms, appends process.memoryUsage() of the main thread as a JSON line to
 * $BENCH_MEMORY_PROBE_FILE, so the peak RSS can be split into V8 heap, external/array buffers and
 * the rest (librdkafka's queues, worker threads' heaps and wasm memory, allocator slack).
 * Worker threads load it too (execArgv is inherited) and do nothing; worker processes that inherit
 * it write to the same file, each line with its pid.
 */
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const file = process.env.BENCH_MEMORY_PROBE_FILE;
if (isMainThread && file) {
  const started = Date.now();
  setInterval(() => {
    const usage = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({ pid: process.pid, t: (Date.now() - started) / 1000, rss: usage.rss, heapTotal: usage.heapTotal, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers })}\n`,
    );
  }, 200).unref();
}
