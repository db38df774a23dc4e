/**
 * Summarises V8 .cpuprofile files (node --cpu-prof): self time per function (name + file + line)
 * and per area (a package in node_modules, a file of ours, Node internals, GC, idle), so the
 * profile of a benchmark run reads as a table instead of a flame chart.
 *
 *   node .cache/bench/test/bench/cpuprofile-summary.js [--top 25] FILE.cpuprofile...
 *
 * Self time of a sample is the gap to the next sample (as Chrome DevTools counts it); the last
 * sample gets the mean interval.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTimeEntry {
  readonly name: string;
  readonly location: string;
  readonly area: string;
  readonly selfMs: number;
  /** Share of the profile's busy time (everything but "(idle)"). */
  readonly busyShare: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** "main" or "worker <thread id>", from Node's file name CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile. */
  readonly thread: string;
  readonly durationMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly functions: SelfTimeEntry[];
  readonly areas: Array<{ area: string; selfMs: number; busyShare: number }>;
}

const ROOT_MARKERS = [`${path.sep}dist${path.sep}`, `${path.sep}src${path.sep}`, `${path.sep}test${path.sep}`];

export function summariseProfile(file: string, repoRoot: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const meanDelta = samples.length > 0 ? (profile.endTime - profile.startTime) / samples.length : 0;
  for (let i = 0; i < samples.length; i++) {
    const duration = i + 1 < deltas.length ? deltas[i + 1] : meanDelta;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, duration));
  }
  const functions = new Map<string, { name: string; location: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    if (name === '(idle)') idleUs += us;
    const location = shortLocation(url, repoRoot);
    const area = areaOf(name, url, location);
    const key = `${name}\u0000${location}\u0000${lineNumber}`;
    const entry = functions.get(key) ?? { name, location: location === '' ? '' : `${location}:${lineNumber + 1}`, area, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const share = (us: number): number => (busyUs > 0 ? us / busyUs : 0);
  return {
    file,
    thread: threadOf(file),
    durationMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...functions.values()]
      .filter((entry) => entry.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .map((entry) => ({ name: entry.name, location: entry.location, area: entry.area, selfMs: entry.us / 1000, busyShare: share(entry.us) })),
    areas: [...areas]
      .filter(([area]) => area !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, busyShare: share(us) })),
  };
}

function threadOf(file: string): string {
  const parts = path.basename(file).split('.');
  // CPU.20251128.233000.1234.0.001.cpuprofile
  const tid = parts.length >= 7 ? parts[parts.length - 3] : '?';
  return tid === '0' ? 'main' : `worker ${tid}`;
}

function shortLocation(url: string, repoRoot: string): string {
  if (url === '') return '';
  let location = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  const nodeModules = location.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  if (nodeModules >= 0) return location.slice(nodeModules + 1);
  if (location.startsWith(repoRoot + path.sep)) location = location.slice(repoRoot.length + 1);
  else {
    for (const marker of ROOT_MARKERS) {
      const at = location.indexOf(marker);
      if (at >= 0) return location.slice(at + 1);
    }
  }
  return location;
}

function areaOf(name: string, url: string, location: string): string {
  if (name.startsWith('(') && name.endsWith(')') && url === '') return name; // (garbage collector), (program), (idle), (root)
  if (url === '') return '(native / V8 builtins)';
  if (location.startsWith('node:') || location.startsWith('internal/')) return 'node internals';
  if (location.startsWith('node_modules/')) {
    const parts = location.split('/');
    const name = parts[1].startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1];
    return `node_modules/${name}`;
  }
  if (location.startsWith('wasm://')) return 'wasm';
  return location;
}

export function formatSummary(summary: ProfileSummary, top: number): string {
  const lines: string[] = [];
  const ms = (value: number): string => value.toFixed(0).padStart(7);
  const pct = (value: number): string => `${(value * 100).toFixed(1).padStart(5)}%`;
  lines.push(
    `${summary.thread}: ${path.basename(summary.file)}: ${(summary.durationMs / 1000).toFixed(2)} s profiled, ` +
      `${(summary.busyMs / 1000).toFixed(2)} s busy, ${(summary.idleMs / 1000).toFixed(2)} s idle`,
  );
  lines.push(`  by area (self time, share of busy):`);
  for (const area of summary.areas.slice(0, 12)) lines.push(`  ${ms(area.selfMs)} ms ${pct(area.busyShare)}  ${area.area}`);
  lines.push(`  top ${top} functions by self time:`);
  for (const entry of summary.functions.slice(0, top)) {
    lines.push(`  ${ms(entry.selfMs)} ms ${pct(entry.busyShare)}  ${entry.name}  ${entry.location}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  let top = 25;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--top') top = Number(args[++i]);
    else files.push(args[i]);
  }
  if (files.length === 0) {
    process.stderr.write('usage: cpuprofile-summary [--top N] FILE.cpuprofile...\n');
    process.exit(2);
  }
  for (const file of files) process.stdout.write(`${formatSummary(summariseProfile(file, process.cwd()), top)}\n\n`);
}
