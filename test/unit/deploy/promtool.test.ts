/**
 * config/prometheus/alerts.yml through Prometheus' own promtool: `check rules` on the file as it is
 * (syntax, templates), and `test rules` with config/prometheus/alerts.test.yml, in which every alert
 * fires on series of a pod-annotation style job ("kubernetes-pods") and a healthy collector fires
 * none. promtool compares annotations too, so the rule tests run on a copy without them.
 *
 * promtool is built by scripts/setup.sh into .cache/ from the Go module proxy (PROMTOOL names
 * another binary). Where Go is missing the rule tests cannot run and are skipped; the rules are
 * still checked against a running collector's /metrics (prometheus-rules.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandExists, loadYaml, readRepoFile, repoPath } from './artefacts';

interface Rule {
  alert: string;
  expr: string;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alertname: string;
  exp_alerts: { exp_labels: Record<string, string> }[];
}

export const PROMTOOL_VERSION = 'v0.316.0';
const promtool = process.env.PROMTOOL ?? repoPath('.cache', `promtool-${PROMTOOL_VERSION}`, 'promtool');
const available = existsSync(promtool);
const rules = (loadYaml('config', 'prometheus', 'alerts.yml') as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
const ruleTests = (loadYaml('config', 'prometheus', 'alerts.test.yml') as { tests: { alert_rule_test: RuleTest[] }[] }).tests.flatMap((test) => test.alert_rule_test);

function run(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(promtool, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('alerts.test.yml', () => {
  it('makes every alert fire at least once, under a job name that is not compose\'s', () => {
    const firing = ruleTests.filter((test) => test.exp_alerts.length > 0);
    expect(new Set(firing.map((test) => test.alertname))).toEqual(new Set(rules.map((rule) => rule.alert)));
    for (const test of firing) for (const { exp_labels } of test.exp_alerts) expect(exp_labels.job ?? 'kubernetes-pods').toBe('kubernetes-pods');
    expect(readRepoFile('config', 'prometheus', 'alerts.test.yml')).not.toMatch(/job="collector"/);
  });
});

(available || commandExists('go') ? describe : describe.skip)(`promtool ${PROMTOOL_VERSION}`, () => {
  let dir: string;

  beforeAll(() => {
    if (!available) throw new Error(`no promtool at ${promtool}: run npm run setup (it builds one with Go)`);
    dir = mkdtempSync(path.join(tmpdir(), 'promtool-'));
    const stripped = loadYaml('config', 'prometheus', 'alerts.yml') as { groups: { rules: Rule[] }[] };
    for (const group of stripped.groups) for (const rule of group.rules) delete rule.annotations;
    writeFileSync(path.join(dir, 'alerts.yml'), JSON.stringify(stripped));
    writeFileSync(path.join(dir, 'alerts.test.yml'), readRepoFile('config', 'prometheus', 'alerts.test.yml'));
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('checks the rules file: syntax, expressions and annotation templates', () => {
    const { status, output } = run(['check', 'rules', repoPath('config', 'prometheus', 'alerts.yml')], repoPath());
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('passes the rule tests: each alert fires where it should and nowhere else', () => {
    const { status, output } = run(['test', 'rules', 'alerts.test.yml'], dir);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });
});
