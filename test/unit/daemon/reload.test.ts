// The order and bookkeeping of a reload (src/daemon/reload.ts) over a fake daemon: flows stopped
// before the switch, started after; a bad file changes nothing; one reload at a time; refusals;
// metrics and the one log line. The real daemon on real brokers: test/integration/reload.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { parseConfig, type Config, type ConfigDiff } from '../../../src/config/index.ts';
import { Reloads, type ReloadHost } from '../../../src/daemon/reload.ts';
import { DrainTimeoutError } from '../../../src/errors/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';

const clusters = { us: { bootstrapServers: ['us:9092'] }, eu: { bootstrapServers: ['eu:9092'] } };
const flowA = { name: 'A', source: 'us', target: 'eu', topics: { include: ['a'] } };
const flowB = { name: 'B', source: 'us', target: 'eu', topics: { include: ['b'] } };
const flowC = { name: 'C', source: 'us', target: 'eu', topics: { include: ['c'] } };
const initial = parseConfig({ clusters, flows: [flowA, flowB] });
const next = parseConfig({
  clusters,
  flows: [flowA, { ...flowB, topics: { include: ['b', 'b2'] } }, flowC],
  log: { level: 'debug' },
});

/** A daemon that records what it is asked, in order. */
class FakeHost implements ReloadHost {
  running: Config = initial;
  steps: string[] = [];
  refuse: string | undefined;
  drainFails = new Set<string>();
  /** Resolved to let a retire finish (all finish at once unless set). */
  hold: Promise<void> | undefined;

  config = () => this.running;
  refusal = () => this.refuse;
  async retire(name: string, _deadline: number, removed: boolean): Promise<void> {
    this.steps.push(`retire ${name}${removed ? ' (removed)' : ''}`);
    await this.hold;
    if (this.drainFails.has(name)) throw new DrainTimeoutError(name, 1);
  }
  async switchTo(config: Config, diff: ConfigDiff): Promise<unknown[]> {
    this.steps.push(`switch (${diff.settings.map((s) => s.key).join()})`);
    this.running = config;
    return [];
  }
  launch(name: string): void {
    this.steps.push(`launch ${name}`);
  }
  async rebuildGroupSync(name: string): Promise<void> {
    this.steps.push(`group sync ${name}`);
  }
}

function setup() {
  const host = new FakeHost();
  const metrics = new Metrics();
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const reloads = new Reloads(host, metrics, createLogger({ level: 'info', destination }));
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };
  return { host, reloads, lines, metric };
}

async function configFile(t: TestContext, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'km-reload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
}

test('changed flows stop before the switch and start after it; unchanged ones are never touched', async () => {
  const { host, reloads, lines, metric } = setup();
  const report = await reloads.apply(next);
  assert.deepEqual(host.steps, ['retire B', 'switch (log.level)', 'launch C', 'launch B']);
  assert.deepEqual(report, {
    result: 'applied',
    added: ['C'],
    removed: [],
    restarted: ['B'],
    unchanged: ['A'],
    needsRestart: [],
    reasons: { B: ['topics.include'] },
    live: ['log.level'],
  });
  assert.equal(await metric('kafka_mirror_config_reloads_total', { result: 'applied' }), 1);
  assert.equal(await metric('kafka_mirror_config_last_reload_successful'), 1);
  const logged = lines.filter((l) => l['msg'] === 'config reloaded');
  assert.equal(logged.length, 1, 'one line per reload');
  assert.deepEqual(logged[0]?.['restarted'], ['B']);
  assert.deepEqual(logged[0]?.['added'], ['C']);
});

test('a removed flow is retired as removed; a flow that did not drain makes the reload failed, the rest applied', async () => {
  const { host, reloads, metric } = setup();
  host.drainFails.add('B');
  const report = await reloads.apply(parseConfig({ clusters, flows: [flowA] }));
  assert.deepEqual(host.steps, ['retire B (removed)', 'switch ()']);
  assert.equal(report.result, 'failed');
  assert.equal(report.problems?.length, 1);
  assert.match(report.problems?.[0] ?? '', /KM_DRAIN_TIMEOUT/);
  assert.deepEqual(report.removed, ['B']);
  assert.equal(host.running.flows.length, 1, 'the new config runs');
  assert.equal(await metric('kafka_mirror_config_reloads_total', { result: 'failed' }), 1);
  assert.equal(await metric('kafka_mirror_config_last_reload_successful'), 0);
});

