/**
 * The Grafana dashboard queries only series that /metrics really exports (names taken from the
 * collector's own registry), with labels those series have, and covers what operators watch.
 */
import {
  TARGET_LABELS,
  exportedSeries,
  loadYaml,
  promqlReferences,
  readRepoFile,
  type ExportedSeries,
} from './artefacts';

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  fieldConfig?: { defaults?: { unit?: string } };
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

interface Dashboard {
  uid: string;
  title: string;
  editable: boolean;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readRepoFile('config', 'grafana', 'dashboards', 'collector.json')) as Dashboard;
const allPanels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = allPanels.filter((panel) => panel.type !== 'row');
const panelExprs = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })));
// label_values(metric{...}, label) in query variables is PromQL too.
const variableExprs = dashboard.templating.list
  .filter((variable) => variable.type === 'query')
  .map((variable) => {
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    const match = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query.trim());
    return { panel: `variable ${variable.name}`, expr: match ? match[1] : query, label: match?.[2] };
  });

let series: Map<string, ExportedSeries>;

beforeAll(async () => {
  series = await exportedSeries();
});

describe('Grafana dashboard', () => {
  it('is a dashboard with a stable uid and query panels', () => {
    expect(dashboard.uid).toBe('redpanda-parquet-collector');
    expect(queryPanels.length).toBeGreaterThan(10);
    expect(panelExprs.every(({ expr }) => expr.trim() !== '')).toBe(true);
  });

  it('reads the metric names from the real registry, histograms with their _bucket series', () => {
    expect(series.has('collector_flush_duration_seconds_bucket')).toBe(true);
    expect(series.get('collector_flush_duration_seconds_bucket')?.labels).toContain('le');
    expect(series.has('collector_messages_consumed_total')).toBe(true);
    expect(series.has('process_resident_memory_bytes')).toBe(true);
  });

  it('queries only series that /metrics exports', () => {
    const unknown: string[] = [];
    for (const { panel, expr } of [...panelExprs, ...variableExprs]) {
      const { metrics } = promqlReferences(expr);
      expect({ panel, expr, selectsAMetric: metrics.length > 0 }).toEqual({ panel, expr, selectsAMetric: true });
      for (const metric of metrics) if (!series.has(metric)) unknown.push(`${panel}: ${metric}`);
    }
    expect(unknown).toEqual([]);
  });

  it('filters and groups only by labels those series have', () => {
    const problems: string[] = [];
    for (const { panel, expr } of [...panelExprs, ...variableExprs]) {
      const references = promqlReferences(expr);
      for (const { metric, label } of references.matcherLabels) {
        const labels = [...(series.get(metric)?.labels ?? []), ...TARGET_LABELS];
        if (!labels.includes(label)) problems.push(`${panel}: ${metric} has no label ${label}`);
      }
      const available = new Set([...references.metrics.flatMap((metric) => series.get(metric)?.labels ?? []), ...TARGET_LABELS]);
      for (const label of references.groupingLabels) {
        if (!available.has(label)) problems.push(`${panel}: grouping by ${label}, which none of ${references.metrics.join(', ')} has`);
      }
    }
    for (const variable of variableExprs) {
      const metrics = promqlReferences(variable.expr).metrics;
      const labels = [...metrics.flatMap((metric) => series.get(metric)?.labels ?? []), ...TARGET_LABELS];
      if (variable.label !== undefined && !labels.includes(variable.label)) problems.push(`${variable.panel}: no label ${variable.label}`);
    }
    expect(problems).toEqual([]);
  });

  it('shows throughput, lag, files, flush latency, errors, memory, unflushed age, pauses and rebalances', () => {
    const used = new Set(panelExprs.flatMap(({ expr }) => promqlReferences(expr).metrics));
    expect([...used]).toEqual(
      expect.arrayContaining([
        'collector_messages_consumed_total',
        'collector_rows_written_total',
        'collector_consumer_lag_messages',
        'collector_files_written_total',
        'collector_flush_duration_seconds_bucket',
        'collector_decode_failures_total',
        'collector_write_errors_total',
        'collector_dead_letter_records_total',
        'collector_commits_total',
        'collector_buffered_bytes',
        'process_resident_memory_bytes',
        'collector_oldest_unflushed_record_age_seconds',
        'collector_paused_partitions',
        'collector_rebalances_total',
      ]),
    );
    expect(panelExprs.some(({ expr }) => expr.includes('histogram_quantile(') && expr.includes('collector_flush_duration_seconds_bucket'))).toBe(true);
    expect(panelExprs.some(({ expr }) => /collector_commits_total\{[^}]*result="error"/.test(expr))).toBe(true);
  });

  it('shows compaction, the last publish, dropped rows, day fallbacks and the lake store (issues 18, 20)', () => {
    const wanted = [
      'collector_compactions_total',
      'collector_oldest_uncompacted_closed_day_seconds',
      'collector_last_publish_timestamp_seconds',
      'collector_dropped_rows_total',
      'collector_day_fallbacks_total',
      'collector_store_requests_total',
      'collector_store_request_duration_seconds_bucket',
      'collector_store_written_bytes_total',
    ];
    // In the code's registry (so a renamed metric fails here), and queried by some panel.
    expect(wanted.filter((metric) => !series.has(metric))).toEqual([]);
    const used = new Set(panelExprs.flatMap(({ expr }) => promqlReferences(expr).metrics));
    expect(wanted.filter((metric) => !used.has(metric))).toEqual([]);
    const exprs = panelExprs.map(({ expr }) => expr);
    expect(exprs.some((expr) => /sum by \(([^)]*\b)?result\b[^)]*\) \((rate|increase)\(collector_compactions_total\{/.test(expr))).toBe(true);
    expect(exprs.some((expr) => /^time\(\) - max by \(topic\) \(collector_last_publish_timestamp_seconds\{/.test(expr))).toBe(true);
    // Request and error rates per operation, p95 and p99 latency per operation, bytes written.
    expect(exprs.some((expr) => /sum by \(operation\) \(rate\(collector_store_requests_total\{/.test(expr))).toBe(true);
    expect(exprs.some((expr) => /sum by \(operation\b[^)]*\) \(rate\(collector_store_requests_total\{[^}]*result!="ok"/.test(expr))).toBe(true);
    for (const quantile of ['0.95', '0.99']) {
      expect({ quantile, shown: exprs.some((expr) => expr.startsWith(`histogram_quantile(${quantile}, sum by (operation, le) (rate(collector_store_request_duration_seconds_bucket{`)) }).toEqual({ quantile, shown: true });
    }
    expect(exprs.some((expr) => /rate\(collector_store_written_bytes_total\{/.test(expr))).toBe(true);
  });

  it('shows topic trims and lake retention (issue 21)', () => {
    const exprs = panelExprs.map(({ expr }) => expr);
    expect(exprs.some((expr) => /^sum by \(result\) \(increase\(collector_topic_trims_total\{/.test(expr))).toBe(true);
    expect(exprs.some((expr) => /^sum by \(kind\) \(increase\(collector_lake_days_expired_total\{/.test(expr))).toBe(true);
    expect(exprs.some((expr) => /^sum by \(code\) \(increase\(collector_lake_retention_failures_total\{/.test(expr))).toBe(true);
  });

  it('has an instance variable (collector_build_info\'s instances, several at once or all) that every query uses', () => {
    const instance = dashboard.templating.list.find((variable) => variable.name === 'instance');
    const query = typeof instance?.query === 'string' ? instance.query : instance?.query?.query;
    expect({ type: instance?.type, query, multi: instance?.multi, includeAll: instance?.includeAll }).toEqual({
      type: 'query',
      query: expect.stringMatching(/^label_values\(collector_build_info(\{[^}]*\})?, instance\)$/),
      multi: true,
      includeAll: true,
    });
    // Every selector of every panel query and of the topic variable filters on $instance: with those
    // selectors taken out, no metric is left in the expression.
    const withInstance = /[A-Za-z_:][A-Za-z0-9_:]*\{[^}]*\binstance=~"\$instance"[^}]*\}/g;
    const topic = variableExprs.filter(({ panel }) => panel === 'variable topic');
    expect(topic).toHaveLength(1);
    const missing = [...panelExprs, ...topic].filter(({ expr }) => promqlReferences(expr.replace(withInstance, '0')).metrics.length > 0);
    expect(missing).toEqual([]);
    // The check sees a selector without it.
    expect(promqlReferences('sum(a{instance=~"$instance"}) + b{job=~"$job"}'.replace(withInstance, '0')).metrics).toEqual(['b']);
  });

  it('uses the provisioned Prometheus datasource through a datasource variable', () => {
    const provisioned = (loadYaml('config', 'grafana', 'provisioning', 'datasources', 'prometheus.yml') as { datasources: { uid: string; type: string }[] }).datasources[0];
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource') as (Variable & { current?: { value?: string } }) | undefined;
    expect(variable?.query).toBe(provisioned.type);
    expect(variable?.current?.value).toBe(provisioned.uid);
    for (const panel of queryPanels) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({ panel: panel.title, datasource: { type: 'prometheus', uid: `\${${variable?.name}}` } });
    }
  });

  it('uses Grafana\'s own unit ids (free text such as "msg/s" would show as a suffix, unscaled)', () => {
    // From Grafana's unit catalogue (packages/grafana-data valueFormats): the ones a collector needs.
    const grafanaUnits = new Set(['short', 'none', 'percent', 'percentunit', 'bytes', 'decbytes', 'Bps', 'binBps', 's', 'ms', 'dtdurations', 'mps', 'rowsps', 'ops', 'reqps', 'wps', 'rps', 'dateTimeFromNow']);
    const units = queryPanels.map((panel) => ({ panel: panel.title, unit: panel.fieldConfig?.defaults?.unit ?? 'short' }));
    expect(units.filter(({ unit }) => !grafanaUnits.has(unit))).toEqual([]);
    expect(units.filter(({ unit }) => unit === 'mps').length).toBeGreaterThan(0);
    expect(units.filter(({ unit }) => unit === 'rowsps').length).toBeGreaterThan(0);
  });

  it('is editable only if the provisioning lets UI changes be saved', () => {
    const provider = (loadYaml('config', 'grafana', 'provisioning', 'dashboards', 'collector.yml') as { providers: { allowUiUpdates?: boolean }[] }).providers[0];
    expect(dashboard.editable).toBe(provider.allowUiUpdates === true);
  });

  it('has unique panel ids and a layout without overlaps inside the 24-column grid', () => {
    const ids = allPanels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of allPanels) expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    const overlaps: string[] = [];
    for (let i = 0; i < allPanels.length; i++) {
      for (let j = i + 1; j < allPanels.length; j++) {
        const a = allPanels[i].gridPos;
        const b = allPanels[j].gridPos;
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${allPanels[i].title} / ${allPanels[j].title}`);
      }
    }
    expect(overlaps).toEqual([]);
  });
});

describe('promqlReferences (the checker the tests above rely on)', () => {
  it.each([
    ['sum by (topic) (rate(collector_messages_consumed_total{job=~"$job", topic=~"$topic"}[$__rate_interval]))', ['collector_messages_consumed_total'], ['job', 'topic'], ['topic']],
    ['histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="1"}[5m])))', ['a_bucket'], ['x'], ['le']],
    ['(sum(increase(a_total[1h])) or vector(0)) + sum(b) / c{d!="e"} * 60', ['a_total', 'b', 'c'], ['d'], []],
    ['max(x) without (instance) > 1e3', ['x'], [], ['instance']],
  ])('%s', (expr, metrics, matchers, grouping) => {
    const references = promqlReferences(expr);
    expect(references.metrics.sort()).toEqual([...metrics].sort());
    expect(references.matcherLabels.map((m) => m.label).sort()).toEqual([...matchers].sort());
    expect(references.groupingLabels.sort()).toEqual([...grouping].sort());
  });
});
