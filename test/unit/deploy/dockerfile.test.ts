/**
 * The Dockerfile, checked without a Docker engine: its stages, user, health check, entrypoint,
 * what it copies, and that every Debian package it installs exists and covers what the compiled
 * librdkafka addon links against.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  aptHasBookwormLists,
  aptPackages,
  commandExists,
  configDefault,
  dockerStages,
  dockerignoreIncludes,
  execForm,
  osCodename,
  parseCopy,
  parseDockerfile,
  parseHealthcheck,
  readRepoFile,
  repoPath,
  type Instruction,
  type Stage,
} from './artefacts';

const instructions = parseDockerfile(readRepoFile('Dockerfile'));
const stages = dockerStages(instructions);
const runtime = stages[stages.length - 1];
const build = stages.find((stage) => stage.name === 'build');
const dockerignore = readRepoFile('.dockerignore');

function only(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

function last(stage: Stage, keyword: string): Instruction {
  const found = only(stage, keyword);
  if (found.length === 0) throw new Error(`stage ${stage.name ?? stage.index} has no ${keyword}`);
  return found[found.length - 1];
}

describe('Dockerfile stages', () => {
  it('has a build stage and a separate runtime stage on the same Debian bookworm Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runtime).not.toBe(build);
    for (const stage of stages) expect(stage.image).toMatch(/^node:\d+-bookworm-slim$/);
    // The addon is compiled in one and loaded in the other: same Node ABI, same glibc.
    expect(runtime.image).toBe(build?.image);
  });

  it('runs the Node major that these tests run on', () => {
    const major = process.versions.node.split('.')[0];
    expect(runtime.image).toBe(`node:${major}-bookworm-slim`);
  });

  it('bakes the git commit in for collector_build_info, from a build argument', () => {
    expect(only(runtime, 'ARG').map((i) => i.args)).toContain('COLLECTOR_COMMIT=unknown');
    expect(only(runtime, 'ENV').map((i) => i.args).join(' ')).toMatch(/COLLECTOR_COMMIT=\$\{COLLECTOR_COMMIT\}/);
    expect(readRepoFile('src', 'version.ts')).toContain('env.COLLECTOR_COMMIT');
  });

  it('pins no architecture, so buildx can build amd64 and arm64 from it', () => {
    for (const instruction of instructions) {
      expect(instruction.args).not.toMatch(/amd64|x86_64|x86-64|arm64|aarch64|armhf/);
      if (instruction.keyword === 'FROM') expect(instruction.args).not.toMatch(/--platform/);
      // Downloads of prebuilt binaries are per-architecture: packages only.
      if (instruction.keyword === 'ADD') expect(instruction.args).not.toMatch(/https?:\/\//);
      if (instruction.keyword === 'RUN') expect(instruction.args).not.toMatch(/\b(curl|wget)\b/);
    }
  });
});

describe('Dockerfile build stage', () => {
  const stage = build as Stage;

  it('compiles the addon from source, librdkafka against the system libraries, before npm ci', () => {
    const ci = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    // CKJS_LINKING=dynamic links the bundled librdkafka against Debian's libraries; without
    // build_from_source node-pre-gyp would download a prebuilt addon wherever GitHub is reachable.
    for (const setting of [/\bCKJS_LINKING=dynamic\b/, /\bnpm_config_build_from_source=(true|@confluentinc\/kafka-javascript)(\s|$)/]) {
      const env = stage.instructions.findIndex((i) => i.keyword === 'ENV' && setting.test(i.args));
      expect({ setting: String(setting), before: env >= 0 && env < ci }).toEqual({ setting: String(setting), before: true });
    }
  });

  it('installs every build package that scripts/setup.sh installs for a local build', () => {
    const setup = /APT_PACKAGES=\(([^)]*)\)/.exec(readRepoFile('scripts', 'setup.sh'));
    expect(setup).not.toBeNull();
    const wanted = (setup as RegExpExecArray)[1].trim().split(/\s+/);
    expect(aptPackages(stage.instructions)).toEqual(expect.arrayContaining(wanted));
  });

  it('builds dist/ and drops dev dependencies without compiling the addon again', () => {
    const runs = only(stage, 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    expect(runs).not.toMatch(/npm ci[^\n&]*--omit=dev/);
  });

  it('copies only files that exist in the repository and pass .dockerignore', () => {
    for (const copy of only(stage, 'COPY').map((i) => parseCopy(i.args))) {
      expect(copy.from).toBeUndefined();
      for (const source of copy.sources) {
        expect({ source, exists: existsSync(repoPath(source)) }).toEqual({ source, exists: true });
        expect({ source, inContext: dockerignoreIncludes(dockerignore, source) }).toEqual({ source, inContext: true });
      }
    }
  });

  it('copies everything the TypeScript build reads', () => {
    const copied = only(stage, 'COPY').flatMap((i) => parseCopy(i.args).sources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin']));
  });
});

describe('.dockerignore', () => {
  it('keeps local artefacts out of the build context', () => {
    for (const file of ['node_modules/x/index.js', 'dist/main.js', '.cache/kafka-classpath.txt', '.git/HEAD', 'demo-output/2025/01/01/t/p.parquet', 'test/unit/x.test.ts']) {
      expect({ file, inContext: dockerignoreIncludes(dockerignore, file) }).toEqual({ file, inContext: false });
    }
    expect(dockerignoreIncludes(dockerignore, 'src/main.ts')).toBe(true);
    expect(dockerignoreIncludes(dockerignore, 'src/parquet/encode-worker.ts')).toBe(true);
  });
});

describe('Dockerfile runtime stage', () => {
  it('carries the OCI image labels: title, description and licence from package.json, version, revision and source from build arguments', () => {
    const pkg = JSON.parse(readRepoFile('package.json')) as { name: string; version: string; description: string; license: string };
    // LABEL key="value" ...: in the runtime stage, the image that is shipped (a build stage's labels are not).
    const labelInstructions = only(runtime, 'LABEL');
    const labels = Object.fromEntries(
      labelInstructions.flatMap((instruction) => [...instruction.args.matchAll(/([\w.-]+)="((?:[^"\\]|\\.)*)"/g)].map((match) => [match[1], match[2]])),
    );
    const oci = 'org.opencontainers.image';
    expect(labels).toEqual(
      expect.objectContaining({
        [`${oci}.title`]: pkg.name,
        [`${oci}.description`]: pkg.description,
        [`${oci}.licenses`]: pkg.license,
        [`${oci}.version`]: '${COLLECTOR_VERSION}',
        [`${oci}.revision`]: '${COLLECTOR_COMMIT}',
        [`${oci}.source`]: '${COLLECTOR_SOURCE}',
      }),
    );
    expect(readRepoFile('LICENSE')).toMatch(new RegExp(`^${pkg.license} License`));
    // Each argument is declared in the runtime stage before the labels use it, the version with
    // package.json's as its default, the revision with the ARG that collector_build_info reads.
    const firstLabel = Math.min(...labelInstructions.map((instruction) => instruction.line));
    const args = only(runtime, 'ARG').filter((instruction) => instruction.line < firstLabel).map((instruction) => instruction.args);
    expect(args).toEqual(expect.arrayContaining([`COLLECTOR_VERSION=${pkg.version}`, 'COLLECTOR_COMMIT=unknown', expect.stringMatching(/^COLLECTOR_SOURCE(=|$)/)]));
  });

  it('runs as uid 1000, numerically so that Kubernetes runAsNonRoot can verify it', () => {
    expect(last(runtime, 'USER').args).toMatch(/^1000(:1000)?$/);
  });

  it('runs the collector under an init as PID 1, in exec form', () => {
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT').args);
    expect(entrypoint).toBeDefined();
    expect(entrypoint?.[0]).toBe('/usr/bin/tini');
    // Absolute: a different working directory must not change what runs.
    const workdir = last(runtime, 'WORKDIR').args;
    expect(entrypoint?.slice(1)).toEqual(['--', `${workdir}/bin/redpanda-parquet-collector`]);
    // The launcher must exec Node, so that tini's signals reach the collector itself.
    expect(readRepoFile('bin/redpanda-parquet-collector')).toMatch(/^exec node .*dist\/main\.js" "\$@"$/m);
    expect(aptPackages(runtime.instructions)).toContain('tini');
    const cmd = only(runtime, 'CMD');
    for (const instruction of cmd) expect(execForm(instruction.args)).toBeDefined();
  });

  it('has a HEALTHCHECK that runs node against /healthz (the image has no curl)', () => {
    const { options, command } = parseHealthcheck(last(runtime, 'HEALTHCHECK').args);
    expect(command?.[0]).toBe('node');
    expect(command?.join(' ')).toMatch(/\/healthz/);
    expect(options).toHaveProperty('interval');
    expect(options).toHaveProperty('timeout');
  });

  it('copies from the build stage exactly what the daemon loads at run time', () => {
    const workdir = last(build as Stage, 'WORKDIR').args;
    const copies = only(runtime, 'COPY').map((i) => parseCopy(i.args));
    const sources: string[] = [];
    for (const copy of copies) {
      expect(copy.from).toBe('build');
      for (const source of copy.sources) {
        expect(source.startsWith(`${workdir}/`)).toBe(true);
        sources.push(path.posix.relative(workdir, source));
      }
    }
    // dist/version.js reads ../package.json; node_modules holds the compiled addon; bin holds the
    // entry point's launcher.
    expect(sources.sort()).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    // What the worker pool loads must be a product of the build.
    expect(existsSync(repoPath('src', 'parquet', 'encode-worker.ts'))).toBe(true);
    expect(existsSync(repoPath('src', 'main.ts'))).toBe(true);
  });

  it('exposes the default HTTP port and gives the output directory to uid 1000', () => {
    expect(only(runtime, 'EXPOSE').map((i) => i.args)).toContain(String(configDefault('HTTP_PORT')));
    const env = only(runtime, 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/OUTPUT_DIR=\/app\/output/);
    expect(only(runtime, 'RUN').map((i) => i.args).join('\n')).toMatch(/chown 1000:1000 \/app\/output/);
  });

  it('has no compilers or -dev packages', () => {
    for (const pkg of aptPackages(runtime.instructions)) {
      expect(pkg).not.toMatch(/-dev$|^build-essential$|^g\+\+|^gcc|^make$|^python3$/);
    }
  });
});

const onBookworm = commandExists('apt-cache') && osCodename() === 'bookworm';

describe('Debian packages named in the Dockerfile', () => {
  if (!onBookworm) {
    it.skip(`exist in bookworm: needs apt-cache on Debian bookworm (this host: ${osCodename() ?? 'not Debian'})`, () => undefined);
    return;
  }
  if (!aptHasBookwormLists()) {
    it.skip('exist in bookworm: apt has no package lists yet (run apt-get update)', () => undefined);
    return;
  }
  const packages = [...new Set(stages.flatMap((stage) => aptPackages(stage.instructions)))];
  let known: Set<string>;

  beforeAll(() => {
    // One call for all names (each call reads the package lists, about a second); an unknown name
    // makes it exit non-zero but the others are still printed.
    const result = spawnSync('apt-cache', ['show', '--no-all-versions', ...packages], { encoding: 'utf8' });
    known = new Set([...result.stdout.matchAll(/^Package: (\S+)$/gm)].map((match) => match[1]));
  });

  it.each(packages)('%s exists in Debian bookworm', (pkg) => {
    expect({ pkg, known: known.has(pkg) }).toEqual({ pkg, known: true });
  });
});

describe('runtime libraries of the compiled Kafka addon', () => {
  const addonDir = repoPath('node_modules', '@confluentinc', 'kafka-javascript', 'build');
  const binaries = [path.join(addonDir, 'Release', 'confluent-kafka-javascript.node')];
  if (existsSync(path.join(addonDir, 'deps'))) {
    binaries.push(...readdirSync(path.join(addonDir, 'deps')).filter((f) => /\.so\.\d+$/.test(f)).map((f) => path.join(addonDir, 'deps', f)));
  }
  const usable = onBookworm && commandExists('readelf') && commandExists('dpkg') && existsSync(binaries[0]);
  if (!usable) {
    it.skip('are installed in the runtime stage: needs the built addon, readelf and dpkg on Debian bookworm', () => undefined);
    return;
  }

  it('are each provided by a package the runtime stage installs (or the node base image has)', () => {
    // The node image runs Node itself, so these are there already.
    const baseImage = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
    const installed = new Set(aptPackages(runtime.instructions));
    const bundled = new Set(binaries.map((file) => path.basename(file)));
    const needed = new Set<string>();
    for (const binary of binaries) {
      const elf = spawnSync('readelf', ['-d', binary], { encoding: 'utf8' });
      for (const match of elf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
        if (!bundled.has(match[1])) needed.add(match[1]);
      }
    }
    expect(needed.size).toBeGreaterThan(3);
    // One dpkg call (each reads the whole file list): lines like "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3".
    const owners = new Map<string, Set<string>>();
    const search = spawnSync('dpkg', ['-S', ...[...needed].map((library) => `*/${library}`)], { encoding: 'utf8' });
    for (const line of search.stdout.split('\n')) {
      const match = /^([^:\s]+)(?::[^:\s]+)?: (.+)$/.exec(line);
      if (!match) continue;
      for (const pkg of match[1].split(',')) {
        const library = path.basename(match[2]);
        owners.set(library, (owners.get(library) ?? new Set()).add(pkg.trim()));
      }
    }
    const missing: string[] = [];
    for (const library of needed) {
      const packages = [...(owners.get(library) ?? [])];
      if (!packages.some((pkg) => installed.has(pkg) || baseImage.has(pkg))) missing.push(`${library} (from ${packages.join(', ') || 'no package'})`);
    }
    expect(missing).toEqual([]);
  });
});
