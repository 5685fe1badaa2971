// What a reload changes (src/config/diff.ts): flows added, removed, changed, unchanged; cluster
// changes restart only the flows that use them; each setting's effect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffConfigs, effectiveConfig, parseConfig, settingEffect } from '../../../src/config/index.ts';

const clusters = {
  us: { bootstrapServers: ['us:9092'] },
  eu: { bootstrapServers: ['eu:9092'] },
  asia: { bootstrapServers: ['asia:9092'] },
};
const flowA = { name: 'A', source: 'us', target: 'eu', topics: { include: ['a\\..*'] } };
const flowB = { name: 'B', source: 'us', target: 'eu', topics: { include: ['b\\..*'] } };
const flowC = { name: 'C', source: 'asia', target: 'eu', topics: { include: ['c\\..*'] } };

function config(doc: Record<string, unknown>) {
  return parseConfig({ clusters, flows: [flowA, flowB], ...doc });
}

test('the same config: every flow unchanged, nothing else', () => {
  const diff = diffConfigs(config({}), config({}));
  assert.deepEqual(diff.flows, { added: [], removed: [], changed: [], unchanged: ['A', 'B'] });
  assert.deepEqual(diff.settings, []);
  assert.deepEqual(diff.needsRestart, []);
  assert.deepEqual(diff.clients, []);
  assert.deepEqual(diff.groupSync, []);
});

test('a topic pattern added to B and a flow C: A unchanged, B changed by its key, C added', () => {
  const next = config({
    flows: [flowA, { ...flowB, topics: { include: ['b\\..*', 'b2\\..*'] } }, flowC],
  });
  const diff = diffConfigs(config({}), next);
  assert.deepEqual(diff.flows, {
    added: ['C'],
    removed: [],
    changed: [{ name: 'B', reasons: ['topics.include'] }],
    unchanged: ['A'],
  });
});

test('a flow left out is removed; renamed is removed and added', () => {
  const diff = diffConfigs(config({}), config({ flows: [{ ...flowA, name: 'A2' }] }));
  assert.deepEqual(diff.flows.removed, ['A', 'B']);
  assert.deepEqual(diff.flows.added, ['A2']);
});

test('every flow key counts: throttle, naming, delivery, transaction settings, group', () => {
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{ maxBytesPerSecond: '1MiB' }, ['maxBytesPerSecond']],
    [{ naming: 'prefix' }, ['naming']],
    [{ delivery: 'exactly-once' }, ['delivery']],
    [{ transaction: { intervalMs: 500 } }, ['transaction.intervalMs']],
    // The positions topic is derived from the group.
    [{ group: 'other' }, ['group', 'transaction.positionsTopic']],
    [{ topics: { include: ['a\\..*'], exclude: ['a\\.x'] } }, ['topics.exclude']],
    [{ groupOffsetSync: { enabled: true } }, ['groupOffsetSync.enabled']],
  ];
  for (const [change, reasons] of cases) {
    const diff = diffConfigs(config({}), config({ flows: [{ ...flowA, ...change }, flowB] }));
    assert.deepEqual(diff.flows.changed, [{ name: 'A', reasons }], JSON.stringify(change));
    assert.deepEqual(diff.flows.unchanged, ['B']);
  }
});

test("a cluster's connection settings restart only the flows that use it, and replace its client", () => {
  const current = parseConfig({ clusters, flows: [flowA, flowC] });
  const next = parseConfig({
    clusters: {
      ...clusters,
      asia: {
        bootstrapServers: ['asia-2:9092'],
        sasl: { mechanism: 'plain', username: 'u', password: 's3cret' },
      },
    },
    flows: [flowA, flowC],
  });
  const diff = diffConfigs(current, next);
  assert.deepEqual(diff.clusters, { added: [], removed: [], changed: ['asia'] });
  assert.deepEqual(diff.clients, ['asia']);
  assert.deepEqual(diff.flows.unchanged, ['A']);
  assert.deepEqual(diff.flows.changed, [
    { name: 'C', reasons: ['clusters.asia.bootstrapServers', 'clusters.asia.sasl'] },
  ]);
  assert.doesNotMatch(JSON.stringify(diff), /s3cret/, 'paths only, never values');
});

test('a rotated password restarts the flows of its cluster, naming the key, not the value', () => {
  const withPassword = (password: string) =>
    parseConfig({
      clusters: {
        ...clusters,
        us: { bootstrapServers: ['us:9092'], sasl: { mechanism: 'plain', username: 'u', password } },
      },
      flows: [flowA, flowC],
    });
  const diff = diffConfigs(withPassword('old-one'), withPassword('new-one'));
  assert.deepEqual(diff.flows.changed, [{ name: 'A', reasons: ['clusters.us.sasl.password'] }]);
  assert.deepEqual(diff.flows.unchanged, ['C']);
  assert.doesNotMatch(JSON.stringify(diff), /old-one|new-one/);
});

