import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import { parseDocument, stringify } from 'yaml';
import { Metrics } from '../../../src/observability/metrics.ts';
import { ALERTS_FILE, PROMETHEUS_RULE_FILE } from '../../support/prometheus-rule.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown } & Record<string, unknown>;
  annotations?: { summary?: unknown; runbook_url?: unknown } & Record<string, unknown>;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: unknown }>;
  panels?: Panel[];
}

/** A YAML file as plain data; a syntax error or a duplicate key fails. */
function yamlData(path: string): unknown {
  const doc = parseDocument(read(path), { uniqueKeys: true });
  assert.deepEqual(
    doc.errors.map((e) => e.message),
    [],
    `${path} is not valid YAML`,
  );
  return doc.toJS() as unknown;
}

const alerts = yamlData(ALERTS_FILE) as { groups: Array<{ name?: unknown; rules: AlertRule[] }> };
const dashboard = JSON.parse(read('deploy/grafana/kafka-mirror.json')) as {
  panels: Panel[];
  templating?: { list?: Array<{ name?: string; query?: unknown }> };
};

const rules = alerts.groups.flatMap((group) => group.rules);

/** Every panel, rows' nested panels included. */
function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

/** Where each PromQL expression comes from, for the failure message. */
function expressions(): Array<[where: string, expr: string]> {
  const out: Array<[string, string]> = [];
  for (const rule of rules) out.push([`alert ${String(rule.alert)}`, String(rule.expr)]);
  for (const panel of panelsOf(dashboard.panels)) {
    for (const target of panel.targets ?? []) out.push([`panel "${panel.title}"`, String(target.expr)]);
  }
  for (const variable of dashboard.templating?.list ?? []) {
    if (typeof variable.query === 'string') out.push([`variable $${variable.name}`, variable.query]);
  }
  return out;
}

const METRIC = /\b(kafka_mirror_[a-z_]+|process_[a-z_]+|nodejs_[a-z_0-9]+)\b/g;
const HISTOGRAM_SERIES = /_(bucket|count|sum)$/;

/** Names in `expr` that `registry` does not define (histogram series resolve to their histogram). */
function unknownMetrics(expr: string, registry: Registry): string[] {
  const unknown: string[] = [];
  for (const [name] of expr.matchAll(METRIC)) {
    if (registry.getSingleMetric(name) !== undefined) continue;
    const base = name.replace(HISTOGRAM_SERIES, '');
    if (base !== name && typeOf(registry, base) === 'histogram') continue;
    unknown.push(name);
  }
  return unknown;
}

function typeOf(registry: Registry, name: string): string | undefined {
  const metric = registry.getMetricsAsArray().find((m) => m.name === name);
  return metric === undefined ? undefined : String(metric.type);
}

/** Label matchers written right after one of our metric names: `name{label="..."}`. */
function selectorLabels(expr: string): Array<[metric: string, label: string]> {
  const out: Array<[string, string]> = [];
  for (const [, metric = '', matchers = ''] of expr.matchAll(/\b(kafka_mirror_[a-z_]+)\{([^}]*)\}/g)) {
    for (const [, label = ''] of matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g))
      out.push([metric, label]);
  }
  return out;
}

const registry = new Metrics({ defaultMetrics: true }).registry;

/** The label names of a metric the registry defines, histogram series resolved. */
function labelsOf(name: string): readonly string[] {
  const base = name.replace(HISTOGRAM_SERIES, '');
  const metric = registry.getSingleMetric(name) ?? registry.getSingleMetric(base);
  return metric === undefined ? [] : (metric as unknown as { labelNames: string[] }).labelNames;
}

test('alerts and dashboard use only metrics the daemon registers (defaults included)', () => {
  const exprs = expressions();
  assert.ok(exprs.length >= 20, `found the expressions (${exprs.length})`);
  const used = new Set(exprs.flatMap(([, expr]) => [...expr.matchAll(METRIC)].map((m) => m[1])));
  assert.ok(used.has('kafka_mirror_replication_latency_seconds_bucket'), 'histogram series are checked');
  assert.ok(used.has('process_resident_memory_bytes'), 'process metrics are checked');
  const unknown = exprs.flatMap(([where, expr]) =>
    unknownMetrics(expr, registry).map((n) => `${where}: ${n}`),
  );
  assert.deepEqual(unknown, []);
});

