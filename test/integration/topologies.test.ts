// Topologies on real clusters: active-active and a ring with identity names never loop (the loop
// guard reads provenance), prefix naming never sends a remote topic home, and two aliases for one
// cluster are refused (DESIGN.md invariant 5).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon } from '../support/daemon.ts';
import { useCluster, type KafkaCluster } from '../support/kafka/index.ts';
import { repoRoot } from '../support/kafka/paths.ts';
import { client, createTopic, numbered, produceAll, readTopic } from '../support/kafka-client.ts';
import { endOffsetTotal, waitForRecords } from '../support/replication-checks.ts';

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
    const skipped = daemon.logs.filter((l) => l['msg'] === 'progress').at(-1);
    assert.ok(skipped !== undefined);
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
    assert.deepEqual((await aAdmin.listTopics()).filter((n) => !n.startsWith('__')).sort(), [
      'b.orders',
      'orders',
    ]);
    assert.deepEqual((await bAdmin.listTopics()).filter((n) => !n.startsWith('__')).sort(), [
      'a.orders',
      'orders',
    ]);
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
  },
);

test(
  'two aliases for one cluster are refused at start with a clear error (exit code 2)',
  { timeout: 120_000 },
  async (t) => {
    const a = await useCluster(t, { name: 'a' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-identity-'));
    const file = path.join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({
        clusters: { us: cluster(a), standby: cluster(a) },
        flows: [{ source: 'us', target: 'standby' }],
      }),
    );
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin/kafka-mirror.js'), 'start', '--config', file],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(stderr, /clusters "standby" and "us" are the same Kafka cluster \(cluster id /);
  },
);
