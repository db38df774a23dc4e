import net from 'node:net';
import { Registry } from 'prom-client';
import { CollectorError } from '../../../src/errors';
import { HttpServer, type HealthCheck, type HealthSource } from '../../../src/http/server';
import { CollectorMetrics } from '../../../src/observability/metrics';

/** A health source whose answers the test sets. */
class FakeHealth implements HealthSource {
  live: HealthCheck = { name: 'consume-loop', ok: true };
  ready: HealthCheck[] = [];

  liveness(): HealthCheck {
    return this.live;
  }

  async readiness(): Promise<HealthCheck[]> {
    return this.ready;
  }
}

/**
 * Every metric the operations issue asks for, by the name dashboards and alerts use. A rename
 * here is a breaking change for every Grafana panel built on it.
 */
const COLLECTOR_METRICS: ReadonlyArray<readonly [string, 'counter' | 'gauge' | 'histogram']> = [
  ['collector_messages_consumed_total', 'counter'],
  ['collector_consumed_bytes_total', 'counter'],
  ['collector_decode_failures_total', 'counter'],
  ['collector_rows_written_total', 'counter'],
  ['collector_files_written_total', 'counter'],
  ['collector_written_bytes_total', 'counter'],
  ['collector_flush_duration_seconds', 'histogram'],
  ['collector_buffered_rows', 'gauge'],
  ['collector_buffered_bytes', 'gauge'],
  ['collector_oldest_unflushed_record_age_seconds', 'gauge'],
  ['collector_consumer_lag_messages', 'gauge'],
  ['collector_committed_offset', 'gauge'],
  ['collector_rebalances_total', 'counter'],
  ['collector_paused_partitions', 'gauge'],
  ['collector_dead_letter_records_total', 'counter'],
];

const DEFAULT_PROCESS_METRICS = ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'];

let server: HttpServer | null = null;

async function serve(health: HealthSource, registry: Registry = new Registry(), port = 0): Promise<string> {
  server = new HttpServer({ host: '127.0.0.1', port }, health, registry);
  await server.start();
  return `http://127.0.0.1:${server.port}`;
}

afterEach(async () => {
  await server?.stop();
  server = null;
});

describe('HTTP server', () => {
  it('answers /healthz 200 while the loop is alive and 503 with the failing check when it is not', async () => {
    const health = new FakeHealth();
    const base = await serve(health);
    const alive = await fetch(`${base}/healthz`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: 'ok', checks: [{ name: 'consume-loop', ok: true }] });

    health.live = { name: 'consume-loop', ok: false, detail: 'no consume iteration for 130000 ms' };
    const stuck = await fetch(`${base}/healthz`);
    expect(stuck.status).toBe(503);
    expect(await stuck.json()).toEqual({ status: 'failing', checks: [health.live] });
  });

  it('answers /readyz 200 only when every check passes, else 503 naming the failing ones', async () => {
    const health = new FakeHealth();
    health.ready = [
      { name: 'not-stopping', ok: true },
      { name: 'kafka-connected', ok: true },
    ];
    const base = await serve(health);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    health.ready = [
      { name: 'not-stopping', ok: true },
      { name: 'kafka-connected', ok: false },
      { name: 'output-writable', ok: false, detail: 'ENOSPC' },
    ];
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'not-ready', failing: ['kafka-connected', 'output-writable'], checks: health.ready });
  });

  it("serves /metrics in Prometheus' text format with the process metrics and every collector metric", async () => {
    const metrics = new CollectorMetrics();
    const base = await serve(new FakeHealth(), metrics.registry);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    for (const name of DEFAULT_PROCESS_METRICS) expect(body).toContain(`\n${name}`);
    for (const [name, type] of COLLECTOR_METRICS) expect(body).toContain(`# TYPE ${name} ${type}\n`);
  });

  it('answers 404 for other paths', async () => {
    const base = await serve(new FakeHealth());
    expect((await fetch(`${base}/`)).status).toBe(404);
  });

  it('fails to start with HTTP_LISTEN_FAILED naming the port when it is taken', async () => {
    const occupier = net.createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const { port } = occupier.address() as net.AddressInfo;
    try {
      const error = await serve(new FakeHealth(), new Registry(), port).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CollectorError);
      expect(error).toMatchObject({ code: 'HTTP_LISTEN_FAILED', context: { port, errno: 'EADDRINUSE' } });
      expect((error as Error).message).toBe(`cannot start the HTTP server: port ${port} on 127.0.0.1 is already in use (set HTTP_PORT / HTTP_HOST)`);
    } finally {
      server = null;
      occupier.close();
    }
  });
});
