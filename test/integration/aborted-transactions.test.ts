// Source transactions of several producers interleaved in a partition and aborted in reverse
// order, on real brokers (issue 19, defect 1): none of their records reaches the target, in either
// delivery mode, while fetches small enough to start inside the open transactions read them; and
// an exactly-once lane never restores from a position record of an aborted transaction.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { TransactionalWriter } from '../../src/kafka/writers/transactional-writer.ts';
import { TopicAdmin } from '../../src/kafka/topic-admin.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { audit } from '../fault/support.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import {
  ABORTED_PREFIX,
  COMMITTED_PREFIX,
  javaReadCommitted,
  shortValue,
  writeInterleavedAborts,
} from '../support/interleaved-transactions.ts';
import {
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
  type Consumed,
} from '../support/kafka-client.ts';
import { waitForCommitted } from '../support/replication-checks.ts';

const clusters = clusterPair();

/** Per partition, the first copies of committed values in target order, and every copy of an aborted one. */
function onTarget(records: readonly Consumed[]) {
  const firsts = new Map<number, string[]>();
  const seen = new Set<string>();
  let duplicated = 0;
  const leaked: Consumed[] = [];
  for (const r of records) {
    const value = shortValue(r.value ?? '');
    if (value.startsWith(ABORTED_PREFIX)) leaked.push(r);
    else if (seen.has(value)) duplicated++;
    else {
      seen.add(value);
      const list = firsts.get(r.partition) ?? [];
      list.push(value);
      firsts.set(r.partition, list);
    }
  }
  return { firsts, duplicated, leaked };
}

for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  test(
    `records of interleaved source transactions aborted in reverse order never reach the target, read in small fetches (${delivery})`,
    { timeout: 600_000 },
    clusters.guard(async (t) => {
      const { source, target, src, dst } = clusters;
      const topic = `aborts-${randomUUID().slice(0, 6)}`;
      const flow = `aborts-${randomUUID().slice(0, 6)}`;
      await createTopic(src, topic, { partitions: 2 });
      const written = await writeInterleavedAborts(src, topic, {
        partitions: [0, 1],
        rounds: 8,
        valueBytes: 1000,
      });
      const committedTotal = [...written.committed.values()].reduce((n, v) => n + v.length, 0);
      t.diagnostic(`${committedTotal} committed and ${written.aborted} aborted records on the source`);
      // The oracle: Kafka's own consumer reads exactly the committed records of the source.
      const javaSource = await javaReadCommitted(source.bootstrapServers, topic);
      assert.deepEqual(
        [...javaSource].sort(),
        [...written.committed.values()].flat().map(shortValue).sort(),
        "Kafka's consumer sees the committed records of the source",
      );

      const config = flowConfig(
        source,
        target,
        { name: flow, topics: { include: [topic] }, delivery },
        {
          // About one 2 KiB batch per partition and fetch: fetches start inside the transactions.
          consumer: { maxBytesPerPartition: '4KiB', maxBytes: '8KiB' },
          producer: { requestTimeoutMs: 10_000 },
        },
      );
      const daemon = await startDaemon(t, config);
      assert.ok(
        await waitForCommitted(src, `kafka-mirror.${flow}`, topic, 180_000),
        'the flow committed the whole source',
      );
      assert.equal(await daemon.stop('SIGTERM'), 0);

      // At least once the target has no transactions: read uncommitted, it shows all it holds.
      // Exactly once it does (the flow's own): read committed, as its consumers do.
      const copies = await readTopic(dst, topic, 60_000, delivery === 'at-least-once');
      const { firsts, duplicated, leaked } = onTarget(copies);
      t.diagnostic(`target: ${copies.length} records, ${leaked.length} of aborted transactions`);
      assert.deepEqual(
        leaked.map((r) => `${r.partition}/${header(r, 'km.src.offset')}`),
        [],
        'no record of an aborted transaction on the target',
      );
      for (const [partition, values] of written.committed)
        assert.deepEqual(
          firsts.get(partition),
          values.map(shortValue),
          `partition ${partition}: every committed record, in order`,
        );
      if (delivery === 'exactly-once') {
        assert.equal(duplicated, 0);
        const javaTarget = await javaReadCommitted(target.bootstrapServers, topic);
        assert.equal(javaTarget.filter((v) => v.startsWith(ABORTED_PREFIX)).length, 0);
        assert.equal(javaTarget.filter((v) => v.startsWith(COMMITTED_PREFIX)).length, committedTotal);
      }

      const report = await audit(config, flow);
      t.diagnostic(JSON.stringify(report.totals));
      assert.equal(report.totals.checked, committedTotal);
      assert.equal(report.totals.aborted, 0);
      assert.equal(report.totals.missing, 0);
      assert.equal(report.totals.reordered, 0);
      assert.ok(report.ok);
    }),
  );
}

