/**
 * Runs a throwaway single-node Apache Kafka (KRaft, broker and controller in one JVM) for tests.
 *
 * The jars come from Maven Central through test/harness/pom.xml; `npm run setup` writes their
 * classpath to .cache/kafka-classpath.txt. No Docker and no Kafka distribution are needed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBrokerKeystore, createCertificateAuthority, type BrokerKeystore } from './tls';

export const SASL_USERNAME = 'collector';
export const SASL_PASSWORD = 'collector-secret';

const MIB = 1024 * 1024;
const READY_LINE = 'Kafka Server started';
const STOP_GRACE_MS = 20_000;

export interface BrokerOptions {
  /** Heap ceiling of the broker JVM in MiB (default 512). */
  heapMb?: number;
  /** How long start and resume may take before they fail (default 90 s: two busy cores are slow). */
  startTimeoutMs?: number;
  /** server.properties entries added to, or replacing, the defaults. */
  properties?: Readonly<Record<string, string>>;
}

export interface BrokerHandle {
  /** PLAINTEXT listener, `127.0.0.1:<port>`. */
  readonly bootstrapServers: string;
  /** SASL_PLAINTEXT listener accepting SCRAM-SHA-256 and SCRAM-SHA-512. */
  readonly saslBootstrapServers: string;
  /** SSL listener (server authentication only) with a certificate for 127.0.0.1 signed by `sslCaLocation`. */
  readonly sslBootstrapServers: string;
  /** PEM file of the CA that signed the SSL listener's certificate. */
  readonly sslCaLocation: string;
  readonly saslUsername: string;
  readonly saslPassword: string;
  /** Temp dir holding the config, the data (`data/`) and the logs; removed by stop(). */
  readonly dir: string;
  /** The broker's log4j output, appended across pause/resume. */
  readonly logFile: string;
  isRunning(): boolean;
  /** Stops the JVM but keeps ports, config and data, so resume() brings the same broker back. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops the JVM and deletes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

interface Ports {
  plaintext: number;
  sasl: number;
  ssl: number;
  controller: number;
}

interface Layout {
  dir: string;
  propertiesFile: string;
  log4jFile: string;
  logFile: string;
  jvmOutputFile: string;
}

/** A launched JVM with a promise that settles when it has exited, whatever the reason. */
export interface JavaRun {
  child: ChildProcess;
  exited: Promise<void>;
  exitDescription: string | undefined;
}

export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  const classpath = await readClasspath();
  const ports = await allocatePorts();
  const layout = await createLayout();
  const heapMb = options.heapMb ?? 512;
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  installExitHooks();
  liveDirs.add(layout.dir);

  let run: JavaRun | undefined;
  const launchAndWait = async (): Promise<void> => {
    const logOffset = await fileSize(layout.logFile);
    const launched = launchJava(serverArgs(classpath, layout, heapMb), layout.jvmOutputFile);
    run = launched;
    try {
      await waitUntilReady(launched, layout, logOffset, ports.plaintext, startTimeoutMs);
    } catch (error) {
      await terminate(launched);
      throw error;
    }
  };

  const ca = createCertificateAuthority(layout.dir, 'test-ca');
  const keystore = createBrokerKeystore(layout.dir, ca, randomBytes(12).toString('hex'));
  try {
    await writeFile(layout.propertiesFile, renderProperties(brokerProperties(layout, ports, keystore, options.properties)));
    await writeFile(layout.log4jFile, log4jConfig(layout.logFile));
    await formatStorage(classpath, layout);
    await launchAndWait();
  } catch (error) {
    // The dir stays on purpose: its logs are the only clue to why the broker did not come up.
    liveDirs.delete(layout.dir);
    throw error;
  }

  const isRunning = (): boolean => run !== undefined && run.exitDescription === undefined;
  return {
    bootstrapServers: `127.0.0.1:${ports.plaintext}`,
    saslBootstrapServers: `127.0.0.1:${ports.sasl}`,
    sslBootstrapServers: `127.0.0.1:${ports.ssl}`,
    sslCaLocation: ca.certificate,
    saslUsername: SASL_USERNAME,
    saslPassword: SASL_PASSWORD,
    dir: layout.dir,
    logFile: layout.logFile,
    isRunning,
    pause: async () => {
      if (run !== undefined) await terminate(run);
    },
    resume: async () => {
      if (isRunning()) return;
      if (!liveDirs.has(layout.dir)) throw new Error('broker was stopped; start a new one instead');
      await launchAndWait();
    },
    stop: async () => {
      if (run !== undefined) await terminate(run);
      liveDirs.delete(layout.dir);
      await rm(layout.dir, { recursive: true, force: true });
    },
  };
}

/** Directory that contains test/harness/pom.xml, found upwards so compiled copies work too. */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'test', 'harness', 'pom.xml'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no test/harness/pom.xml above ${__dirname}`);
  }
}

/** The broker's jars (from `npm run setup`): also Kafka's Java admin client, for what the JavaScript client lacks. */
export async function readClasspath(): Promise<string> {
  const file = path.join(repoRoot(), '.cache', 'kafka-classpath.txt');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run setup\` first`);
  return (await readFile(file, 'utf8')).trim();
}