test('label matchers on our metrics name labels those metrics have', () => {
  const wrong = expressions().flatMap(([where, expr]) =>
    selectorLabels(expr)
      .filter(
        ([metric, label]) => label !== 'job' && label !== 'instance' && !labelsOf(metric).includes(label),
      )
      .map(([metric, label]) => `${where}: ${metric} has no label ${label}`),
  );
  assert.deepEqual(wrong, []);
  assert.deepEqual(selectorLabels('x + kafka_mirror_errors_total{flow=~"$f", code!="X"}'), [
    ['kafka_mirror_errors_total', 'flow'],
    ['kafka_mirror_errors_total', 'code'],
  ]);
});

test('the check finds names the registry does not define', () => {
  assert.deepEqual(unknownMetrics('rate(kafka_mirror_nope_total[5m])', registry), [
    'kafka_mirror_nope_total',
  ]);
  assert.deepEqual(
    unknownMetrics('sum(kafka_mirror_records_total_bucket) + process_nope_bytes + nodejs_nope2', registry),
    ['kafka_mirror_records_total_bucket', 'process_nope_bytes', 'nodejs_nope2'],
    'a _bucket suffix only resolves on a histogram',
  );
  assert.deepEqual(
    unknownMetrics(
      'rate(kafka_mirror_replication_latency_seconds_sum[1m]) / rate(kafka_mirror_replication_latency_seconds_count[1m]) + nodejs_gc_duration_seconds_bucket',
      registry,
    ),
    [],
  );
  assert.deepEqual(
    unknownMetrics('process_resident_memory_bytes', new Metrics().registry),
    ['process_resident_memory_bytes'],
    'without defaultMetrics the process metrics are not there',
  );
});

test('every alert rule has alert, expr, for, a severity and a summary; names are unique', () => {
  assert.ok(rules.length > 0, 'the file has rules');
  for (const rule of rules) {
    const name = String(rule.alert);
    assert.equal(typeof rule.alert, 'string', 'alert');
    assert.match(name, /^KafkaMirror[A-Za-z]+$/);
    assert.ok(typeof rule.expr === 'string' && rule.expr.trim() !== '', `${name}: expr`);
    assert.match(String(rule.for), /^\d+[smhd]$/, `${name}: for`);
    assert.ok(
      ['critical', 'warning', 'info'].includes(String(rule.labels?.severity)),
      `${name}: labels.severity`,
    );
    assert.ok(
      typeof rule.annotations?.summary === 'string' && rule.annotations.summary !== '',
      `${name}: annotations.summary`,
    );
  }
  const names = rules.map((rule) => String(rule.alert));
  assert.deepEqual(
    names.filter((name, i) => names.indexOf(name) !== i),
    [],
    'duplicate alert names',
  );
});

test('every dashboard panel has at least one target with an expr', () => {
  const panels = panelsOf(dashboard.panels).filter((panel) => panel.type !== 'row');
  assert.ok(panels.length > 0, 'the dashboard has panels');
  const empty = panels
    .filter((panel) => !(panel.targets ?? []).some((t) => typeof t.expr === 'string' && t.expr.trim() !== ''))
    .map((panel) => panel.title);
  assert.deepEqual(empty, []);
});

// --- runbooks: every rule links its entry in docs/operations.md ---

