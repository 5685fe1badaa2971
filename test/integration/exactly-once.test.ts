// Exactly-once delivery on real clusters: whatever kills, rebalances and leader moves happen, a
// read_committed consumer of the target sees every source record once, in order per partition;
// and an instance frozen while its partitions move can commit nothing once it wakes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { positionsTopicOf } from '../../src/config/index.ts';
import { audit, moveLeaders, stream } from '../fault/support.ts';
import { flowConfig, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { useClusterPair, type Clusters } from '../support/cluster-pair.ts';
import { createTopic } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { endOffsetTotal, waitForCommitted } from '../support/replication-checks.ts';

interface Setup extends Clusters {
  topic: string;
  flow: string;
  group: string;
  config: object;
}

async function setup(t: TestContext, transaction: object, consumer: object): Promise<Setup> {
  const clusters = await useClusterPair(t, {
    target: { nodes: 3, brokerConfig: { 'min.insync.replicas': 2 } },
  });
  const topic = `eos-${randomUUID().slice(0, 6)}`;
  const flow = `eos-${randomUUID().slice(0, 6)}`;
  await createTopic(clusters.src, topic, { partitions: 6 });
  const config = flowConfig(
    clusters.source,
    clusters.target,
    {
      name: flow,
      topics: { include: [topic] },
      delivery: 'exactly-once',
      transaction,
      commitIntervalMs: 1000,
    },
    {
      queue: { maxRecords: 5000 },
      consumer,
      producer: { requestTimeoutMs: 10_000 },
      shutdown: { timeoutMs: 20_000 },
    },
  );
  return { ...clusters, topic, flow, group: `kafka-mirror.${flow}`, config };
}

const joined = (daemon: DaemonProcess, timeoutMs = 60_000) =>
  daemon.waitForLog((l) => l['msg'] === 'joined source group', timeoutMs);

/** verify's audit (read_committed): exactly once and in order, every source record checked. */
async function exactlyOnce(t: TestContext, s: Setup): Promise<void> {
  const produced = await endOffsetTotal(s.src, s.topic);
  const report = await audit(s.config, s.flow);
  t.diagnostic(`produced ${produced}: ${JSON.stringify(report.totals)}`);
  assert.equal(report.totals.checked, produced, 'every source record was audited');
  assert.equal(report.totals.missing, 0, 'nothing lost');
  assert.equal(report.totals.duplicated, 0, 'nothing duplicated');
  assert.equal(report.totals.reordered, 0, 'nothing reordered');
  assert.equal(report.totals.altered, 0, 'nothing altered');
}

test(
  'exactly-once: 200,000 records through five SIGKILLs, a second instance joining and leaving, and target leader moves',
  { timeout: 900_000 },
  async (t) => {
    const s = await setup(t, { intervalMs: 500 }, { sessionTimeoutMs: 6000 });
    const { src } = s;
    let a = await startDaemon(t, s.config);
    await joined(a);
    const writing = stream(src, s.topic, 200_000, 4000);
    let b: DaemonProcess | undefined;
    let restored = 0;
    const count = (daemon: DaemonProcess) =>
      daemon.logs.filter((l) => l['msg'] === 'partition restored from the target' && l['position'] !== null)
        .length;
    for (let round = 0; round < 5; round++) {
      await sleep(4000);
      if (round === 1) b = await startDaemon(t, s.config);
      if (round === 2) assert.ok((await moveLeaders(s.target, s.topic)) > 0, 'data partition leaders moved');
      if (round === 3)
        assert.ok((await moveLeaders(s.target, positionsTopicOf(s.group))) > 0, 'positions leaders moved');
      if (round === 4 && b !== undefined) {
        restored += count(b);
        assert.equal(await b.stop('SIGTERM'), 0);
        b = undefined;
      }
      restored += count(a);
      await a.stop('SIGKILL');
      a = await startDaemon(t, s.config);
      await joined(a);
    }
    assert.equal(await writing, 200_000);
    assert.ok(await waitForCommitted(src, s.group, s.topic, 300_000), 'the flow committed everything');
    restored += count(a);
    assert.equal(await a.stop('SIGTERM'), 0);
    t.diagnostic(`partitions restored from a committed position: ${restored}`);
    assert.ok(restored > 0, 'restarts resumed from positions committed on the target');
    await exactlyOnce(t, s);
  },
);

test(
  'exactly-once: an instance frozen (SIGSTOP) while its partitions move commits nothing after it wakes',
  { timeout: 600_000 },
  async (t) => {
    // Long transactions, so the frozen instance holds open ones with records in them (no commit
    // when a lane goes idle between fetches either).
    const s = await setup(
      t,
      { intervalMs: 5000, idleCommitMs: 5000, maxRecords: 1_000_000 },
      { sessionTimeoutMs: 6000 },
    );
    const { src } = s;
    const a = await startDaemon(t, s.config);
    await joined(a);
    const writing = stream(src, s.topic, 60_000, 2000);
    await sleep(3000);
    const b = await startDaemon(t, s.config);
    await b.waitForLog((l) => l['msg'] === 'partition restored from the target');
    await sleep(2000);
    // A now owns some partitions with a transaction open in each.
    a.child.kill('SIGSTOP');
    // B takes every partition over once A's session expires, fencing A's transactional ids.
    await b.waitForLog((l) => l['msg'] === 'joined source group' && Number(l['assigned']) === 7, 60_000);
    await sleep(8000);
    a.child.kill('SIGCONT');
    // A wakes with open transactions; every one must fail (fenced), none commit.
    const base = await a.adminUrl();
    const failed = async () => {
      const samples = await scrape(base);
      return (
        total(samples, 'kafka_mirror_transactions_total', { result: 'fenced' }) +
        total(samples, 'kafka_mirror_transactions_total', { result: 'aborted' })
      );
    };
    for (let i = 0; i < 100 && (await failed()) === 0; i++) await sleep(200);
    assert.ok((await failed()) > 0, "the frozen instance's open transactions failed");
    assert.equal(await writing, 60_000);
    assert.ok(await waitForCommitted(src, s.group, s.topic, 300_000), 'the flow committed everything');
    assert.equal(await a.stop('SIGTERM'), 0);
    assert.equal(await b.stop('SIGTERM'), 0);
    await exactlyOnce(t, s);
  },
);
