// Topologies on real clusters: active-active and a ring with identity names never loop (the loop
// guard reads provenance), prefix naming never sends a remote topic home, and two aliases for one
// cluster are refused (DESIGN.md invariant 5).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configFile, runCli, startDaemon } from '../support/daemon.ts';
import { useCluster, type KafkaCluster } from '../support/kafka/index.ts';
import { client, createTopic, header, numbered, produceAll, readTopic } from '../support/kafka-client.ts';
import { endOffsetTotal, waitForRecords } from '../support/replication-checks.ts';

/** Topics of users: not Kafka's own (`__*`) nor kafka-mirror's (`kafka-mirror.heartbeats`). */
const userTopic = (name: string) => !name.startsWith('__') && !name.startsWith('kafka-mirror.');

const cluster = (c: KafkaCluster) => ({ bootstrapServers: [...c.bootstrapServers] });
const flow = (source: string, target: string, extra: object = {}) => ({
  source,
  target,
  topics: { include: ['orders', '.*\\.orders'] },
  commitIntervalMs: 1000,
  refreshIntervalMs: 2000,
  ...extra,
});

/** Every record of the topic, as "key=value", must be distinct, and there must be `count` of them. */
async function assertExactlyOnce(c: KafkaCluster, topic: string, count: number): Promise<void> {
  const records = await readTopic(client(c.bootstrapServers), topic);
  const distinct = new Set(records.map((r) => `${r.key}=${r.value}`));
  assert.equal(records.length, count, `${c.name}/${topic}: ${records.length} records, expected ${count}`);
  assert.equal(distinct.size, count, `${c.name}/${topic}: ${count - distinct.size} records twice`);
}

test(
  "active-active with identity names: each cluster ends with exactly both sides' records, and no echo follows",
  { timeout: 300_000 },
  async (t) => {
    const [a, b] = await Promise.all([useCluster(t, { name: 'a' }), useCluster(t, { name: 'b' })]);
    await Promise.all([
      createTopic(client(a.bootstrapServers), 'orders', { partitions: 3 }),
      createTopic(client(b.bootstrapServers), 'orders', { partitions: 3 }),
    ]);
    const daemon = await startDaemon(t, {
      clusters: { a: cluster(a), b: cluster(b) },
      flows: [flow('a', 'b'), flow('b', 'a')],
    });
    await daemon.waitForLog((l) => l['msg'] === 'flow running' && l['flow'] === 'b->a');
    await Promise.all([
      produceAll(client(a.bootstrapServers), 'orders', numbered('from-a', 0, 20_000)),
      produceAll(client(b.bootstrapServers), 'orders', numbered('from-b', 0, 20_000)),
    ]);
    assert.ok(
      await waitForRecords(client(a.bootstrapServers), 'orders', 40_000, 120_000),
      'a did not converge',
    );
    assert.ok(
      await waitForRecords(client(b.bootstrapServers), 'orders', 40_000, 120_000),
      'b did not converge',
    );
    await sleep(30_000); // an echo would show up here
    assert.equal(await endOffsetTotal(client(a.bootstrapServers), 'orders'), 40_000);
    assert.equal(await endOffsetTotal(client(b.bootstrapServers), 'orders'), 40_000);
    await assertExactlyOnce(a, 'orders', 40_000);
    await assertExactlyOnce(b, 'orders', 40_000);
    // Each flow read the other side's 20,000 copies back and skipped them as loops.
    for (const name of ['a->b', 'b->a']) {
      const last = daemon.logs.filter((l) => l['msg'] === 'progress' && l['flow'] === name).at(-1);
      assert.ok(
        Number(last?.['skippedLoop']) >= 20_000,
        `${name} skipped ${String(last?.['skippedLoop'])} as loops`,
      );
    }
    assert.equal(await daemon.stop('SIGTERM'), 0);
  },
);

