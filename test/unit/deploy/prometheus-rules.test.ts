/**
 * config/prometheus/alerts.yml against a running collector: the real app on the harness broker,
 * after it consumed, published a file and measured lag, serving /metrics over HTTP. Every metric
 * an alert uses must be in that /metrics (or be Prometheus' own `up`), with the labels it filters
 * and groups by; build_info and the last-publish time are checked on the same scrape.
 */
import { request } from 'node:http';
import type { CollectorApp } from '../../../src/app';
import { CRASHES_METRIC } from '../../../src/cluster/primary';
import { buildInfo, COLLECTOR_VERSION } from '../../../src/version';
import { createTestApp, tempOutputDir } from '../../harness/collector';
import { createTopic, produce, uniqueName, waitUntil } from '../../harness/kafka';
import { sampleSum } from '../../harness/prometheus';
import { encodeEvent, marketEvent } from '../../harness/market-data';
import { TARGET_LABELS, exportedSeries, loadYaml, promqlReferences, readRepoFile, type ExportedSeries } from './artefacts';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (loadYaml('config', 'prometheus', 'alerts.yml') as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
/**
 * Series Prometheus makes itself for every scrape target, and the one the primary of several
 * consumer processes adds to their aggregated metrics (test/integration/workers.test.ts scrapes it).
 */
const PROMETHEUS_SERIES = new Map<string, ExportedSeries>([
  ['up', { metric: 'up', labels: [] }],
  [CRASHES_METRIC, { metric: CRASHES_METRIC, labels: [] }],
]);

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Metric names in Prometheus text: each # TYPE line, histograms and summaries with their series. */
function scrapedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') ['_bucket', '_sum', '_count'].forEach((suffix) => names.add(`${name}${suffix}`));
    if (type === 'summary') ['_sum', '_count'].forEach((suffix) => names.add(`${name}${suffix}`));
  }
  return names;
}

const topic = uniqueName('rules');
let app: CollectorApp;
let finished: Promise<void>;
let scraped: string;
let registry: Map<string, ExportedSeries>;
let publishWindow: { from: number; to: number };

beforeAll(async () => {
  registry = await exportedSeries();
  await createTopic(topic, 2);
  const start = Date.UTC(2025, 9, 17);
  await produce(topic, Array.from({ length: 100 }, (_, n) => ({ key: String(n), value: encodeEvent(marketEvent(n, start + n), 'msgpack'), timestamp: start + n })));
  app = createTestApp({ TOPICS: topic, GROUP_ID: uniqueName('group'), OUTPUT_DIR: tempOutputDir(), FLUSH_INTERVAL_MS: '500', LAG_INTERVAL_MS: '500' });
  const from = Date.now() / 1000;
  ({ finished } = await app.start());
  const port = app.httpPort as number;
  await waitUntil(
    async () => {
      const text = await get(port, '/metrics');
      return sampleSum(text, 'collector_files_written_total', { topic }) > 0 && text.includes(`collector_consumer_lag_messages{topic="${topic}"`);
    },
    { timeoutMs: 60_000, what: 'a published file and a lag measurement' },
  );
  publishWindow = { from, to: Date.now() / 1000 };
  scraped = await get(port, '/metrics');
}, 120_000);

afterAll(async () => {
  await app?.stop('test');
  await finished;
});

