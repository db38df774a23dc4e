/**
 * Runs a throwaway S3Proxy (the S3 API over a local directory, jclouds' filesystem-nio2 store) for
 * tests of the S3 LakeStore. Like the Kafka broker it needs no Docker: the jars come from Maven
 * Central through test/harness/s3proxy/pom.xml, and `npm run setup` writes their classpath to
 * .cache/s3proxy-classpath.txt.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Lake } from '../../src/lake/lake';
import { seedLayout } from '../../src/lake/layout';
import { S3LakeStore } from '../../src/lake/store/s3';
import {
  acceptsConnections,
  installExitHooks,
  launchJava,
  listenOnAnyPort,
  liveDirs,
  ownedTempDir,
  portOf,
  renderProperties,
  repoRoot,
  sleep,
  tail,
  terminate,
  type JavaRun,
} from './broker';

/** S3Proxy checks signatures but not regions; the SDK needs one to sign with. */
export const S3_REGION = 'us-east-1';

export interface S3ServerOptions {
  /** The bucket created at start (at least 3 characters: S3Proxy refuses shorter names). */
  bucket?: string;
  /** How long start and resume may take before they fail (default 60 s). */
  startTimeoutMs?: number;
  /** 'none' accepts any request, signed or not: for a proxy in front that must change signed headers. */
  authorization?: 'aws-v2-or-v4' | 'none';
}