test(
  'active-active with prefix names: a holds orders and b.orders, b holds orders and a.orders, nothing more',
  { timeout: 300_000 },
  async (t) => {
    const [a, b] = await Promise.all([useCluster(t, { name: 'a' }), useCluster(t, { name: 'b' })]);
    await Promise.all([
      createTopic(client(a.bootstrapServers), 'orders', { partitions: 2 }),
      createTopic(client(b.bootstrapServers), 'orders', { partitions: 2 }),
    ]);
    const daemon = await startDaemon(t, {
      clusters: { a: cluster(a), b: cluster(b) },
      flows: [flow('a', 'b', { naming: 'prefix' }), flow('b', 'a', { naming: 'prefix' })],
    });
    await Promise.all([
      produceAll(client(a.bootstrapServers), 'orders', numbered('from-a', 0, 5000)),
      produceAll(client(b.bootstrapServers), 'orders', numbered('from-b', 0, 3000)),
    ]);
    assert.ok(await waitForRecords(client(b.bootstrapServers), 'a.orders', 5000, 120_000), 'a.orders on b');
    assert.ok(await waitForRecords(client(a.bootstrapServers), 'b.orders', 3000, 120_000), 'b.orders on a');
    await sleep(6000); // three refresh intervals: a remote topic sent home would appear by now
    const aAdmin = client(a.bootstrapServers).admin();
    const bAdmin = client(b.bootstrapServers).admin();
    await Promise.all([aAdmin.connect(), bAdmin.connect()]);
    assert.deepEqual((await aAdmin.listTopics()).filter(userTopic).sort(), ['b.orders', 'orders']);
    assert.deepEqual((await bAdmin.listTopics()).filter(userTopic).sort(), ['a.orders', 'orders']);
    await Promise.all([aAdmin.disconnect(), bAdmin.disconnect()]);
    await assertExactlyOnce(a, 'orders', 5000);
    await assertExactlyOnce(a, 'b.orders', 3000);
    await assertExactlyOnce(b, 'orders', 3000);
    await assertExactlyOnce(b, 'a.orders', 5000);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  },
);

test(
  'a ring a -> b -> c -> a with identity names: every record exists exactly once in each cluster',
  { timeout: 300_000 },
  async (t) => {
    const [a, b, c] = await Promise.all([
      useCluster(t, { name: 'a' }),
      useCluster(t, { name: 'b' }),
      useCluster(t, { name: 'c' }),
    ]);
    await Promise.all(
      [a, b, c].map((x) => createTopic(client(x.bootstrapServers), 'orders', { partitions: 2 })),
    );
    const daemon = await startDaemon(t, {
      clusters: { a: cluster(a), b: cluster(b), c: cluster(c) },
      flows: [flow('a', 'b'), flow('b', 'c'), flow('c', 'a')],
    });
    await Promise.all([
      produceAll(client(a.bootstrapServers), 'orders', numbered('from-a', 0, 4000)),
      produceAll(client(b.bootstrapServers), 'orders', numbered('from-b', 0, 4000)),
      produceAll(client(c.bootstrapServers), 'orders', numbered('from-c', 0, 4000)),
    ]);
    for (const x of [a, b, c])
      assert.ok(
        await waitForRecords(client(x.bootstrapServers), 'orders', 12_000, 120_000),
        `${x.name} did not converge`,
      );
    await sleep(10_000); // a record going round again would show up here
    for (const x of [a, b, c]) await assertExactlyOnce(x, 'orders', 12_000);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    // Heartbeats go one hop only: each cluster holds its own and copies of its ring predecessor's,
    // never a heartbeat relayed further round (which would carry three hops).
    for (const [x, from] of [
      [b, a],
      [c, b],
      [a, c],
    ] as const) {
      const beats = await readTopic(client(x.bootstrapServers), 'kafka-mirror.heartbeats');
      const copied = beats.filter((r) => header(r, 'km.hops') !== undefined);
      assert.ok(copied.length > 0, `${x.name} received heartbeats from ${from.name}`);
      assert.ok(beats.length > copied.length, `${x.name} has heartbeats of its own`);
      for (const r of copied) assert.equal(header(r, 'km.hops'), `${from.clusterId},${x.clusterId}`);
    }
  },
);

