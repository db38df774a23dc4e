/**
 * compose.yaml, checked without a Docker engine: services, health checks, restart policies, the
 * output volume, the one-shot and monitoring profiles, and agreement with the Dockerfile, the config
 * schema and the Prometheus and Grafana files it mounts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CONFIG_ENV,
  configDefault,
  interpolate,
  loadYaml,
  parseDockerfile,
  parseHealthcheck,
  readRepoFile,
  repoPath,
} from './artefacts';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  entrypoint?: string[] | string;
  logging?: { driver?: string; options?: Record<string, string> };
  environment?: Record<string, string | number | boolean | null>;
  env_file?: ({ path: string; required?: boolean } | string)[];
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  restart?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; interval?: string; disable?: boolean };
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// As `docker compose` sees it with no variables set: every ${VAR:-default} at its default.
const compose = interpolate(loadYaml('compose.yaml') as ComposeFile);
const services = compose.services;

function service(name: string): Service {
  const found = services[name];
  if (found === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return found;
}

function seconds(duration: string): number {
  let total = 0;
  for (const [, amount, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

function commandText(command: string[] | string | undefined): string {
  return Array.isArray(command) ? command.join(' ') : (command ?? '');
}

/** The AWS SDK's own variables (its default chain), which the collector leaves to it. */
const AWS_SDK_ENV = new Set(['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

function volumeParts(spec: string): { source: string; target: string } {
  const [source, target] = spec.split(':');
  return { source, target };
}

describe('compose.yaml', () => {
  it('passes broker security and any other setting to both collector services through an optional env file', () => {
    for (const name of ['collector', 'collector-once', 'collector-s3']) {
      expect({ name, envFile: service(name).env_file }).toEqual({ name, envFile: [{ path: 'collector.env', required: false }] });
      // The file's values reach the collector only where `environment:` does not set them.
      const set = Object.keys(service(name).environment ?? {});
      for (const env of ['SECURITY_PROTOCOL', 'SASL_MECHANISM', 'SASL_USERNAME', 'SASL_PASSWORD', 'SSL_CA_LOCATION', 'KAFKA_PROPERTIES', 'LAYOUT']) {
        expect({ env, known: CONFIG_ENV.has(env), setInCompose: set.includes(env) }).toEqual({ env, known: true, setInCompose: false });
      }
    }
    const raw = loadYaml('compose.yaml') as ComposeFile;
    expect(interpolate(raw, { COLLECTOR_ENV_FILE: '/etc/collector.env' }).services.collector.env_file).toEqual([{ path: '/etc/collector.env', required: false }]);
    expect(readRepoFile('.gitignore').split('\n')).toContain('collector.env');
  });

  it('has the broker, the daemon, the one-shot run, the monitoring and the object storage services', () => {
    expect(Object.keys(services).sort()).toEqual(['collector', 'collector-once', 'collector-s3', 'grafana', 'minio', 'minio-init', 'prometheus', 'redpanda']);
  });

  it('runs a single dev-mode Redpanda with an internal and an external listener and a health check', () => {
    const redpanda = service('redpanda');
    expect(redpanda.image).toMatch(/(^|\/)redpandadata\/redpanda:v\d+/);
    const command = commandText(redpanda.command);
    for (const flag of ['--mode dev-container', '--smp 1', '--overprovisioned']) expect(command).toContain(flag);
    expect(command).toContain('--kafka-addr internal://0.0.0.0:9092,external://0.0.0.0:19092');
    expect(command).toContain('--advertise-kafka-addr internal://redpanda:9092,external://localhost:19092');
    expect(commandText(redpanda.healthcheck?.test)).toContain('rpk cluster health');
    expect(redpanda.ports).toContain('127.0.0.1:19092:19092');
  });

  describe('collector (daemon)', () => {
    const collector = service('collector');
    const env = collector.environment ?? {};

    it('is built from this repository and restarts unless stopped', () => {
      expect(collector.build).toBe('.');
      expect(collector.restart).toBe('unless-stopped');
      expect(collector.profiles).toBeUndefined();
    });

    it('waits for a healthy broker and connects to its internal listener', () => {
      expect(collector.depends_on).toEqual({ redpanda: { condition: 'service_healthy' } });
      expect(env.BOOTSTRAP_SERVERS).toBe('redpanda:9092');
    });

    it('has the same /healthz health check as the image', () => {
      const test = collector.healthcheck?.test;
      expect(Array.isArray(test) && test[0]).toBe('CMD');
      const image = parseDockerfile(readRepoFile('Dockerfile')).filter((i) => i.keyword === 'HEALTHCHECK').pop();
      expect(image).toBeDefined();
      expect((test as string[]).slice(1)).toEqual(parseHealthcheck(image?.args ?? '').command);
      expect(commandText(test)).toContain('/healthz');
    });

    it('writes to a volume mounted at OUTPUT_DIR: a named volume by default, a host path with OUTPUT_HOST_DIR', () => {
      const mounts = (collector.volumes ?? []).map(volumeParts);
      const output = mounts.find((mount) => mount.target === env.OUTPUT_DIR);
      expect(env.OUTPUT_DIR).toBe('/app/output');
      expect(output).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(output?.source);
      // The seed's host directory still works.
      const raw = loadYaml('compose.yaml') as ComposeFile;
      const seedStyle = interpolate(raw, { OUTPUT_HOST_DIR: '/data/datalake/redpanda_backup' }).services.collector.volumes ?? [];
      expect(seedStyle).toContain('/data/datalake/redpanda_backup:/app/output');
    });

    it('gives the graceful stop more time than SHUTDOWN_DEADLINE_MS before Docker kills it', () => {
      const deadlineMs = Number(env.SHUTDOWN_DEADLINE_MS ?? configDefault('SHUTDOWN_DEADLINE_MS'));
      expect(seconds(collector.stop_grace_period ?? '10s')).toBeGreaterThan(deadlineMs / 1000);
    });

    it('publishes the HTTP port it is configured with', () => {
      expect(env.HTTP_PORT).toBe(String(configDefault('HTTP_PORT')));
      expect(collector.ports).toContain(`127.0.0.1:${env.HTTP_PORT}:${env.HTTP_PORT}`);
    });

    it('rotates its logs', () => {
      expect(collector.logging).toEqual({ driver: 'json-file', options: { 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.stringMatching(/^\d+$/) } });
    });
  });

  it('sets only environment variables the collector reads (or the AWS SDK does, for the lake on S3)', () => {
    for (const name of ['collector', 'collector-once', 'collector-s3']) {
      for (const key of Object.keys(service(name).environment ?? {})) {
        expect({ service: name, key, known: CONFIG_ENV.has(key) || (name === 'collector-s3' && AWS_SDK_ENV.has(key)) }).toEqual({ service: name, key, known: true });
      }
    }
  });

  it('offers the seed\'s one-time run as a one-shot service in its own profile', () => {
    const once = service('collector-once');
    expect(once.profiles).toEqual(['once']);
    expect(once.restart).toBe('no');
    expect(once.environment?.RUN_MODE).toBe('once');
    // HTTP_ENABLED=auto serves no HTTP in one-shot mode, so the image's /healthz check is off.
    expect(once.healthcheck).toEqual({ disable: true });
    expect(once.environment?.HTTP_ENABLED ?? configDefault('HTTP_ENABLED')).toBe('auto');
    // Same image, group and output as the daemon, so runs are incremental.
    const daemon = service('collector');
    expect(once.build).toEqual(daemon.build);
    expect(once.image).toEqual(daemon.image);
    expect(once.volumes).toEqual(daemon.volumes);
    expect(once.environment?.GROUP_ID).toEqual(daemon.environment?.GROUP_ID);
    expect(once.logging).toEqual(daemon.logging);
  });

  it('never starts the local Redpanda for the one-shot run (cron against an external broker)', () => {
    expect(service('collector-once').depends_on).toBeUndefined();
  });

  it('publishes every port on 127.0.0.1 unless BIND_ADDRESS says otherwise', () => {
    const published = Object.entries(services).flatMap(([name, definition]) => (definition.ports ?? []).map((port) => ({ name, port })));
    expect(published.length).toBeGreaterThanOrEqual(4);
    for (const { name, port } of published) expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/) });
    const open = interpolate(loadYaml('compose.yaml') as ComposeFile, { BIND_ADDRESS: '0.0.0.0' });
    expect(open.services.grafana.ports).toEqual(['0.0.0.0:3000:3000']);
  });

  it('takes Grafana\'s admin password from the environment, and Grafana refuses to start without one', () => {
    const grafana = service('grafana');
    expect(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('');
    const raw = loadYaml('compose.yaml') as ComposeFile;
    expect(interpolate(raw, { GRAFANA_ADMIN_PASSWORD: 's3cret' }).services.grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('s3cret');
    // The entrypoint, run here with sh as the container would run it ($$ is compose's escaped $).
    const [shell, flag, script, name] = (grafana.entrypoint as string[]).map((word) => word.replace(/\$\$/g, '$'));
    expect([shell, flag]).toEqual(['sh', '-c']);
    const run = (password: string) => spawnSync(shell, [flag, script.replace('exec /run.sh', 'exec true'), name], { env: { PATH: process.env.PATH ?? '', GF_SECURITY_ADMIN_PASSWORD: password }, encoding: 'utf8' });
    const without = run('');
    expect({ status: without.status, stderr: without.stderr.trim() }).toEqual({ status: 1, stderr: 'set GRAFANA_ADMIN_PASSWORD to start Grafana' });
    expect(run('s3cret').status).toBe(0);
    expect(script).toContain('exec /run.sh');
  });

  it('puts Prometheus and Grafana in the monitoring profile with their provisioning mounted', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect(service(name).profiles).toEqual(['monitoring']);
      expect(service(name).healthcheck?.test).toBeDefined();
    }
    const prometheus = (service('prometheus').volumes ?? []).map(volumeParts);
    expect(prometheus).toContainEqual({ source: './config/prometheus/prometheus.yml', target: '/etc/prometheus/prometheus.yml' });
    // prometheus.yml's rule_files names this path (checked with the rules in prometheus-rules.test.ts).
    expect(prometheus).toContainEqual({ source: './config/prometheus/alerts.yml', target: '/etc/prometheus/alerts.yml' });
    const grafana = (service('grafana').volumes ?? []).map(volumeParts);
    expect(grafana).toContainEqual({ source: './config/grafana/provisioning', target: '/etc/grafana/provisioning' });
    expect(grafana.some((mount) => mount.source === './config/grafana/dashboards')).toBe(true);
  });

  describe('s3 profile: the lake in a local MinIO bucket', () => {
    const minio = service('minio');
    const init = service('minio-init');
    const collector = service('collector-s3');
    const env = collector.environment ?? {};
    const raw = loadYaml('compose.yaml') as ComposeFile;

    /** Runs minio-init's entrypoint with sh as its container would, with `mc` recording its arguments instead of calling MinIO. */
    function runInit(definition: Service): { status: number | null; calls: string[] } {
      const bin = mkdtempSync(path.join(os.tmpdir(), 'fake-mc-'));
      const log = path.join(bin, 'calls');
      writeFileSync(path.join(bin, 'mc'), `#!/bin/sh\necho "$*" >> '${log}'\n`, { mode: 0o755 });
      const [shell, flag, script] = (definition.entrypoint as string[]).map((word) => word.replace(/\$\$/g, '$'));
      const run = spawnSync(shell, [flag, script], { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ...(definition.environment as Record<string, string>) }, encoding: 'utf8' });
      return { status: run.status, calls: readFileSync(log, 'utf8').trim().split('\n') };
    }

    it('puts MinIO, the bucket\'s creation and the collector writing there in the s3 profile only', () => {
      for (const name of ['minio', 'minio-init', 'collector-s3']) expect({ name, profiles: service(name).profiles }).toEqual({ name, profiles: ['s3'] });
      expect(Object.entries(services).filter(([, definition]) => definition.profiles?.includes('s3')).map(([name]) => name).sort()).toEqual(['collector-s3', 'minio', 'minio-init']);
    });

    it('runs MinIO pinned to a release, serving /data from a named volume, with a health check', () => {
      expect(minio.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
      expect(init.image).toMatch(/^minio\/mc:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
      expect(commandText(minio.command)).toBe('server /data --console-address :9001');
      const data = (minio.volumes ?? []).map(volumeParts).find((mount) => mount.target === '/data');
      expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
      expect(commandText(minio.healthcheck?.test)).toBe('CMD mc ready local');
      expect(minio.ports).toEqual(['127.0.0.1:9000:9000', '127.0.0.1:9001:9001']);
    });

    it('creates the bucket once MinIO is healthy, and starts the collector only after that succeeded', () => {
      expect(init.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
      expect(init.restart).toBe('no');
      expect(collector.depends_on).toEqual({ redpanda: { condition: 'service_healthy' }, 'minio-init': { condition: 'service_completed_successfully' } });
    });

    it('points the collector at the MinIO service and the bucket minio-init creates, at s3://lake/redpanda_backup by default', () => {
      const endpoint = new URL(String(env.AWS_ENDPOINT_URL_S3));
      expect(endpoint.hostname).toBe('minio');
      expect(minio.ports?.map((port) => port.split(':').pop())).toContain(endpoint.port);
      expect(env.OUTPUT_DIR).toBe('s3://lake/redpanda_backup');
      const { status, calls } = runInit(init);
      expect(status).toBe(0);
      expect(calls).toEqual([`alias set lake ${endpoint.origin} minioadmin minioadmin`, 'mb --ignore-existing lake/lake']);
      // Another bucket moves both ends.
      const other = interpolate(raw, { S3_BUCKET: 'archive' }).services;
      expect(other['collector-s3'].environment?.OUTPUT_DIR).toBe('s3://archive/redpanda_backup');
      expect(runInit(other['minio-init']).calls[1]).toBe('mb --ignore-existing lake/archive');
    });

    it('takes every credential from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, with MinIO\'s development pair as the only default', () => {
      const secrets = (services_: Record<string, Service>): Array<string | number | boolean | null | undefined> => [
        services_.minio.environment?.MINIO_ROOT_PASSWORD,
        services_['minio-init'].environment?.MINIO_ROOT_PASSWORD,
        services_['collector-s3'].environment?.AWS_SECRET_ACCESS_KEY,
      ];
      const users = (services_: Record<string, Service>): Array<string | number | boolean | null | undefined> => [
        services_.minio.environment?.MINIO_ROOT_USER,
        services_['minio-init'].environment?.MINIO_ROOT_USER,
        services_['collector-s3'].environment?.AWS_ACCESS_KEY_ID,
      ];
      // Written as references in the file, never as values.
      expect(secrets(raw.services)).toEqual(Array(3).fill('${MINIO_ROOT_PASSWORD:-minioadmin}'));
      expect(users(raw.services)).toEqual(Array(3).fill('${MINIO_ROOT_USER:-minioadmin}'));
      const set = interpolate(raw, { MINIO_ROOT_USER: 'lake-admin', MINIO_ROOT_PASSWORD: 'a-long-secret' }).services;
      expect(secrets(set)).toEqual(Array(3).fill('a-long-secret'));
      expect(users(set)).toEqual(Array(3).fill('lake-admin'));
      // The init script expands them itself: the password is not in the container's command line.
      expect((init.entrypoint as string[]).join(' ')).not.toContain('minioadmin');
      // Every $ escaped as $$: a bare $VAR would be filled in by compose, into the command line.
      expect((init.entrypoint as string[]).join(' ').replace(/\$\$/g, '')).not.toContain('$');
      expect(runInit(set['minio-init']).calls[0]).toBe('alias set lake http://minio:9000 lake-admin a-long-secret');
    });

    it('keeps the lake in the bucket only, in a group of its own, on a port of its own', () => {
      expect(collector.volumes).toEqual([]);
      expect(env.GROUP_ID).not.toBe(service('collector').environment?.GROUP_ID);
      expect(collector.build).toEqual(service('collector').build);
      expect(collector.ports).toEqual([`127.0.0.1:8081:${env.HTTP_PORT}`]);
      expect(collector.stop_grace_period).toBe(service('collector').stop_grace_period);
    });
  });

  it("names every variable it interpolates in docs/configuration.md, as a collector setting or among compose.yaml's own", () => {
    const configuration = readRepoFile('docs/configuration.md');
    const withoutComments = readRepoFile('compose.yaml').split('\n').map((line) => line.replace(/\s#.*$/, '')).join('\n');
    const interpolated = [...new Set([...withoutComments.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]))];
    expect(interpolated.length).toBeGreaterThan(10);
    expect(interpolated.filter((name) => !configuration.includes(`\`${name}\``))).toEqual([]);
  });

  it('bind-mounts only paths that exist in the repository', () => {
    for (const [name, definition] of Object.entries(services)) {
      for (const { source } of (definition.volumes ?? []).map(volumeParts)) {
        if (!source.startsWith('.')) continue;
        expect({ service: name, source, exists: existsSync(repoPath(source)) }).toEqual({ service: name, source, exists: true });
      }
    }
  });

  it('declares every named volume it uses', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const definition of Object.values(services)) {
      for (const { source } of (definition.volumes ?? []).map(volumeParts)) {
        if (source.startsWith('.') || source.startsWith('/')) continue;
        expect(declared).toContain(source);
      }
    }
  });
});