/** Holds every probe socket open until all ports are read, so the ports differ. */
async function allocatePorts(): Promise<Ports> {
  const servers = await Promise.all([listenOnAnyPort(), listenOnAnyPort(), listenOnAnyPort(), listenOnAnyPort()]);
  const [plaintext, sasl, ssl, controller] = servers.map(portOf);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return { plaintext, sasl, ssl, controller };
}

export function listenOnAnyPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('probe socket has no TCP port');
  return address.port;
}

const DIR_PREFIX = 'rpc-kafka-';
const OWNER_FILE = 'owner.pid';

async function createLayout(): Promise<Layout> {
  const dir = await ownedTempDir(DIR_PREFIX);
  return {
    dir,
    propertiesFile: path.join(dir, 'server.properties'),
    log4jFile: path.join(dir, 'log4j2.properties'),
    logFile: path.join(dir, 'broker.log'),
    jvmOutputFile: path.join(dir, 'jvm.out'),
  };
}

/** A fresh temp dir named `<prefix>…`, marked as this process's, after removing those of dead processes. */
export async function ownedTempDir(prefix: string): Promise<string> {
  await removeOrphanedDirs(prefix);
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await writeFile(path.join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

/**
 * Inside a Jest test file `process.on` reaches a sandbox copy of `process`, so the exit hooks below
 * never fire there; the kernel still kills the JVM (setpriv), but its temp dir stays. Each start
 * removes the dirs whose owning process is gone, including a failed start's dir kept for reading.
 */
async function removeOrphanedDirs(prefix: string): Promise<void> {
  const names = (await readdir(os.tmpdir())).filter((name) => name.startsWith(prefix));
  await Promise.all(
    names.map(async (name) => {
      const dir = path.join(os.tmpdir(), name);
      const owner = Number(await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(owner) && !isAlive(owner)) await rm(dir, { recursive: true, force: true });
    }),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but someone else's.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

function brokerProperties(
  layout: Layout,
  ports: Ports,
  keystore: BrokerKeystore,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const scramJaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    // A static voter set: nothing to re-discover when pause/resume restarts on the same ports.
    'controller.quorum.voters': `1@127.0.0.1:${ports.controller}`,
    'controller.listener.names': 'CONTROLLER',
    listeners: [
      `PLAINTEXT://127.0.0.1:${ports.plaintext}`,
      `SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`,
      `SSL://127.0.0.1:${ports.ssl}`,
      `CONTROLLER://127.0.0.1:${ports.controller}`,
    ].join(','),
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${ports.plaintext},SASL_PLAINTEXT://127.0.0.1:${ports.sasl},SSL://127.0.0.1:${ports.ssl}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': scramJaas,
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': scramJaas,
    'listener.name.ssl.ssl.keystore.type': 'PKCS12',
    'listener.name.ssl.ssl.keystore.location': keystore.location,
    'listener.name.ssl.ssl.keystore.password': keystore.password,
    'listener.name.ssl.ssl.key.password': keystore.password,
    'listener.name.ssl.ssl.client.auth': 'none',
    'log.dirs': path.join(layout.dir, 'data'),
    // One node: every internal topic must fit on it.
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Tests join groups constantly; the default 3 s delay would be paid by each of them.
    'group.initial.rebalance.delay.ms': '0',
    'num.partitions': '3',
    // Tests produce records with historical timestamps (fixed days): time-based retention would
    // delete them minutes after they are written.
    'log.retention.ms': '-1',
    // A typo in a test's topic name must fail loudly, not create a topic.
    'auto.create.topics.enable': 'false',
    // Tests send 10 MB records.
    'message.max.bytes': String(16 * MIB),
    ...overrides,
  };
}

export function renderProperties(properties: Readonly<Record<string, string>>): string {
  return Object.entries(properties)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
    .concat('\n');
}

/** log4j2 reads .properties natively; Kafka's own YAML config would need jackson on the classpath. */
function log4jConfig(logFile: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = FILE',
    `appender.file.fileName = ${logFile}`,
    'appender.file.append = true',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = FILE',
    // Per-partition state transitions drown everything else in a test log.
    'logger.stateChange.name = state.change.logger',
    'logger.stateChange.level = WARN',
    '',
  ].join('\n');
}

function jvmArgs(classpath: string, layout: Layout, heapMb: number): string[] {
  return [
    `-Xmx${heapMb}m`,
    `-Xms${Math.min(256, heapMb)}m`,
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${layout.log4jFile}`,
    '-cp',
    classpath,
  ];
}

function serverArgs(classpath: string, layout: Layout, heapMb: number): string[] {
  return [...jvmArgs(classpath, layout, heapMb), 'kafka.Kafka', layout.propertiesFile];
}

/** Writes the cluster metadata and the SCRAM credentials, which KRaft only accepts at format time. */
async function formatStorage(classpath: string, layout: Layout): Promise<void> {
  const args = [
    ...jvmArgs(classpath, layout, 256),
    'kafka.tools.StorageTool',
    'format',
    `--cluster-id=${clusterId()}`,
    `--config=${layout.propertiesFile}`,
    ...['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
      '--add-scram',
      `${mechanism}=[name=${SASL_USERNAME},password=${SASL_PASSWORD}]`,
    ]),
  ];
  const run = launchJava(args, layout.jvmOutputFile);
  await run.exited;
  if (run.exitDescription !== 'exit code 0') {
    throw new Error(`kafka storage format failed (${run.exitDescription}):\n${await tail(layout.jvmOutputFile)}`);
  }
}

/** Kafka cluster ids are 16 random bytes in unpadded base64url, as `kafka-storage random-uuid` prints. */
function clusterId(): string {
  return randomBytes(16).toString('base64url');
}

function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home ? path.join(home, 'bin', 'java') : 'java';
}

/**
 * Exit hooks cannot run when Node dies of SIGKILL or of a crash in a native addon (librdkafka has
 * segfaulted a test process here). On Linux, setpriv asks the kernel to kill the JVM when the
 * thread that spawned it dies; that is the main thread, unless startBroker runs in a worker thread.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => existsSync(file));

function javaCommand(args: string[]): { file: string; args: string[] } {
  if (SETPRIV === undefined) return { file: javaBinary(), args };
  return { file: SETPRIV, args: ['--pdeathsig', 'KILL', javaBinary(), ...args] };
}

export function launchJava(args: string[], outputFile: string): JavaRun {
  // A file, not a pipe: nobody has to drain it, and it survives for the post-mortem.
  const fd = openSync(outputFile, 'a');
  const command = javaCommand(args);
  let child: ChildProcess;
  try {
    // setpriv execs java in place, so the child's pid is the JVM's and signals reach it directly.
    child = spawn(command.file, command.args, { stdio: ['ignore', fd, fd], detached: false });
  } finally {
    closeSync(fd);
  }
  liveChildren.add(child);
  const run: JavaRun = { child, exitDescription: undefined, exited: Promise.resolve() };
  run.exited = new Promise((resolve) => {
    const settle = (description: string): void => {
      run.exitDescription ??= description;
      liveChildren.delete(child);
      resolve();
    };
    child.once('exit', (code, signal) => settle(signal ? `signal ${signal}` : `exit code ${code ?? 'unknown'}`));
    child.once('error', (error) => settle(`spawn error: ${error.message}`));
  });
  return run;
}

async function waitUntilReady(
  run: JavaRun,
  layout: Layout,
  logOffset: number,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (run.exitDescription !== undefined) {
      throw new Error(`broker exited before it was ready (${run.exitDescription}) in ${layout.dir}:\n${await logTails(layout)}`);
    }
    if ((await logContains(layout.logFile, logOffset, READY_LINE)) && (await acceptsConnections(port))) return;
    if (Date.now() > deadline) {
      throw new Error(`broker not ready after ${timeoutMs} ms in ${layout.dir}:\n${await logTails(layout)}`);
    }
    await sleep(200);
  }
}

async function logContains(file: string, fromOffset: number, needle: string): Promise<boolean> {
  const size = await fileSize(file);
  if (size <= fromOffset) return false;
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - fromOffset);
    await handle.read(buffer, 0, buffer.length, fromOffset);
    return buffer.includes(needle);
  } finally {
    await handle.close();
  }
}

export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}

/** SIGTERM lets the broker close its logs cleanly; SIGKILL after the grace period bounds the wait. */
export async function terminate(run: JavaRun): Promise<void> {
  if (run.exitDescription !== undefined) return;
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    const handle = await open(file, 'r');
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch {
    return 0;
  }
}

export async function tail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

async function logTails(layout: Layout): Promise<string> {
  return `--- jvm.out ---\n${await tail(layout.jvmOutputFile, 15)}\n--- broker.log ---\n${await tail(layout.logFile)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- Last-resort cleanup -------------------------------------------------------------------------
// stop() is the normal path. These hooks cover a process that ends without calling it (an
// exception, Ctrl-C, a SIGTERM from CI), so no JVM outlives the Node process that started it.
// They work where `process` is the real one: Jest's global setup and teardown, the CLI.

const liveChildren = new Set<ChildProcess>();
export const liveDirs = new Set<string>();
let exitHooksInstalled = false;

export function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Another listener (a CLI, a test runner) owns shutdown and will call stop(); the 'exit' hook
      // is still there if it does not.
      if (process.listenerCount(signal) > 1) return;
      killEverything();
      process.removeListener(signal, onSignal);
      // With no listener left, re-raising gives the default behaviour: die by this signal.
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Synchronous: it also runs from the 'exit' event, where nothing asynchronous completes. */
function killEverything(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  liveChildren.clear();
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // A JVM killed a moment ago may still be releasing files; a stale temp dir is harmless.
    }
  }
  liveDirs.clear();
}