test(
  'fan-in us -> agg, eu -> agg (prefix), then fan-out agg -> asia: agg and asia hold the union, each record once',
  { timeout: 300_000 },
  async (t) => {
    const [us, eu, agg, asia] = await Promise.all([
      useCluster(t, { name: 'us' }),
      useCluster(t, { name: 'eu' }),
      useCluster(t, { name: 'agg' }),
      useCluster(t, { name: 'asia' }),
    ]);
    for (const x of [us, eu]) await createTopic(client(x.bootstrapServers), 'orders', { partitions: 2 });
    const config = {
      clusters: { us: cluster(us), eu: cluster(eu), agg: cluster(agg), asia: cluster(asia) },
      flows: [
        flow('us', 'agg', { naming: 'prefix' }),
        flow('eu', 'agg', { naming: 'prefix' }),
        flow('agg', 'asia'),
      ],
    };
    const planned = await runCli(['plan', '--config', await configFile(t, config)]);
    assert.equal(planned.code, 0, planned.stdout + planned.stderr);
    assert.match(planned.stdout, /orders \(2 partitions\) -> us\.orders \[create\]/);
    const daemon = await startDaemon(t, config);
    await Promise.all([
      produceAll(client(us.bootstrapServers), 'orders', numbered('from-us', 0, 3000)),
      produceAll(client(eu.bootstrapServers), 'orders', numbered('from-eu', 0, 2000)),
    ]);
    assert.ok(
      await waitForRecords(client(asia.bootstrapServers), 'us.orders', 3000, 120_000),
      'us.orders on asia',
    );
    assert.ok(
      await waitForRecords(client(asia.bootstrapServers), 'eu.orders', 2000, 120_000),
      'eu.orders on asia',
    );
    await sleep(5000);
    for (const x of [agg, asia]) {
      await assertExactlyOnce(x, 'us.orders', 3000);
      await assertExactlyOnce(x, 'eu.orders', 2000);
    }
    assert.equal(await daemon.stop('SIGTERM'), 0);
  },
);

test(
  'plan reports two sources writing one topic with identity names as a conflict and exits 2',
  { timeout: 120_000 },
  async (t) => {
    const [us, eu, agg] = await Promise.all([
      useCluster(t, { name: 'us' }),
      useCluster(t, { name: 'eu' }),
      useCluster(t, { name: 'agg' }),
    ]);
    for (const x of [us, eu]) await createTopic(client(x.bootstrapServers), 'orders', { partitions: 1 });
    const file = await configFile(t, {
      clusters: { us: cluster(us), eu: cluster(eu), agg: cluster(agg) },
      flows: [flow('us', 'agg'), flow('eu', 'agg')],
    });
    const planned = await runCli(['plan', '--config', file]);
    assert.equal(planned.code, 2);
    assert.match(planned.stdout, /^CONFLICT: agg\/orders is written from eu and us with identity names$/m);
  },
);

test(
  'two aliases for one cluster are refused at start and by plan with a clear error (exit code 2)',
  { timeout: 120_000 },
  async (t) => {
    const a = await useCluster(t, { name: 'a' });
    const file = await configFile(t, {
      clusters: { us: cluster(a), standby: cluster(a) },
      flows: [{ source: 'us', target: 'standby' }],
    });
    for (const command of ['start', 'plan']) {
      const run = await runCli([command, '--config', file]);
      assert.equal(run.code, 2, command);
      assert.match(
        run.stderr,
        /clusters "standby" and "us" are the same Kafka cluster \(cluster id /,
        command,
      );
    }
  },
);