describe('Prometheus alert rules', () => {
  it('alert on what the issue asks for, each with a severity, a summary and a hold time', () => {
    expect(rules.map((rule) => rule.alert).sort()).toEqual([
      'CollectorAbsent',
      'CollectorCommitErrors',
      'CollectorCompactionStuck',
      'CollectorConsumerLagGrowing',
      'CollectorConsumerProcessesCrashLooping',
      'CollectorDeadLetters',
      'CollectorDown',
      'CollectorFilesLateForFence',
      'CollectorLakeRetentionFailing',
      'CollectorMemoryNearLimit',
      'CollectorNoFilePublished',
      'CollectorOldestUnflushedRecordTooOld',
      'CollectorPartitionsLost',
      'CollectorPartitionsPaused',
      'CollectorStoreErrors',
      'CollectorStoreSlow',
      'CollectorTopicTrimFailing',
      'CollectorWriteErrors',
    ]);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity, summary: typeof rule.annotations?.summary, for: rule.for }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(warning|critical)$/),
        summary: 'string',
        for: expect.stringMatching(/^\d+[smh]$/),
      });
    }
  });

  it('name no job, so they fire under compose, pod annotations and the Prometheus Operator alike', () => {
    const named = rules.filter((rule) => promqlReferences(rule.expr).matcherLabels.some(({ label }) => label === 'job'));
    expect(named.map((rule) => rule.alert)).toEqual([]);
    expect(rules.filter((rule) => /\babsent\(/.test(rule.expr)).map((rule) => rule.alert)).toEqual(['CollectorAbsent']);
  });

  it('link each alert to its runbook section in docs/operations.md', () => {
    const anchors = new Set([...readRepoFile('docs', 'operations.md').matchAll(/^#{1,6} (.+)$/gm)].map((match) => match[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    for (const rule of rules) {
      const url = rule.annotations?.runbook_url ?? '';
      expect({ alert: rule.alert, url }).toEqual({ alert: rule.alert, url: `docs/operations.md#${String(rule.alert).toLowerCase()}` });
      expect({ alert: rule.alert, section: anchors.has(String(rule.alert).toLowerCase()) }).toEqual({ alert: rule.alert, section: true });
    }
  });

  it('use only metrics that a running collector\'s /metrics exports', () => {
    const names = scrapedNames(scraped);
    const missing: string[] = [];
    for (const rule of rules) {
      const { metrics } = promqlReferences(rule.expr);
      expect({ alert: rule.alert, selectsAMetric: metrics.length > 0 }).toEqual({ alert: rule.alert, selectsAMetric: true });
      for (const metric of metrics) if (!names.has(metric) && !PROMETHEUS_SERIES.has(metric)) missing.push(`${rule.alert}: ${metric}`);
    }
    expect(missing).toEqual([]);
  });

  it('filter and group only by labels those metrics have', () => {
    const labelsOf = (metric: string): string[] => [...(registry.get(metric)?.labels ?? PROMETHEUS_SERIES.get(metric)?.labels ?? []), ...TARGET_LABELS];
    const problems: string[] = [];
    for (const rule of rules) {
      const references = promqlReferences(rule.expr);
      for (const { metric, label } of references.matcherLabels) if (!labelsOf(metric).includes(label)) problems.push(`${rule.alert}: ${metric} has no label ${label}`);
      const available = new Set(references.metrics.flatMap(labelsOf));
      for (const label of references.groupingLabels) if (!available.has(label)) problems.push(`${rule.alert}: no ${label} label in ${references.metrics.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it('are loaded by the Prometheus that compose runs', () => {
    const prometheus = loadYaml('config', 'prometheus', 'prometheus.yml') as { rule_files?: string[] };
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });
});

describe('the running collector\'s /metrics', () => {
  it('has build_info with the version, the commit, and the Node.js and librdkafka versions', () => {
    const info = buildInfo();
    expect(info).toMatchObject({ version: COLLECTOR_VERSION, node: process.version, librdkafka: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(info.commit).toMatch(/^([0-9a-f]{7,40}|unknown)$/);
    const line = scraped.split('\n').find((entry) => entry.startsWith('collector_build_info{'));
    expect(line).toBe(`collector_build_info{version="${info.version}",commit="${info.commit}",node="${info.node}",librdkafka="${info.librdkafka}"} 1`);
  });

  it('stamps the time of the last published data file per topic', () => {
    const stamp = sampleSum(scraped, 'collector_last_publish_timestamp_seconds', { topic, kind: 'data' });
    expect(stamp).toBeGreaterThanOrEqual(Math.floor(publishWindow.from));
    expect(stamp).toBeLessThanOrEqual(publishWindow.to);
  });
});
