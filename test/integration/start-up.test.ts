// A start says what it needs to and nothing else (issue 20). Against unreachable clusters: one line
// per cluster and retry with the cause and the next retry, no stack traces, and /readyz and /status
// carry the same cause. Against real brokers: no TimeoutNegativeWarning from the client's request
// queue, no partitioner notice, no client lifecycle chatter. In process, a daemon with a running
// flow is destroyed at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../../src/config/index.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { freePort } from '../support/kafka/ports.ts';
import { createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import { waitForRecords } from '../support/replication-checks.ts';

/** Log lines at info or above that print a stack trace, anywhere in the line. */
function stackTraces(daemon: DaemonProcess): string[] {
  return daemon.logs
    .filter((l) => Number(l['level']) >= 30 && /\n\s+at /.test(JSON.stringify(l).replace(/\\n/g, '\n')))
    .map((l) => JSON.stringify(l).slice(0, 300));
}

async function get(base: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(new URL(path, base));
  return { status: response.status, body: await response.text() };
}

test(
  'against unreachable clusters: a handful of lines, each naming the cluster, the cause and the next retry; /readyz and /status say the same',
  { timeout: 90_000 },
  async (t) => {
    const [us, asia] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`]; // nothing listens
    const daemon = await startDaemon(
      t,
      {
        clusters: { us: { bootstrapServers: [us] }, asia: { bootstrapServers: [asia] } },
        flows: [{ source: 'us', target: 'asia' }],
        shutdown: { timeoutMs: 5000 },
      },
      { warnings: true },
    );
    const base = await daemon.adminUrl();
    // A bounded window of observation, not a timing assertion: what 20 s of start-up prints.
    await sleep(20_000);

    const readyz = await get(base, '/readyz');
    assert.equal(readyz.status, 503);
    const reasons = (JSON.parse(readyz.body) as { flows: Record<string, string[]> }).flows['us->asia'] ?? [];
    assert.match(
      reasons.join('\n'),
      /^starting: cluster us unreachable: connection refused \(ECONNREFUSED at 127\.0\.0\.1:\d+\); next retry at \d{4}-\d\d-\d\dT[\d:.]+Z; cluster asia unreachable: connection refused/,
    );
    const status = JSON.parse((await get(base, '/status')).body) as {
      clusters: Record<string, { reachable: boolean; cause: string; kind: string; nextRetryAt: string }>;
      flows: Array<{ name: string; state: string; startError: string; notReady: string[] }>;
    };
    assert.equal(status.flows[0]?.state, 'starting');
    assert.equal(`starting: ${status.flows[0]?.startError}`, reasons[0], '/status says what /readyz says');
    for (const [alias, address] of [
      ['us', us],
      ['asia', asia],
    ] as const) {
      const cluster = status.clusters[alias];
      assert.equal(cluster?.reachable, false);
      assert.equal(cluster?.kind, 'connection refused');
      assert.equal(cluster?.cause, `connection refused (ECONNREFUSED at ${address})`);
      assert.ok(Number.isFinite(Date.parse(cluster?.nextRetryAt ?? '')));
    }

    assert.equal(await daemon.stop('SIGTERM'), 0);
    const retries = daemon.logs.filter((l) => l['msg'] === 'cluster unreachable; retrying');
    for (const alias of ['us', 'asia']) {
      const lines = retries.filter((l) => l['cluster'] === alias);
      // Backoff from about 1 s, doubling: 20 s hold at most 6 failed probes per cluster.
      assert.ok(lines.length >= 2 && lines.length <= 8, `${lines.length} retry lines for ${alias}`);
      for (const line of lines) {
        assert.equal(line['level'], 40);
        assert.match(String(line['cause']), /^connection refused \(ECONNREFUSED at 127\.0\.0\.1:\d+\)$/);
        assert.ok(Number.isFinite(Date.parse(String(line['nextRetryAt']))), 'the next retry time');
      }
    }
    assert.ok(daemon.logs.length <= 25, `${daemon.logs.length} lines:\n${daemon.output()}`);
    assert.deepEqual(stackTraces(daemon), [], 'no stack trace at info or warn');
    assert.equal(daemon.logs.filter((l) => l['component'] === 'kafkajs').length, 0, 'no client chatter');
    assert.doesNotMatch(daemon.output(), /TimeoutNegativeWarning|Warning:/);
  },
);

test(
  'against real brokers: no negative-timeout warning, no partitioner notice, no client chatter',
  { timeout: 180_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    await createTopic(src, 'orders', { partitions: 2 });
    await produceAll(src, 'orders', numbered('o', 0, 500));
    const daemon = await startDaemon(
      t,
      {
        clusters: {
          src: { bootstrapServers: [...source.bootstrapServers] },
          dst: { bootstrapServers: [...target.bootstrapServers] },
        },
        flows: [{ source: 'src', target: 'dst', topics: { include: ['orders'] } }],
        shutdown: { timeoutMs: 5000 },
      },
      { warnings: true },
    );
    assert.ok(await waitForRecords(dst, 'orders', 500, 90_000), 'replicated');
    assert.equal(await daemon.stop('SIGTERM'), 0);
    const output = daemon.output();
    assert.doesNotMatch(output, /TimeoutNegativeWarning/);
    assert.doesNotMatch(output, /\(node:\d+\) \w*Warning/, 'no process warning at all');
    assert.doesNotMatch(output, /partitioner/i);
    assert.deepEqual(
      daemon.logs
        .filter((l) => l['component'] === 'kafkajs' && Number(l['level']) <= 30)
        .map((l) => l['msg']),
      [],
      "kafkajs's info lines are debug",
    );
    assert.deepEqual(
      daemon.logs
        .filter((l) => l['msg'] === 'cluster reachable')
        .map((l) => l['cluster'])
        .sort(),
      ['dst', 'src'],
    );
  },
);

test(
  'in process, with a running flow: destroy() stops it at once, is idempotent, and close() after it resolves',
  { timeout: 180_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    await createTopic(src, 'orders', { partitions: 2 });
    await produceAll(src, 'orders', numbered('o', 0, 200));
    const config = parseConfig({
      clusters: {
        src: { bootstrapServers: [...source.bootstrapServers] },
        dst: { bootstrapServers: [...target.bootstrapServers] },
      },
      // Heartbeats (on by default) and group offset sync: every client a flow can own.
      flows: [
        { source: 'src', target: 'dst', topics: { include: ['orders'] }, groupOffsetSync: { enabled: true } },
      ],
      admin: { host: '127.0.0.1', port: 0 },
    });
    const daemon = new Daemon(config, createLogger({ level: 'error', destination: process.stderr }), {
      metrics: new Metrics(),
    });
    t.after(() => daemon.destroy());
    const { adminPort } = await daemon.start();
    assert.ok(await waitForRecords(dst, 'orders', 200, 90_000), 'replicated');
    const [flow] = daemon.flows;
    assert.equal(flow?.exportedState, 'running');

    const first = daemon.destroy();
    assert.equal(daemon.destroy(), first, 'a second destroy() returns the same promise');
    await first;
    await daemon.close();
    assert.equal(flow.exportedState, 'stopped');
    assert.equal(daemon.readiness().ready, false);
    await assert.rejects(fetch(`http://127.0.0.1:${adminPort}/healthz`), 'the admin server is closed');
  },
);