describe('Prometheus and Grafana provisioning', () => {
  const prometheus = loadYaml('config', 'prometheus', 'prometheus.yml') as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };

  it('scrapes the collector service on its HTTP port at /metrics', () => {
    const job = prometheus.scrape_configs.find((config) => config.job_name === 'collector');
    expect(job).toBeDefined();
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job?.static_configs.flatMap((config) => config.targets)).toEqual([`collector:${service('collector').environment?.HTTP_PORT}`]);
  });

  it('gives Grafana a Prometheus datasource at the compose service, and loads dashboards from where compose mounts them', () => {
    const datasources = loadYaml('config', 'grafana', 'provisioning', 'datasources', 'prometheus.yml') as {
      datasources: { type: string; uid: string; url: string }[];
    };
    const [datasource] = datasources.datasources;
    expect(datasource.type).toBe('prometheus');
    expect(datasource.url).toBe('http://prometheus:9090');
    expect(service('prometheus').ports).toContain('127.0.0.1:9090:9090');

    const providers = loadYaml('config', 'grafana', 'provisioning', 'dashboards', 'collector.yml') as {
      providers: { options: { path: string } }[];
    };
    const mount = (service('grafana').volumes ?? []).map(volumeParts).find((m) => m.source === './config/grafana/dashboards');
    expect(providers.providers.map((provider) => provider.options.path)).toContain(mount?.target);
    const home = service('grafana').environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home).toBe(path.posix.join(mount?.target ?? '', 'collector.json'));
    expect(existsSync(repoPath('config', 'grafana', 'dashboards', 'collector.json'))).toBe(true);
  });
});
