/**
 * Readers for the deployment artefacts (Dockerfile, .dockerignore, compose.yaml, Kubernetes and
 * Grafana files) and for the facts they must agree with (config schema, exported metrics).
 * No Docker engine runs where these tests run, so the artefacts are checked statically here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../../src/config/schema';
import { CollectorMetrics } from '../../../src/observability/metrics';

export const REPO = path.resolve(__dirname, '..', '..', '..');

export function repoPath(...parts: string[]): string {
  return path.join(REPO, ...parts);
}

export function readRepoFile(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

// --- YAML ---------------------------------------------------------------------------------------
// js-yaml (a devDependency) ships no types of its own; this is the one function used.
interface JsYaml {
  load(text: string): unknown;
  loadAll(text: string): unknown[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsYaml = require('js-yaml') as JsYaml;

export function loadYaml(...parts: string[]): unknown {
  return jsYaml.load(readRepoFile(...parts));
}

export function loadYamlDocuments(...parts: string[]): unknown[] {
  return jsYaml.loadAll(readRepoFile(...parts)).filter((doc) => doc !== null && doc !== undefined);
}

/** Compose-style `${VAR}`, `${VAR:-default}` and `${VAR-default}` with an empty environment. */
export function interpolate<T>(value: T, env: Readonly<Record<string, string>> = {}): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (_all, name: string, op: string | undefined, fallback: string | undefined) => {
      const set = env[name];
      if (op === ':-') return set ? set : (fallback ?? '');
      if (op === '-') return set ?? fallback ?? '';
      return set ?? '';
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, env)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)])) as T;
  }
  return value;
}

// --- Dockerfile ---------------------------------------------------------------------------------

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  /** Image reference with global ARG defaults substituted. */
  readonly image: string;
  readonly instructions: Instruction[];
}

/** Instructions in order; comments and blank lines dropped, backslash continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const start = i;
    let joined = trimmed;
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1).trimEnd();
      i++;
      const next = lines[i].trim();
      if (next.startsWith('#')) continue;
      joined = `${joined} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(joined);
    if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2], line: start + 1 });
  }
  return instructions;
}

export function dockerStages(instructions: readonly Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [rawImage, as, name] = instruction.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      const image = rawImage.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_all, arg: string) => globalArgs.get(arg) ?? '');
      stages.push({ index: stages.length, name: as?.toUpperCase() === 'AS' ? name : undefined, image, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name, value = ''] = instruction.args.split('=');
        globalArgs.set(name.trim(), value.trim());
      }
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** A JSON array of strings (exec form), or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) return undefined;
  return parsed as string[];
}

/** HEALTHCHECK [--options] CMD ...: the options and the exec-form command. */
export function parseHealthcheck(args: string): { options: Record<string, string>; command: string[] | undefined } {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (let match = /^--([a-z-]+)=(\S+)\s+/.exec(rest); match; match = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[match[1]] = match[2];
    rest = rest.slice(match[0].length);
  }
  if (!rest.startsWith('CMD')) return { options, command: undefined };
  return { options, command: execForm(rest.slice(3).trim()) };
}

/** COPY [--from=x] [--chown=...] src... dest */
export function parseCopy(args: string): { from: string | undefined; sources: string[]; destination: string } {
  const words = args.trim().split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const destination = words.pop() ?? '';
  return { from, sources: words, destination };
}

/** Package names of every `apt-get install` in the RUN instructions. */
export function aptPackages(instructions: readonly Instruction[]): string[] {
  const packages: string[] = [];
  for (const instruction of instructions.filter((i) => i.keyword === 'RUN')) {
    for (const command of instruction.args.split(/&&|;|\|\|/)) {
      const words = command.trim().split(/\s+/);
      const install = words.indexOf('install');
      if (!words.includes('apt-get') || install < 0) continue;
      packages.push(...words.slice(install + 1).filter((word) => word !== '' && !word.startsWith('-')));
    }
  }
  return packages;
}

/** Docker's .dockerignore rules: last matching pattern wins; a pattern that matches a parent matches. */
export function dockerignoreIncludes(ignoreText: string, file: string): boolean {
  const rules = ignoreText
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = path.posix.normalize((negated ? line.slice(1) : line).trim().replace(/^\/+/, ''));
      return { negated, regex: globToRegex(pattern) };
    });
  const parts = path.posix.normalize(file).split('/');
  const prefixes = parts.map((_part, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const rule of rules) {
    if (prefixes.some((prefix) => rule.regex.test(prefix))) included = rule.negated;
  }
  return included;
}

function globToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

