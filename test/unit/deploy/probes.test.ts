/**
 * The paths that the deployment files probe and scrape exist on the collector's real HTTP server,
 * and the image's health-check command (run here with the same Node) passes on a healthy server,
 * fails on an unhealthy one and fails when nothing listens.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { HttpServer, type HealthCheck, type HealthSource } from '../../../src/http/server';
import { CollectorMetrics } from '../../../src/observability/metrics';
import { loadYaml, loadYamlDocuments, parseDockerfile, parseHealthcheck, readRepoFile } from './artefacts';

class FakeHealth implements HealthSource {
  alive = true;
  ready = true;
  liveness(): HealthCheck {
    return { name: 'consume-loop', ok: this.alive };
  }
  async readiness(): Promise<HealthCheck[]> {
    return [{ name: 'kafka-connected', ok: this.ready }];
  }
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs an exec-form health check the way Docker would, with HTTP_PORT in its environment. */
function runHealthcheck(command: readonly string[], port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file === 'node' ? process.execPath : file, args, {
      env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(port) },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

function probedPaths(): string[] {
  const paths: string[] = [];
  const docs = loadYamlDocuments('config', 'kubernetes', 'deployment.yaml') as { kind: string; spec?: { template?: { spec: { containers: Record<string, { httpGet?: { path: string } }>[] } } } }[];
  for (const doc of docs.filter((d) => d.kind === 'Deployment')) {
    for (const container of doc.spec?.template?.spec.containers ?? []) {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const path = container[probe]?.httpGet?.path;
        if (path) paths.push(path);
      }
    }
  }
  const prometheus = loadYaml('config', 'prometheus', 'prometheus.yml') as { scrape_configs: { metrics_path?: string }[] };
  paths.push(...prometheus.scrape_configs.map((config) => config.metrics_path ?? '/metrics'));
  return [...new Set(paths)];
}

const imageHealthcheck = parseHealthcheck(
  parseDockerfile(readRepoFile('Dockerfile'))
    .filter((i) => i.keyword === 'HEALTHCHECK')
    .pop()?.args ?? '',
).command as string[];

describe('probed paths on the real HTTP server', () => {
  const health = new FakeHealth();
  const server = new HttpServer({ host: '127.0.0.1', port: 0 }, health, new CollectorMetrics({ defaultMetrics: false }).registry);
  let port: number;

  beforeAll(async () => {
    await server.start();
    port = server.port;
  });

  afterAll(async () => {
    await server.stop();
  });

  beforeEach(() => {
    health.alive = true;
    health.ready = true;
  });

  it('answers 200 on every path Kubernetes probes and Prometheus scrapes', async () => {
    const paths = probedPaths();
    expect(paths.sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    for (const path of paths) expect({ path, status: await get(port, path) }).toEqual({ path, status: 200 });
  });

  it('answers 503 on the probes when the checks fail', async () => {
    health.alive = false;
    health.ready = false;
    expect(await get(port, '/healthz')).toBe(503);
    expect(await get(port, '/readyz')).toBe(503);
  });

  it('passes the image health check while /healthz is 200 and fails it on 503', async () => {
    expect(imageHealthcheck).toBeDefined();
    expect(await runHealthcheck(imageHealthcheck, port)).toBe(0);
    health.alive = false;
    expect(await runHealthcheck(imageHealthcheck, port)).toBe(1);
  });

  it('fails the image health check when nothing listens', async () => {
    const closed = new HttpServer({ host: '127.0.0.1', port: 0 }, health, new CollectorMetrics({ defaultMetrics: false }).registry);
    await closed.start();
    const freePort = closed.port;
    await closed.stop();
    expect(await runHealthcheck(imageHealthcheck, freePort)).toBe(1);
  });
});