const OPERATIONS = 'docs/operations.md';
const RUNBOOK_URL = /^docs\/operations\.md#([a-z0-9-]+)$/;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes, repeats numbered. */
function anchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = (heading[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.push(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

/** The third-level headings of one second-level section of a Markdown page. */
function subheadings(markdown: string, section: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${section}`);
  if (start < 0) return [];
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .flatMap((line) => (line.startsWith('### ') ? [line.slice(4).trim()] : []));
}

test('the anchor helper follows GitHub: case, punctuation, spaces, repeats, code blocks', () => {
  assert.deepEqual(
    anchors('# Auditing: `kafka-mirror verify`\n## A b\n```\n# not a heading\n```\n## A b\n'),
    ['auditing-kafka-mirror-verify', 'a-b', 'a-b-1'],
  );
  assert.deepEqual(
    subheadings('## X\n### one\n## Alerts\n### two\n#### no\n### three\n## Y\n### four', 'Alerts'),
    ['two', 'three'],
  );
});

test('every alert rule has a runbook_url whose anchor is its own heading in docs/operations.md', () => {
  const headings = new Set(anchors(read(OPERATIONS)));
  const problems = rules.flatMap((rule) => {
    const name = String(rule.alert);
    const url = rule.annotations?.runbook_url;
    const anchor = typeof url === 'string' ? RUNBOOK_URL.exec(url)?.[1] : undefined;
    if (anchor === undefined)
      return [`${name}: runbook_url ${String(url)} is not docs/operations.md#<anchor>`];
    // The anchor is the alert's name: stable as long as the alert keeps its name.
    if (anchor !== name.toLowerCase()) return [`${name}: runbook_url points at #${anchor}`];
    return headings.has(anchor) ? [] : [`${name}: no heading #${anchor} in ${OPERATIONS}`];
  });
  assert.deepEqual(problems, []);
});

test('docs/operations.md has one entry per alert under "Alerts", and none for an alert that is gone', () => {
  const entries = subheadings(read(OPERATIONS), 'Alerts');
  assert.deepEqual([...entries].sort(), rules.map((rule) => String(rule.alert)).sort());
});

// --- the rule file's shape, as Prometheus reads it (no promtool needed) ---

const RULE_KEYS = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

/** What is wrong with the brackets and quotes of a PromQL expression (empty when nothing is). */
function bracketProblems(expr: string): string[] {
  const closing: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const open: string[] = [];
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i] ?? '';
    if (c === '"' || c === "'" || c === '`') {
      const end = expr.indexOf(c, i + 1);
      if (end < 0) return [`unterminated ${c} at ${i}`];
      i = end;
    } else if (closing[c] !== undefined) open.push(closing[c]);
    else if (c === ')' || c === ']' || c === '}') {
      if (open.pop() !== c) return [`unbalanced ${c} at ${i}`];
    }
  }
  return open.length === 0 ? [] : [`unclosed: expected ${open.reverse().join('')}`];
}

test('the bracket check finds what Prometheus would refuse', () => {
  assert.deepEqual(bracketProblems('sum by (a) (rate(x{b="(]"}[5m]))'), []);
  assert.deepEqual(bracketProblems('sum(rate(x[5m])'), ['unclosed: expected )']);
  assert.deepEqual(bracketProblems('x{a="b}'), ['unterminated " at 4']);
  assert.deepEqual(bracketProblems('x[5m)'), ['unbalanced ) at 4']);
});

test('alerts.yaml has the shape of a Prometheus rule file: groups, rule keys, strings, templates', () => {
  assert.deepEqual(Object.keys(alerts), ['groups'], 'only groups at the top');
  const groupNames = alerts.groups.map((group) => group.name);
  assert.ok(
    groupNames.every((name) => typeof name === 'string' && name !== ''),
    'every group has a name',
  );
  assert.equal(new Set(groupNames).size, groupNames.length, 'group names are unique');
  const problems = rules.flatMap((rule) => {
    const name = String(rule.alert);
    const found = Object.keys(rule).filter((key) => !RULE_KEYS.has(key));
    const strings = { ...rule.labels, ...rule.annotations };
    return [
      ...found.map((key) => `${name}: unknown key ${key}`),
      ...Object.entries(strings)
        .filter(([, value]) => typeof value !== 'string')
        .map(([key]) => `${name}: ${key} is not a string`),
      ...bracketProblems(String(rule.expr)).map((p) => `${name}: expr ${p}`),
      ...Object.entries(strings)
        .filter(([, value]) => String(value).split('{{').length !== String(value).split('}}').length)
        .map(([key]) => `${name}: ${key} has unbalanced {{ }}`),
      ...(typeof rule.annotations?.description === 'string' ? [] : [`${name}: annotations.description`]),
    ];
  });
  assert.deepEqual(problems, []);
});