// --- Host checks --------------------------------------------------------------------------------

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** VERSION_CODENAME of /etc/os-release, e.g. "bookworm"; undefined off Debian-likes. */
export function osCodename(): string | undefined {
  if (!existsSync('/etc/os-release')) return undefined;
  return /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replace(/"/g, '');
}

/** Whether apt has the package list of Debian bookworm's main archive (after `apt-get update`). */
export function aptHasBookwormLists(): boolean {
  const lists = '/var/lib/apt/lists';
  return existsSync(lists) && readdirSync(lists).some((name) => /_bookworm_main_binary-[^_]+_Packages/.test(name));
}

// --- Config schema ------------------------------------------------------------------------------

interface SchemaLeaf {
  env?: string;
  default?: unknown;
}

function schemaLeaves(node: Record<string, unknown>, prefix = ''): Map<string, SchemaLeaf & { key: string }> {
  const leaves = new Map<string, SchemaLeaf & { key: string }>();
  for (const [key, value] of Object.entries(node)) {
    if (typeof value !== 'object' || value === null) continue;
    const fullKey = prefix ? `${prefix}.${key}` : key;
    if ('default' in value) {
      const leaf = value as SchemaLeaf;
      if (leaf.env) leaves.set(leaf.env, { ...leaf, key: fullKey });
    } else {
      for (const [env, leaf] of schemaLeaves(value as Record<string, unknown>, fullKey)) leaves.set(env, leaf);
    }
  }
  return leaves;
}

/** Every environment variable the collector reads, with its schema default. */
export const CONFIG_ENV: ReadonlyMap<string, SchemaLeaf & { key: string }> = schemaLeaves(configSchema as unknown as Record<string, unknown>);

export function configDefault(env: string): unknown {
  const leaf = CONFIG_ENV.get(env);
  if (leaf === undefined) throw new Error(`${env} is not a config variable`);
  return leaf.default;
}

// --- Metrics ------------------------------------------------------------------------------------

export interface ExportedSeries {
  /** The metric the series belongs to. */
  readonly metric: string;
  readonly labels: readonly string[];
}

/**
 * Every series name that /metrics exports, from the collector's real registry: counters and gauges
 * under their own name, histograms as _bucket (with `le`), _sum and _count, summaries likewise.
 */
export async function exportedSeries(): Promise<Map<string, ExportedSeries>> {
  const metrics = new CollectorMetrics();
  const series = new Map<string, ExportedSeries>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const instance = metrics.registry.getSingleMetric(metric.name) as unknown as { labelNames?: readonly string[] } | undefined;
    const labels = [...(instance?.labelNames ?? [])];
    const type = String(metric.type);
    if (type === 'histogram') {
      series.set(`${metric.name}_bucket`, { metric: metric.name, labels: [...labels, 'le'] });
      series.set(`${metric.name}_sum`, { metric: metric.name, labels });
      series.set(`${metric.name}_count`, { metric: metric.name, labels });
    } else if (type === 'summary') {
      series.set(metric.name, { metric: metric.name, labels: [...labels, 'quantile'] });
      series.set(`${metric.name}_sum`, { metric: metric.name, labels });
      series.set(`${metric.name}_count`, { metric: metric.name, labels });
    } else {
      series.set(metric.name, { metric: metric.name, labels });
    }
  }
  return series;
}

// --- PromQL -------------------------------------------------------------------------------------

const PROMQL_KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan',
]);

export interface PromqlReferences {
  /** Metric names selected by the expression. */
  readonly metrics: string[];
  /** Label names in each metric's {matchers}. */
  readonly matcherLabels: { metric: string; label: string }[];
  /** Label names in by (...) / without (...) / on (...) / ignoring (...) clauses. */
  readonly groupingLabels: string[];
}

/**
 * The metric and label names a PromQL expression refers to, for the subset dashboards use:
 * selectors with matchers, range vectors, aggregations with by/without, functions, arithmetic.
 * Grafana variables ($topic, $__rate_interval) are treated as opaque values.
 */
export function promqlReferences(expr: string): PromqlReferences {
  const metrics: string[] = [];
  const matcherLabels: { metric: string; label: string }[] = [];
  const groupingLabels: string[] = [];
  // String literals and range/offset durations carry no names.
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""').replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_all, _keyword: string, labels: string) => {
    groupingLabels.push(...labels.split(',').map((label) => label.trim()).filter((label) => label !== ''));
    return ' ';
  });
  // metric{matchers} or a bare {matchers} selector (the latter names no metric: flag it).
  text = text.replace(/([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, matchers: string) => {
    const name = metric ?? '';
    for (const matcher of matchers.split(',')) {
      const label = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
      if (label !== undefined && label !== '__name__') matcherLabels.push({ metric: name, label });
    }
    if (name === '') metrics.push('{}');
    return ` ${name} `;
  });
  text = text.replace(/\$\{?[A-Za-z_][A-Za-z0-9_:]*\}?/g, ' ');
  const identifier = /([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g;
  for (let match = identifier.exec(text); match; match = identifier.exec(text)) {
    const [, name, call] = match;
    const previous = text[match.index - 1];
    if (previous !== undefined && /[0-9.]/.test(previous)) continue; // 1e3, 0.95
    if (call !== undefined) continue; // function or aggregation
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    metrics.push(name);
  }
  return { metrics: [...new Set(metrics)], matcherLabels, groupingLabels: [...new Set(groupingLabels)] };
}

/** Labels Prometheus attaches to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'];