export interface S3ServerHandle {
  /** `http://127.0.0.1:<port>`, the same across pause/resume. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly bucket: string;
  /** Temp dir holding the config, the objects (`data/<bucket>/…`) and the logs; removed by stop(). */
  readonly dir: string;
  readonly logFile: string;
  /** Stops the JVM but keeps port and objects, so resume() brings the same store back. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** SIGSTOP: connections are accepted by the kernel but never answered, as with a hung server. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Stops the JVM and deletes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

interface Layout {
  dir: string;
  dataDir: string;
  propertiesFile: string;
  logbackFile: string;
  logFile: string;
  jvmOutputFile: string;
}

const DIR_PREFIX = 'rpc-s3proxy-';
const MAIN_CLASS = 'org.gaul.s3proxy.Main';

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3ServerHandle> {
  const bucket = options.bucket ?? 'lake';
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const classpath = await readClasspath();
  const port = await freePort();
  const layout = await createLayout();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = `test-${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  installExitHooks();
  liveDirs.add(layout.dir);

  let run: JavaRun | undefined;
  const launchAndWait = async (): Promise<void> => {
    const launched = launchJava(javaArgs(classpath, layout), layout.jvmOutputFile);
    run = launched;
    try {
      await waitUntilAnswering(launched, layout, port, startTimeoutMs);
    } catch (error) {
      await terminate(launched);
      throw error;
    }
  };

  try {
    const properties = s3ProxyProperties(layout, endpoint, options.authorization ?? 'aws-v2-or-v4', accessKeyId, secretAccessKey);
    await writeFile(layout.propertiesFile, renderProperties(properties));
    await writeFile(layout.logbackFile, logbackConfig(layout.logFile));
    await launchAndWait();
    await createBucket(endpoint, accessKeyId, secretAccessKey, bucket);
  } catch (error) {
    if (run !== undefined) await terminate(run);
    // The dir stays on purpose: its logs are the only clue to why S3Proxy did not come up.
    liveDirs.delete(layout.dir);
    throw error;
  }

  const signal = (name: NodeJS.Signals): void => {
    if (run !== undefined && run.exitDescription === undefined) run.child.kill(name);
  };
  return {
    endpoint,
    region: S3_REGION,
    accessKeyId,
    secretAccessKey,
    bucket,
    dir: layout.dir,
    logFile: layout.logFile,
    pause: async () => {
      if (run === undefined) return;
      // A frozen JVM would sit on SIGTERM until the grace period ends.
      signal('SIGCONT');
      await terminate(run);
    },
    resume: async () => {
      if (run !== undefined && run.exitDescription === undefined) return;
      if (!liveDirs.has(layout.dir)) throw new Error('S3Proxy was stopped; start a new one instead');
      await launchAndWait();
    },
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    stop: async () => {
      if (run !== undefined) {
        signal('SIGCONT');
        await terminate(run);
      }
      liveDirs.delete(layout.dir);
      await rm(layout.dir, { recursive: true, force: true });
    },
  };
}

async function readClasspath(): Promise<string> {
  const file = path.join(repoRoot(), '.cache', 's3proxy-classpath.txt');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run setup\` first`);
  return (await readFile(file, 'utf8')).trim();
}

async function freePort(): Promise<number> {
  const server = await listenOnAnyPort();
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function createLayout(): Promise<Layout> {
  const dir = await ownedTempDir(DIR_PREFIX);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir);
  return {
    dir,
    dataDir,
    propertiesFile: path.join(dir, 's3proxy.properties'),
    logbackFile: path.join(dir, 'logback.xml'),
    logFile: path.join(dir, 's3proxy.log'),
    jvmOutputFile: path.join(dir, 'jvm.out'),
  };
}

function s3ProxyProperties(layout: Layout, endpoint: string, authorization: string, identity: string, credential: string): Record<string, string> {
  return {
    's3proxy.endpoint': endpoint,
    's3proxy.authorization': authorization,
    's3proxy.identity': identity,
    's3proxy.credential': credential,
    'jclouds.provider': 'filesystem-nio2',
    'jclouds.filesystem.basedir': layout.dataDir,
  };
}

/** S3Proxy ships no logback.xml, and logback's default is DEBUG on stdout: every request, several lines. */
function logbackConfig(logFile: string): string {
  return `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${logFile}</file>
    <encoder><pattern>[%d] %level %logger{36} %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="FILE"/></root>
</configuration>
`;
}

function javaArgs(classpath: string, layout: Layout): string[] {
  return [
    '-Xmx256m',
    '-Djava.awt.headless=true',
    `-Dlogback.configurationFile=${layout.logbackFile}`,
    '-cp',
    classpath,
    MAIN_CLASS,
    '--properties',
    layout.propertiesFile,
  ];
}

/** Jetty accepts connections a moment before its handler is in place: ready means an HTTP answer. */
async function waitUntilAnswering(run: JavaRun, layout: Layout, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (run.exitDescription !== undefined) {
      throw new Error(`S3Proxy exited before it was ready (${run.exitDescription}) in ${layout.dir}:\n${await tail(layout.jvmOutputFile)}`);
    }
    if ((await acceptsConnections(port)) && (await answersHttp(port))) return;
    if (Date.now() > deadline) {
      throw new Error(`S3Proxy not ready after ${timeoutMs} ms in ${layout.dir}:\n${await tail(layout.jvmOutputFile)}`);
    }
    await sleep(200);
  }
}

async function answersHttp(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function createBucket(endpoint: string, accessKeyId: string, secretAccessKey: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, region: S3_REGION, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

/** What a collector's environment needs to reach the server, by the AWS SDK's conventions. */
export function s3EnvOf(server: S3ServerHandle): Record<string, string> {
  return { AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region };
}

/** A lake below `prefix` of the server's bucket: OUTPUT_DIR, the environment a collector needs to reach it, and the Lake for checks in the test. */
export function s3LakeOf(server: S3ServerHandle, prefix: string): { outputDir: string; env: Record<string, string>; lake: Lake } {
  const outputDir = `s3://${server.bucket}/${prefix}`;
  const env = s3EnvOf(server);
  const store = new S3LakeStore({
    url: outputDir,
    settings: { forcePathStyle: true, serverSideEncryption: '', sseKmsKeyId: '', storageClass: '' },
    client: { endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } },
  });
  return { outputDir, env, lake: { store, layout: seedLayout } };
}