test('deploy/kubernetes/prometheusrule.yaml carries exactly the rules of alerts.yaml (npm run deploy:rules)', () => {
  const resource = yamlData(PROMETHEUS_RULE_FILE) as {
    apiVersion?: unknown;
    kind?: unknown;
    spec?: { groups?: unknown };
  };
  assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(resource.kind, 'PrometheusRule');
  assert.deepEqual(resource.spec?.groups, alerts.groups);
});

test('promtool, where installed, accepts both rule files and the rules fire as alerts.test.yaml expects', async (t) => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const promtool = (...args: string[]) => promisify(execFile)('promtool', args, { cwd: root });
  try {
    await promtool('--version');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('promtool is not installed');
    throw error;
  }
  const dir = await mkdtemp(join(tmpdir(), 'kafka-mirror-rules-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const resource = yamlData(PROMETHEUS_RULE_FILE) as { spec: { groups: unknown } };
  const operatorRules = join(dir, 'prometheusrule-groups.yaml');
  await writeFile(operatorRules, stringify({ groups: resource.spec.groups }));
  const checked = await promtool('check', 'rules', ALERTS_FILE, operatorRules);
  assert.match(checked.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  const tested = await promtool('test', 'rules', 'deploy/prometheus/alerts.test.yaml');
  assert.match(tested.stdout, /SUCCESS/);
});

// --- the dashboard filters every query by $job, and by $flow where the metric has a flow label ---

/** Each selector of one of our metrics in `expr` with its label matchers (`label=~"value"` strings). */
function selectors(expr: string): Array<{ metric: string; matchers: string[] }> {
  return [...expr.matchAll(new RegExp(`${METRIC.source}(?:\\{([^}]*)\\})?`, 'g'))].map(
    ([, metric = '', inner = '']) => ({
      metric,
      matchers: inner
        .split(',')
        .map((m) => m.replace(/\s+/g, ''))
        .filter((m) => m !== ''),
    }),
  );
}

test('the selector helper reads each metric with its matchers', () => {
  assert.deepEqual(
    selectors('sum(rate(kafka_mirror_records_total{job=~"$job", flow=~"$flow"}[1m])) / process_x'),
    [
      { metric: 'kafka_mirror_records_total', matchers: ['job=~"$job"', 'flow=~"$flow"'] },
      { metric: 'process_x', matchers: [] },
    ],
  );
});

test('every dashboard query filters by $job, and by $flow where the metric has a flow label', () => {
  const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
  assert.ok(variables.includes('job') && variables.includes('flow'), `variables: ${variables.join(', ')}`);
  const problems: string[] = [];
  for (const panel of panelsOf(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      for (const { metric, matchers } of selectors(String(target.expr))) {
        const where = `panel "${panel.title}": ${metric}`;
        if (!matchers.includes('job=~"$job"')) problems.push(`${where} without job=~"$job"`);
        if (labelsOf(metric).includes('flow') && !matchers.includes('flow=~"$flow"'))
          problems.push(`${where} without flow=~"$flow"`);
      }
    }
  }
  assert.deepEqual(problems, []);
  const flow = dashboard.templating?.list?.find((v) => v.name === 'flow');
  assert.match(String(flow?.query), /\{job=~"\$job"\}/, 'the flow list follows the job');
});

test('the dashboard has the group offset sync, control, reload and sync panels', () => {
  const used = new Set(
    panelsOf(dashboard.panels).flatMap((panel) =>
      (panel.targets ?? []).flatMap((t) => selectors(String(t.expr)).map((s) => s.metric)),
    ),
  );
  const wanted = [
    'kafka_mirror_group_offset_syncs_total',
    'kafka_mirror_group_offset_synced_timestamp_seconds',
    'kafka_mirror_group_offset_translation_lag_records',
    'kafka_mirror_control_requests_total',
    'kafka_mirror_config_reloads_total',
    'kafka_mirror_config_last_reload_successful',
    'kafka_mirror_topic_config_syncs_total',
    'kafka_mirror_topic_config_sync_refused_topics',
    'kafka_mirror_acl_syncs_total',
  ];
  assert.deepEqual(
    wanted.filter((name) => !used.has(name)),
    [],
  );
  const ids = panelsOf(dashboard.panels).map((panel) => (panel as { id?: number }).id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});
