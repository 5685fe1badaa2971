// Daemon.reload without a broker (src/daemon/daemon.ts, reload.ts): clusters nobody listens on, so
// flows wait for them. A reload stops the start retries of a removed or changed flow at once, the
// clusters of the new config are the ones probed, /status follows, metric series of a removed flow
// go, and a reload is refused before start and while closing. On real brokers:
// test/integration/reload.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { Daemon } from '../../../src/daemon/daemon.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { freePorts } from '../../support/kafka/ports.ts';

interface Line {
  msg: string;
  level: number;
  cluster?: string;
  [key: string]: unknown;
}

test('a reload while flows wait for unreachable clusters: removed and changed flows stop waiting, new clusters are probed', async (t) => {
  const [us, eu, asia, asia2] = (await freePorts(4)) as [number, number, number, number]; // nothing listens
  const clusters = {
    us: { bootstrapServers: [`127.0.0.1:${us}`] },
    eu: { bootstrapServers: [`127.0.0.1:${eu}`] },
  };
  const admin = { host: '127.0.0.1', port: 0 };
  const config = parseConfig({
    clusters,
    flows: [
      { name: 'A', source: 'us', target: 'eu', topics: { include: ['a'] } },
      { name: 'B', source: 'us', target: 'eu', topics: { include: ['b'] } },
    ],
    admin,
  });
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const metrics = new Metrics();
  const daemon = new Daemon(config, logger, { metrics });
  t.after(() => daemon.destroy());

  const early = await daemon.reload(config);
  assert.deepEqual(early.result, 'failed', 'refused before start()');
  assert.deepEqual(early.problems, ['the daemon has not started yet: reload refused']);

  const { adminPort } = await daemon.start();
  const base = `http://127.0.0.1:${adminPort}`;
  const withAsia = (port: number) =>
    parseConfig({
      clusters: { ...clusters, asia: { bootstrapServers: [`127.0.0.1:${port}`] } },
      flows: [
        { name: 'B', source: 'us', target: 'eu', topics: { include: ['b', 'b2'] } },
        { name: 'C', source: 'asia', target: 'eu', topics: { include: ['c'] } },
      ],
      admin,
      log: { level: 'debug' },
    });
  const next = withAsia(asia);
  const report = await daemon.reload(next);
  assert.deepEqual(report, {
    result: 'applied',
    added: ['C'],
    removed: ['A'],
    restarted: ['B'],
    unchanged: [],
    needsRestart: [],
    reasons: { B: ['topics.include'] },
    live: ['log.level'],
  });
  assert.equal(logger.level, 'debug', 'log.level applied live');
  const status = (await (await fetch(`${base}/status`)).json()) as {
    clusters: Record<string, unknown>;
    flows: Array<{ name: string; state: string }>;
  };
  assert.deepEqual(Object.keys(status.clusters), ['us', 'eu', 'asia']);
  assert.deepEqual(
    status.flows.map((f) => [f.name, f.state]),
    [
      ['B', 'starting'],
      ['C', 'starting'],
    ],
  );
  assert.ok(
    lines.some((l) => l.msg === 'cluster unreachable; retrying' && l.cluster === 'asia'),
    'the new cluster is probed',
  );
  const exposition = await (await fetch(`${base}/metrics`)).text();
  assert.doesNotMatch(exposition, /flow="A"/, "the removed flow's series are gone");
  assert.match(exposition, /kafka_mirror_flow_state\{flow="C",state="starting"\} 1/);
  assert.match(exposition, /kafka_mirror_config_reloads_total\{result="failed"\} 1/);
  assert.match(exposition, /kafka_mirror_config_reloads_total\{result="applied"\} 1/);

  // A cluster's address changes: only the flows that use it restart; its old address is no
  // longer probed.
  const moved = withAsia(asia2);
  const second = await daemon.reload(moved);
  assert.deepEqual(second.restarted, ['C']);
  assert.deepEqual(second.unchanged, ['B']);
  assert.deepEqual((second.reasons ?? {})['C'], ['clusters.asia.bootstrapServers']);
  const from = lines.length;
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const probed = lines
    .slice(from)
    .filter((l) => l.msg === 'cluster unreachable; retrying' && l.cluster === 'asia');
  assert.ok(probed.length > 0, 'asia is probed at its new address');
  for (const line of probed) assert.deepEqual(line['bootstrapServers'], [`127.0.0.1:${asia2}`]);

  const closing = daemon.close();
  const late = await daemon.reload(moved);
  assert.equal(late.result, 'failed');
  assert.deepEqual(late.problems, ['the daemon is shutting down: reload refused']);
  await closing;
});
