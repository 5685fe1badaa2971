import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { Metrics } from '../../../src/observability/metrics.ts';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}

interface Panel {
  title?: string;
  type?: string;
  targets?: Array<{ expr?: unknown }>;
  panels?: Panel[];
}

const alerts = parseYaml(read('deploy/prometheus/alerts.yaml')) as { groups: Array<{ rules: AlertRule[] }> };
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
  const labelsOf = (name: string) =>
    (registry.getSingleMetric(name.replace(HISTOGRAM_SERIES, '')) as unknown as { labelNames: string[] })
      .labelNames;
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