test('queue, consumer, producer and heartbeat settings restart every flow', () => {
  for (const [doc, key] of [
    [{ queue: { maxRecords: 10 } }, 'queue.maxRecords'],
    [{ consumer: { maxWaitMs: 100 } }, 'consumer.maxWaitMs'],
    [{ producer: { concurrency: 2 } }, 'producer.concurrency'],
    [{ heartbeats: { intervalMs: 1000 } }, 'heartbeats.intervalMs'],
  ] as const) {
    const diff = diffConfigs(config({}), config(doc));
    assert.deepEqual(diff.settings, [{ key, effect: 'restart-flows' }]);
    assert.deepEqual(
      diff.flows.changed.map((c) => [c.name, c.reasons]),
      [
        ['A', [key]],
        ['B', [key]],
      ],
    );
    assert.deepEqual(diff.needsRestart, []);
  }
  const timeout = diffConfigs(config({}), config({ producer: { requestTimeoutMs: 5000 } }));
  assert.deepEqual(timeout.clients, ['us', 'eu', 'asia'], 'every client carries the request timeout');
});

test('log level, shutdown timeout, lag interval, stall timeout: live, no flow restarts', () => {
  const diff = diffConfigs(
    config({}),
    config({
      log: { level: 'debug' },
      shutdown: { timeoutMs: 1000 },
      metrics: { lagIntervalMs: 1000 },
      admin: { stallTimeoutMs: 1000 },
    }),
  );
  assert.deepEqual(
    diff.settings.map((s) => s.effect),
    ['live', 'live', 'live', 'live'],
  );
  assert.deepEqual(diff.flows.unchanged, ['A', 'B']);
  assert.deepEqual(diff.needsRestart, []);
});

test('admin.host, admin.port and log.pretty need a process restart; the rest is still applied', () => {
  const current = config({});
  const next = config({ admin: { port: 9999, stallTimeoutMs: 1000 }, log: { pretty: true, level: 'warn' } });
  const diff = diffConfigs(current, next);
  assert.deepEqual(diff.needsRestart, ['admin.port', 'log.pretty']);
  const effective = effectiveConfig(current, next, diff);
  assert.equal(effective.admin.port, current.admin.port, 'the running port stays');
  assert.equal(effective.log.pretty, false);
  assert.equal(effective.admin.stallTimeoutMs, 1000, 'applied');
  assert.equal(effective.log.level, 'warn', 'applied');
  assert.ok(Object.isFrozen(effective) && Object.isFrozen(effective.admin));
  assert.equal(effectiveConfig(current, config({}), diffConfigs(current, config({}))).flows.length, 2);
});

test('an unknown setting needs a process restart until decided; sections and paths are looked up', () => {
  assert.equal(settingEffect('queue.maxBytes'), 'restart-flows');
  assert.equal(settingEffect('log.level'), 'live');
  assert.equal(settingEffect('admin.port'), 'restart-process');
  assert.equal(settingEffect('reload.watch'), 'restart-process', 'the watcher is set up at start');
  assert.equal(settingEffect('admin.somethingNew'), 'restart-process');
  assert.equal(settingEffect('brandNew.key'), 'restart-process');
});

test('a cluster added or removed: prefix-named flows restart (a topic starting with an alias keeps its name)', () => {
  const prefixed = { ...flowA, naming: 'prefix' };
  const stacked = { ...flowB, naming: 'prefix', stackPrefixes: true };
  const current = parseConfig({ clusters: { us: clusters.us, eu: clusters.eu }, flows: [prefixed, stacked] });
  const next = parseConfig({ clusters, flows: [prefixed, stacked] });
  const diff = diffConfigs(current, next);
  assert.deepEqual(diff.clusters, { added: ['asia'], removed: [], changed: [] });
  assert.deepEqual(diff.flows.changed, [{ name: 'A', reasons: ['clusters (aliases)'] }]);
  assert.deepEqual(diff.flows.unchanged, ['B'], 'stacked prefixes never depend on other aliases');
  assert.deepEqual(diff.clients, []);
});

test('unchanged flows with group offset sync get it rebuilt when the set of flow groups changes', () => {
  const syncing = { ...flowA, groupOffsetSync: { enabled: true } };
  const current = config({ flows: [syncing, flowB] });
  const diff = diffConfigs(current, config({ flows: [syncing, flowB, flowC] }));
  assert.deepEqual(diff.groupSync, ['A']);
  assert.deepEqual(diff.flows.unchanged, ['A', 'B']);
  assert.deepEqual(diffConfigs(current, current).groupSync, []);
});
