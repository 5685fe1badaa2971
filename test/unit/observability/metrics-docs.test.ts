import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Metrics } from '../../../src/observability/metrics.ts';

interface Described {
  readonly type: string;
  readonly labels: readonly string[];
}

const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');

/** The metrics table of docs/metrics.md: `| \`name\` | type | \`label\`, ... | meaning |`. */
function documented(markdown: string): Map<string, Described> {
  const rows = new Map<string, Described>();
  for (const [, name = '', type = '', labels = ''] of markdown.matchAll(
    /^\| `([a-z_:]+)` \| ([a-z]+) \| ([^|]*) \|/gm,
  )) {
    assert.ok(!rows.has(name), `${name} has two rows`);
    rows.set(name, { type, labels: [...labels.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '').sort() });
  }
  return rows;
}

/** What a registry defines: name -> type and label names (prom-client keeps `labelNames` on the metric). */
function registered(registry: Registry): Map<string, Described> {
  return new Map(
    registry.getMetricsAsArray().map((metric) => {
      const { labelNames = [] } = metric as unknown as { labelNames?: readonly string[] };
      return [metric.name, { type: String(metric.type), labels: [...labelNames].sort() }] as const;
    }),
  );
}

/** Every difference between the table and a registry, in both directions; empty when they agree. */
function drift(table: Map<string, Described>, code: Map<string, Described>): string[] {
  const problems: string[] = [];
  for (const [name, metric] of code) {
    const row = table.get(name);
    if (row === undefined) problems.push(`${name}: registered but not documented`);
    else {
      if (row.type !== metric.type) problems.push(`${name}: documented as ${row.type}, is a ${metric.type}`);
      if (row.labels.join() !== metric.labels.join())
        problems.push(`${name}: documented labels [${row.labels.join()}], has [${metric.labels.join()}]`);
    }
  }
  for (const name of table.keys())
    if (!code.has(name)) problems.push(`${name}: documented but not registered`);
  return problems;
}

test('docs/metrics.md documents every kafka_mirror_* metric with its type and labels, and nothing else', () => {
  const table = documented(doc);
  const code = registered(new Metrics().registry);
  assert.ok(code.size >= 20, `the registry defines the daemon's metrics (${code.size})`);
  assert.ok(
    [...code.keys()].every((name) => name.startsWith('kafka_mirror_')),
    'without defaultMetrics the registry holds only our metrics',
  );
  assert.deepEqual(drift(table, code), []);
  assert.deepEqual([...table.keys()].sort(), [...code.keys()].sort());
});

test('the drift check catches a wrong type, wrong labels, a missing row and an extra row', () => {
  const code = registered(new Metrics().registry);
  const table = documented(doc);
  table.set('kafka_mirror_records_total', { type: 'gauge', labels: ['flow', 'topic'] });
  table.set('kafka_mirror_lag_records', { type: 'gauge', labels: ['flow', 'topic'] });
  table.delete('kafka_mirror_info');
  table.set('kafka_mirror_nope_total', { type: 'counter', labels: ['flow'] });
  assert.deepEqual(drift(table, code).sort(), [
    'kafka_mirror_info: registered but not documented',
    'kafka_mirror_lag_records: documented labels [flow,topic], has [flow,partition,topic]',
    'kafka_mirror_nope_total: documented but not registered',
    'kafka_mirror_records_total: documented as gauge, is a counter',
  ]);
});

test('the table parser reads names, types and labels of a row', () => {
  const table = documented(
    [
      '| name | type | labels | meaning |',
      '| --- | --- | --- | --- |',
      '| `kafka_mirror_x_total` | counter | `flow`, `topic`, `reason` | What `x` means, with `code`. |',
      '| `kafka_mirror_y` | gauge | `flow` | y |',
    ].join('\n'),
  );
  assert.deepEqual(
    [...table],
    [
      ['kafka_mirror_x_total', { type: 'counter', labels: ['flow', 'reason', 'topic'] }],
      ['kafka_mirror_y', { type: 'gauge', labels: ['flow'] }],
    ],
  );
});

test('with defaultMetrics the other metrics are exactly prom-client defaults: all of ours carry the prefix', () => {
  const reference = new Registry();
  collectDefaultMetrics({ register: reference });
  const defaults = registered(reference);
  const code = registered(new Metrics({ defaultMetrics: true }).registry);
  const others = new Map([...code].filter(([name]) => !name.startsWith('kafka_mirror_')));
  assert.ok(defaults.size > 0);
  assert.deepEqual([...others.keys()].sort(), [...defaults.keys()].sort());
  assert.deepEqual(others, defaults, 'types and labels as prom-client defines them');
  assert.deepEqual(
    [...code.keys()].filter((name) => name.startsWith('kafka_mirror_')).sort(),
    [...registered(new Metrics().registry).keys()].sort(),
    'defaultMetrics adds no metric of ours',
  );
});

test('docs/metrics.md has a "Process metrics" section that names only default metrics, and covers them all', () => {
  const section = /^## Process metrics\n([\s\S]*?)(?=^## )/m.exec(doc)?.[1];
  assert.ok(section !== undefined, 'a "## Process metrics" section');
  const named = [...section.matchAll(/`((?:process|nodejs)_[a-z0-9_]*\*?)`/g)].map((m) => m[1] ?? '');
  assert.ok(named.length > 0, 'the section names the process metrics');
  const reference = new Registry();
  collectDefaultMetrics({ register: reference });
  const defaults = reference.getMetricsAsArray().map((m) => m.name);
  const matches = (pattern: string, name: string) =>
    pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
  assert.deepEqual(
    named.filter((pattern) => !defaults.some((name) => matches(pattern, name))),
    [],
    'every name in the section is a prom-client default metric',
  );
  assert.deepEqual(
    defaults.filter((name) => !named.some((pattern) => matches(pattern, name))),
    [],
    'every prom-client default metric is named in the section',
  );
});
