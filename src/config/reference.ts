import { configSchema } from './schema';

/**
 * docs/configuration.md, generated from the convict schema: every key with its environment
 * variable, default, valid values and doc. `npm run docs:config` writes it;
 * test/unit/config/reference.test.ts fails when the file and the schema disagree.
 */

interface Leaf {
  readonly doc: string;
  readonly format: unknown;
  readonly default: unknown;
  readonly env: string;
  readonly sensitive?: boolean;
}

/** What each named convict format accepts. A new format must be added here, or generation fails. */
const NAMED_FORMATS: Readonly<Record<string, string>> = {
  'positive-int': 'an integer ≥ 1',
  'optional-positive-int': 'an integer ≥ 1, or empty for no limit',
  'string-list': 'comma-separated names (a JSON array in the file)',
  'regular-expression': 'a regular expression, or empty',
  'seed-boolean': '`true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`)',
  'auto-count': '`auto` or an integer ≥ 1',
  'auto-boolean': '`auto`, `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`)',
  'librdkafka-properties': 'a JSON object of librdkafka property names to values',
  port: 'a TCP port, 0 to 65535',
  nat: 'an integer ≥ 0',
};

/** Keys whose format is a validation function, which cannot be read back. */
const FUNCTION_FORMATS: Readonly<Record<string, string>> = {
  'lake.dayTimeZone': 'an IANA time zone name (`UTC`, `Europe/Paris`, …)',
  'lake.schemaFile': 'a path to a JSON schema declaration ([lake.md](lake.md#one-schema-per-topic)), or empty',
};

const SECTIONS: Readonly<Record<string, string>> = {
  mode: 'Run mode',
  kafka: 'Kafka',
  output: 'Output files',
  flush: 'When a file is written, and memory',
  workers: 'Processes and threads',
  once: 'One-shot runs',
  skipExistingCheck: 'Seed compatibility',
  log: 'Logs',
  http: 'HTTP: health and metrics',
  metrics: 'Metrics',
  lake: 'Lake: days, layout, compaction',
  retention: 'Retention: trimming the topic, expiring old lake days',
  s3: 'A lake on S3-compatible object storage (OUTPUT_DIR=s3://bucket/prefix; credentials, region and endpoint from the AWS SDK: AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3, …)',
  shutdown: 'Shutdown',
};

const HEADER = `# Configuration reference

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`; do not edit by hand.
     test/unit/config/reference.test.ts fails when this file and the schema disagree. -->

Every setting is an environment variable and a key of a JSON config file (\`--config FILE\`, else
\`CONFIG_FILE\`, else \`config/collector.json\` when it exists; \`config/collector.example.json\` is
an example). Environment variables win over the file. A bad value, an unknown key or an unusable
\`OUTPUT_DIR\` is reported with every wrong key named before anything is consumed, and the process
exits 2. \`--print-config\` prints the effective configuration with secrets redacted.
`;

const FOOTER = `## Read by the launcher

The launcher (\`bin/redpanda-parquet-collector\`: the image's entry point, \`npm start\` and the
package's \`bin\`) starts Node with heap limits planned from \`MEMORY_BUDGET_BYTES\`, and reads these
before Node starts:

| variable | default | meaning |
|---|---|---|
| \`CONFIG_FILE\` | _(empty)_ | The config file, as \`--config\` (which wins). |
| \`COLLECTOR_NODE_ARGS\` | _(empty)_ | More Node options for the collector, including those \`NODE_OPTIONS\` refuses (\`--cpu-prof\`). |
| \`NODE_OPTIONS\` | _(empty)_ | Heap options you put here win over the planned ones. |
| \`MALLOC_ARENA_MAX\` | \`2\` | glibc malloc arenas; yours wins. |
| \`MALLOC_MMAP_THRESHOLD_\` | \`131072\` | Allocations above this size get their own mapping, returned to the system when freed; yours wins. |

## Build and deployment

- \`COLLECTOR_COMMIT\`: the image's build argument, the git commit in \`collector_build_info\`.
- \`compose.yaml\`: \`OUTPUT_HOST_DIR\`, \`BIND_ADDRESS\`, \`COLLECTOR_ENV_FILE\`, \`GRAFANA_ADMIN_USER\`,
  \`GRAFANA_ADMIN_PASSWORD\`, \`REDPANDA_IMAGE\`, \`PROMETHEUS_IMAGE\`, \`GRAFANA_IMAGE\` (see the README); for its
  \`s3\` profile (MinIO and \`collector-s3\`, see the file's header) \`S3_BUCKET\`, \`S3_GROUP_ID\`,
  \`MINIO_ROOT_USER\`, \`MINIO_ROOT_PASSWORD\`, \`MINIO_IMAGE\`, \`MINIO_MC_IMAGE\`.
`;

function isLeaf(node: object): node is Leaf {
  return 'doc' in node && 'default' in node;
}

function leaves(node: object, prefix: string): Array<[string, Leaf]> {
  return (Object.entries(node) as Array<[string, object]>).flatMap(([name, child]): Array<[string, Leaf]> => {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    return isLeaf(child) ? [[key, child]] : leaves(child, key);
  });
}

/** The values a key accepts, in words. */
export function validValues(key: string, format: unknown): string {
  if (Array.isArray(format)) return format.map((value) => `\`${String(value)}\``).join(', ');
  if (typeof format === 'string') {
    const named = NAMED_FORMATS[format];
    if (named === undefined) throw new Error(`${key}: format ${format} has no description in src/config/reference.ts`);
    return named;
  }
  if (format === String) return 'text';
  const described = FUNCTION_FORMATS[key];
  if (described === undefined) throw new Error(`${key}: its format function has no description in src/config/reference.ts`);
  return described;
}

const KIB = 1024;

function sizeText(bytes: number): string {
  for (const [unit, size] of [['GiB', KIB ** 3], ['MiB', KIB ** 2], ['KiB', KIB]] as const) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return '';
}

function durationText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return '';
}

/** The default as a user writes it, with bytes and milliseconds also in readable units. */
export function defaultText(env: string, value: unknown): string {
  if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) return '_(empty)_';
  const text = `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
  if (typeof value !== 'number') return text;
  const readable = /BYTES$/.test(env) ? sizeText(value) : /_MS$/.test(env) ? durationText(value) : '';
  return readable === '' ? text : `${text} (${readable})`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function configurationReference(): string {
  const sections = new Map<string, string[]>();
  for (const [key, leaf] of leaves(configSchema, '')) {
    const section = SECTIONS[key.split('.')[0]];
    if (section === undefined) throw new Error(`${key}: no section in src/config/reference.ts`);
    const secret = leaf.sensitive === true ? ' Secret: redacted in logs and `--print-config`.' : '';
    const row = `| \`${leaf.env}\` | \`${key}\` | ${defaultText(leaf.env, leaf.default)} | ${cell(validValues(key, leaf.format))} | ${cell(leaf.doc)}${secret} |`;
    sections.set(section, [...(sections.get(section) ?? []), row]);
  }
  const body = [...sections].map(([title, rows]) => [`## ${title}`, '', '| variable | key | default | valid values | meaning |', '|---|---|---|---|---|', ...rows].join('\n'));
  return [HEADER, ...body, FOOTER].join('\n\n').replace(/\n{3,}/g, '\n\n');
}