test('an invalid file changes nothing, names every problem, and counts as invalid', async (t) => {
  const { host, reloads, lines, metric } = setup();
  const file = await configFile(
    t,
    'clusters: { us: { bootstrapServers: ["us:9092"] } }\nflows: [{ source: us, target: nowhere, naming: sideways }]\n',
  );
  const report = await reloads.applyFile(file, {});
  assert.equal(report.result, 'invalid');
  assert.deepEqual(host.steps, [], 'nothing stopped, switched or started');
  assert.deepEqual(report.unchanged, ['A', 'B']);
  assert.ok(report.problems?.some((p) => p.includes('flows[0].target')));
  assert.ok(report.problems?.some((p) => p.includes('flows[0].naming')));
  const line = lines.find((l) => l['msg'] === 'config reload refused: the file is invalid; nothing changed');
  assert.deepEqual(line?.['problems'], report.problems);
  assert.equal(await metric('kafka_mirror_config_reloads_total', { result: 'invalid' }), 1);
  assert.equal(await metric('kafka_mirror_config_last_reload_successful'), 0);

  const missing = await reloads.applyFile(path.join(path.dirname(file), 'gone.yaml'), {});
  assert.equal(missing.result, 'invalid');
  assert.match(missing.problems?.[0] ?? '', /cannot read the file/);
  assert.equal(await metric('kafka_mirror_config_reloads_total', { result: 'invalid' }), 2);

  await writeFile(
    file,
    'clusters: { us: { bootstrapServers: ["us:9092"] } }\nflows: [{ source: us, target: us',
  );
  assert.equal((await reloads.applyFile(file, {})).result, 'invalid', 'not YAML');
  assert.deepEqual(host.steps, []);
});

test('reloads run one at a time: the second waits for the first to finish', async () => {
  const { host, reloads } = setup();
  let release = () => {};
  host.hold = new Promise((resolve) => (release = resolve));
  const first = reloads.apply(next);
  const second = reloads.apply(initial);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(host.steps, ['retire B'], 'the second has not begun');
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.result, 'applied');
  assert.equal(b.result, 'applied');
  // The second diffed against what the first made run: C removed, B changed back.
  assert.deepEqual(b.removed, ['C']);
  assert.deepEqual(b.restarted, ['B']);
  assert.deepEqual(host.steps.slice(4), ['retire C (removed)', 'retire B', 'switch (log.level)', 'launch B']);
});

test('refused while the daemon cannot reload (closing, not started): failed, nothing touched', async () => {
  const { host, reloads, metric } = setup();
  host.refuse = 'the daemon is shutting down: reload refused';
  const report = await reloads.apply(next);
  assert.equal(report.result, 'failed');
  assert.deepEqual(report.problems, ['the daemon is shutting down: reload refused']);
  assert.deepEqual(host.steps, []);
  assert.equal(await metric('kafka_mirror_config_reloads_total', { result: 'failed' }), 1);
});

test('unchanged flows with group offset sync get it rebuilt when flows are added', async () => {
  const { host, reloads } = setup();
  const syncing = { ...flowA, groupOffsetSync: { enabled: true } };
  host.running = parseConfig({ clusters, flows: [syncing, flowB] });
  const report = await reloads.apply(parseConfig({ clusters, flows: [syncing, flowB, flowC] }));
  assert.deepEqual(report.unchanged, ['A', 'B']);
  assert.deepEqual(host.steps, ['switch ()', 'launch C', 'group sync A']);
});

test("a removed flow's metric series all go (latency histogram included), the other flows' stay", async () => {
  const metrics = new Metrics();
  for (const name of ['A', 'B']) {
    const flow = metrics.flow(name);
    flow.writtenAt('data', 't', Float64Array.of(Date.now()), 10);
    flow.error('target', 'KM_X');
    metrics.lagRecords.set({ flow: name, topic: 't', partition: '0' }, 5);
  }
  const text = async () => metrics.registry.metrics();
  assert.match(await text(), /flow="A"/);
  await metrics.removeFlow('A', ['kafka_mirror_lag_records']);
  assert.doesNotMatch(await text(), /kafka_mirror_lag_records\{flow="A"/, 'only the metrics named');
  assert.match(await text(), /kafka_mirror_records_total\{flow="A"/);
  await metrics.removeFlow('A');
  assert.doesNotMatch(await text(), /flow="A"/);
  for (const name of [
    'kafka_mirror_records_total',
    'kafka_mirror_replication_latency_seconds_count',
    'kafka_mirror_errors_total',
    'kafka_mirror_flow_state',
    'kafka_mirror_lag_records',
  ])
    assert.match(await text(), new RegExp(`${name}\\{[^}]*flow="B"`), name);
});
