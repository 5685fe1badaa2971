// Observability on real clusters: the lag metric follows the true backlog while the target is
// blackholed (and keeps growing), counters and the latency histogram agree with what was written,
// heartbeats keep latency fresh without user traffic, and /readyz follows outages and draining.
// That no output carries a secret from the config is secret-scan.test.ts.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import { get, scrape, total, type Sample } from '../support/prometheus.ts';
import { endOffsetTotal } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const LAG_INTERVAL_MS = 1000;

/** Scrapes after two lag refreshes that completed after now: the second one started after now. */
async function afterTwoRefreshes(base: string, flow: string): Promise<Sample[]> {
  const since = Date.now() / 1000;
  let seen = new Set<number>();
  return eventually('two lag refreshes', async () => {
    const samples = await scrape(base);
    const refreshed = total(samples, 'kafka_mirror_lag_refreshed_timestamp_seconds', { flow });
    if (refreshed > since) seen = new Set([...seen, refreshed]);
    return seen.size >= 2 ? samples : undefined;
  });
}

test('lag, counters, latency and readiness through a target blackhole', { timeout: 400_000 }, async (t) => {
  const { source, target, src, dst } = await useClusterPair(t, { target: { toxiproxy: true } });
  const topic = `obs-${randomUUID().slice(0, 6)}`;
  const flow = `obs-${randomUUID().slice(0, 6)}`;
  await createTopic(src, topic, { partitions: 3 });
  await produceAll(src, topic, numbered('a', 0, 3000));
  const daemon = await startDaemon(
    t,
    flowConfig(
      source,
      target,
      { name: flow, topics: { include: [topic] } },
      {
        metrics: { lagIntervalMs: LAG_INTERVAL_MS },
        heartbeats: { intervalMs: 1000 },
        admin: { stallTimeoutMs: 3000 },
        producer: { requestTimeoutMs: 5000 },
        shutdown: { timeoutMs: 20_000 },
      },
    ),
  );
  const base = await daemon.adminUrl();
  const mine = { flow, topic };
  const lagOf = (samples: Sample[]) => total(samples, 'kafka_mirror_lag_records', mine);

  await eventually('3,000 records replicated, committed and ready', async () => {
    const samples = await scrape(base);
    const ready = (await get(base, '/readyz')).status === 200;
    return total(samples, 'kafka_mirror_records_total', mine) === 3000 && lagOf(samples) === 0 && ready
      ? true
      : undefined;
  });

  // Blackhole: the proxy accepts connections and drops every byte both ways.
  const toxics = [
    await target.network?.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }),
    await target.network?.addToxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }),
  ];
  await produceAll(src, topic, numbered('b', 3000, 2000));
  let samples = await afterTwoRefreshes(base, flow);
  assert.equal(lagOf(samples), 2000, 'lag equals the backlog written during the outage');
  await produceAll(src, topic, numbered('c', 5000, 1500));
  samples = await afterTwoRefreshes(base, flow);
  assert.equal(lagOf(samples), 3500, 'lag keeps growing while the target is down, it is not frozen');
  assert.equal(
    total(samples, 'kafka_mirror_records_total', mine),
    3000,
    'nothing counted as written during the outage',
  );

  const notReady = await eventually('/readyz 503 during the outage', async () => {
    const answer = await get(base, '/readyz');
    return answer.status === 503 ? answer.body : undefined;
  });
  assert.match(notReady, /target has not acknowledged a write/);
  assert.equal(total(await scrape(base), 'kafka_mirror_flow_ready', { flow }), 0);

  for (const toxic of toxics) if (toxic !== undefined) await target.network?.removeToxic(toxic);
  samples = await eventually(
    'lag back to 0 with every record counted',
    async () => {
      const now = await scrape(base);
      return lagOf(now) === 0 && total(now, 'kafka_mirror_records_total', mine) === 6500 ? now : undefined;
    },
    180_000,
  );
  assert.equal(
    total(samples, 'kafka_mirror_replication_latency_seconds_count', { flow, kind: 'data' }),
    6500,
    'one latency observation per record written',
  );
  assert.ok(total(samples, 'kafka_mirror_retries_total', { flow }) > 0, 'the outage caused retries');
  assert.ok(
    total(samples, 'kafka_mirror_errors_total', { flow, side: 'target' }) > 0,
    'the outage counted target errors',
  );
  assert.ok((await endOffsetTotal(dst, topic)) >= 6500, 'the target holds every record');
  await eventually('/readyz 200 after the outage', async () =>
    (await get(base, '/readyz')).status === 200 ? true : undefined,
  );

  // No user traffic: heartbeats keep the latency histogram moving, data observations do not change.
  const before = await scrape(base);
  await sleep(4000);
  const after = await scrape(base);
  const heartbeat = { flow, kind: 'heartbeat' };
  assert.ok(
    total(after, 'kafka_mirror_replication_latency_seconds_count', heartbeat) >=
      total(before, 'kafka_mirror_replication_latency_seconds_count', heartbeat) + 2,
    'heartbeats were replicated and observed while idle',
  );
  assert.equal(total(after, 'kafka_mirror_replication_latency_seconds_count', { flow, kind: 'data' }), 6500);
  assert.equal(total(after, 'kafka_mirror_records_total', mine), 6500, 'heartbeats are not user records');
  assert.equal(total(after, 'kafka_mirror_lag_seconds', { flow }) < 60, true, 'nothing old is pending');

  const status = JSON.parse((await get(base, '/status')).body) as {
    flows: Array<{ name: string; partitions: Array<{ topic: string; lag: number; committed: number }> }>;
  };
  const partitions = status.flows.find((f) => f.name === flow)?.partitions.filter((p) => p.topic === topic);
  assert.equal(partitions?.length, 3, '/status lists the three partitions');
  assert.equal(
    partitions?.reduce((n, p) => n + p.committed, 0),
    6500,
    '/status shows the committed offsets',
  );

  // Draining: with the target throttled and a backlog queued, SIGTERM makes /readyz 503 at once.
  await target.network?.addToxic({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 100 } });
  await produceAll(
    src,
    topic,
    Array.from({ length: 4000 }, (_, i) => ({ key: String(i), value: randomBytes(1000) })),
  );
  await eventually('records queued behind the throttled target', async () =>
    total(await scrape(base), 'kafka_mirror_queue_records', { flow }) > 0 ? true : undefined,
  );
  daemon.child.kill('SIGTERM');
  const draining = await eventually(
    '/readyz 503 while draining',
    async () => {
      const answer = await get(base, '/readyz');
      return answer.status === 503 ? answer.body : undefined;
    },
    10_000,
  );
  assert.match(draining, /draining/);
  await daemon.stop();
});