test(
  'exactly-once: a lane restores from its committed position, never from a position record of an aborted transaction',
  { timeout: 300_000 },
  clusters.guard(async () => {
    const { dst } = clusters;
    const group = `eos-${randomUUID().slice(0, 6)}`;
    const positionsTopic = `kafka-mirror.positions.${group}`;
    // One partition: every lane's position is there.
    await createTopic(dst, positionsTopic, { partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const key = JSON.stringify([group, 'orders', 3]); // the lane's key (positions.ts)
    const position = (next: number) => ({
      key,
      value: JSON.stringify({ next, at: new Date().toISOString() }),
    });
    const producer = (name: string) =>
      dst.producer({ transactionalId: `${group}-${name}`, idempotent: true, maxInFlightRequests: 1 });
    const [owner, fenced, other] = [producer('owner'), producer('fenced'), producer('other')];
    await Promise.all([owner, fenced, other].map((p) => p.connect()));
    try {
      const committed = await owner.transaction();
      await committed.send({ topic: positionsTopic, messages: [position(1000)] });
      await committed.commit();
      // Two owners' transactions overlap and abort in reverse order, each with a later position.
      const first = await fenced.transaction();
      await first.send({ topic: positionsTopic, messages: [position(5000)] });
      const second = await other.transaction();
      await second.send({ topic: positionsTopic, messages: [position(4000)] });
      await first.send({ topic: positionsTopic, messages: [position(6000)] });
      await second.abort();
      await first.abort();
    } finally {
      await Promise.allSettled([owner, fenced, other].map((p) => p.disconnect()));
    }

    const admin = new TopicAdmin(dst);
    await admin.connect();
    const writer = new TransactionalWriter(dst, {
      group,
      positionsTopic,
      transaction: {
        maxRecords: 1000,
        maxBytes: 1 << 20,
        intervalMs: 1000,
        idleCommitMs: 100,
        timeoutMs: 60_000,
        positionsTopic,
      },
      replicationFactor: 1,
      admin,
      compression: 'none',
      maxRequestBytes: 1 << 20,
      requestTimeoutMs: 10_000,
      logger: createLogger({ level: 'error', destination: process.stderr }),
    });
    try {
      await writer.connect();
      assert.equal(await writer.acquire('orders', 3), 1000, 'the committed position');
    } finally {
      await writer.close();
      await admin.close();
    }
  }),
);

test(
  'verify counts every target record copied from a record of an aborted source transaction',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const { source, target, src, dst } = clusters;
    const topic = `leaked-${randomUUID().slice(0, 6)}`;
    const flow = `leaked-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 1 });
    await createTopic(dst, topic, { partitions: 1 });
    const written = await writeInterleavedAborts(src, topic, { partitions: [0], rounds: 4 });
    const committed = written.committed.get(0)?.length ?? 0;
    // A target as a leaking copy makes it: every data record of the source, aborted or not, in
    // order, with its provenance, written as committed records.
    const all = await readTopic(src, topic, 60_000, true);
    assert.equal(all.length, committed + written.aborted);
    await produceAll(
      dst,
      topic,
      all.map((r) => ({
        value: r.valueBytes,
        timestamp: r.timestamp,
        partition: 0,
        headers: {
          'km.src.cluster': 'src',
          'km.src.topic': topic,
          'km.src.partition': '0',
          'km.src.offset': r.offset,
        },
      })),
    );
    // The flow claims everything as replicated.
    const ends = await withAdmin(src, (a) => a.fetchTopicOffsets(topic));
    await withAdmin(src, (a) =>
      a.setOffsets({
        groupId: `kafka-mirror.${flow}`,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      }),
    );
    const config = flowConfig(source, target, { name: flow, topics: { include: [topic] } });
    const result = await runCli(['verify', '--config', await configFile(t, config), '--json']);
    assert.equal(result.code, 3, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { ok: boolean; totals: Record<string, number> };
    t.diagnostic(JSON.stringify(report.totals));
    assert.equal(report.ok, false);
    assert.deepEqual(
      {
        checked: report.totals['checked'],
        replicated: report.totals['replicated'],
        aborted: report.totals['aborted'],
        missing: report.totals['missing'],
        unknown: report.totals['unknown'],
        reordered: report.totals['reordered'],
      },
      {
        checked: committed,
        replicated: committed,
        aborted: written.aborted,
        missing: 0,
        unknown: 0,
        reordered: 0,
      },
      'every leaked record reported as aborted, and nothing else',
    );
  }),
);
