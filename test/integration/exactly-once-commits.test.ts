// When an exactly-once flow commits, on real brokers. Under a light load a partition with nothing
// more to write commits its transaction once it is transaction.idleCommitMs old, not at
// transaction.intervalMs (issue 24): the interval here is 50 s and every round must be visible to
// read_committed readers of the target well within it, each round audited (every record once, in
// order). And an owner killed after its last transaction but before its group commit leaves the
// source group behind the target's positions: the next owner commits the positions it restores,
// so the group reaches the log end (lag 0) though nothing is left to read.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { clusterPair } from '../support/cluster-pair.ts';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { waitForCommitted } from '../support/replication-checks.ts';
import { audit } from '../fault/support.ts';
import { createTopic, numberedIn, produceAll, readTopic, withAdmin } from '../support/kafka-client.ts';

const clusters = clusterPair();

const PARTITIONS = 3;
const PER_ROUND = 20;
/** Far below the 50 s interval: a round visible by then was committed because its lane went idle. */
const VISIBLE_WITHIN_MS = 20_000;

/** The target's last stable offsets (kafkajs's admin lists offsets read_committed), summed. */
const stableTotal = async (kafka: KafkaClient, topic: string) =>
  (await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic))).reduce((n, p) => n + Number(p.high), 0);

/** Polls the target's last stable offsets until their sum reaches `wanted` or `withinMs` passed; returns the last sum. */
async function stableReaches(kafka: KafkaClient, topic: string, wanted: number, withinMs: number) {
  const start = Date.now();
  let stable = await stableTotal(kafka, topic).catch(() => 0);
  while (stable < wanted && Date.now() - start < withinMs) {
    await sleep(200);
    stable = await stableTotal(kafka, topic).catch(() => stable);
  }
  return stable;
}

test(
  'exactly-once: a light load is committed once the partition is idle, not at transaction.intervalMs',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const { source, target, src, dst } = clusters;
    const topic = `idle-${randomUUID().slice(0, 6)}`;
    const flow = `idle-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: PARTITIONS });
    const daemon = await startDaemon(
      t,
      flowConfig(source, target, {
        name: flow,
        topics: { include: [topic] },
        delivery: 'exactly-once',
        transaction: { intervalMs: 50_000, timeoutMs: 60_000 },
      }),
    );
    await daemon.waitForLog((l) => l['msg'] === 'partition restored from the target', 60_000);
    const expected = new Map<number, string[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
    for (let round = 0; round < 3; round++) {
      const before = await stableTotal(dst, topic).catch(() => 0);
      const messages = Array.from({ length: PARTITIONS }, (_, p) =>
        numberedIn(p, round * PER_ROUND, PER_ROUND),
      ).flat();
      await produceAll(src, topic, messages);
      for (const m of messages) expected.get(m.partition as number)?.push(String(m.value));
      // Each partition's round: 20 records and a commit marker once committed.
      const wanted = before + PARTITIONS * (PER_ROUND + 1);
      const start = Date.now();
      const stable = await stableReaches(dst, topic, wanted, VISIBLE_WITHIN_MS);
      t.diagnostic(`round ${round}: last stable offsets ${before} -> ${stable} in ${Date.now() - start} ms`);
      assert.ok(
        stable >= wanted,
        `round ${round} committed within ${VISIBLE_WITHIN_MS} ms (interval 50 s): last stable offsets ${stable}, want ${wanted}`,
      );
      const copies = await readTopic(dst, topic, 60_000);
      for (let p = 0; p < PARTITIONS; p++)
        assert.deepEqual(
          copies.filter((r) => r.partition === p).map((r) => r.value),
          expected.get(p),
          `round ${round}, partition ${p}: every record once, in order`,
        );
    }
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'exactly-once: an owner killed before its group commit; the next commits the positions it restores, lag 0',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const { source, target, src, dst } = clusters;
    const topic = `restored-${randomUUID().slice(0, 6)}`;
    const flow = `restored-${randomUUID().slice(0, 6)}`;
    const group = `kafka-mirror.${flow}`;
    await createTopic(src, topic, { partitions: PARTITIONS });
    const config = (commitIntervalMs: number) =>
      flowConfig(
        source,
        target,
        { name: flow, topics: { include: [topic] }, delivery: 'exactly-once', commitIntervalMs },
        { consumer: { sessionTimeoutMs: 6000 } },
      );
    // The first owner never commits to the source group (a 10-minute interval, killed long before).
    const first = await startDaemon(t, config(600_000));
    await first.waitForLog((l) => l['msg'] === 'partition restored from the target', 60_000);
    const messages = Array.from({ length: PARTITIONS }, (_, p) => numberedIn(p, 0, PER_ROUND)).flat();
    await produceAll(src, topic, messages);
    const wanted = PARTITIONS * (PER_ROUND + 1);
    const stable = await stableReaches(dst, topic, wanted, 20_000);
    assert.ok(stable >= wanted, `every record committed on the target before the kill: ${stable}`);
    await first.stop('SIGKILL');
    const committed = await withAdmin(src, (a) => a.fetchOffsets({ groupId: group, topics: [topic] }));
    t.diagnostic(`group offsets after the kill: ${JSON.stringify(committed[0]?.partitions)}`);
    assert.ok(
      (committed[0]?.partitions ?? []).every((p) => Number(p.offset) < PER_ROUND),
      'the killed owner had not committed the source group',
    );
    // The next owner has nothing left to read: only the restored positions can move the group.
    const next = await startDaemon(t, config(1000));
    assert.ok(await waitForCommitted(src, group, topic, 60_000), 'the group reached the log end');
    assert.equal(await next.stop('SIGTERM'), 0);
    const report = await audit(config(1000), flow);
    assert.equal(report.totals.checked, PARTITIONS * PER_ROUND, 'every source record audited');
    assert.equal(report.totals.missing, 0, 'nothing lost');
    assert.equal(report.totals.duplicated, 0, 'nothing written twice');
  }),
);
