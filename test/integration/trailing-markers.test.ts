// Source partitions that end in a transaction marker, in records of an aborted transaction, or
// hold nothing but an aborted transaction, on real brokers: once the flow has copied every
// committed record, its commit reaches each partition's log end and its lag is 0 (metric and
// /status), as Kafka's consumer moves its position past control batches and aborted records
// (CompletedFetch.nextFetchedRecord). Before, the flow committed "last record + 1" and an idle
// transactional topic showed lag until its next record. Both delivery modes; nothing lost,
// duplicated or reordered, no aborted record on the target.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { clusterPair } from '../support/cluster-pair.ts';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { markersWritten } from '../support/interleaved-transactions.ts';
import { committedOn, createTopic, header, readTopic, withAdmin } from '../support/kafka-client.ts';
import { get, scrape, total } from '../support/prometheus.ts';

const clusters = clusterPair();

const PARTITIONS = [0, 1, 2];

/**
 * One transactional producer: two committed transactions over partitions 0 and 1 (10 records
 * each per transaction), then one aborted transaction over partitions 0 and 2. Partition 0 ends in
 * aborted records and their abort marker, partition 1 in a commit marker, partition 2 holds
 * nothing but the aborted records and their marker. Returns the committed values per partition.
 */
async function writeTransactions(kafka: KafkaClient, topic: string): Promise<Map<number, string[]>> {
  const producer = kafka.producer({
    transactionalId: `tail-${randomUUID().slice(0, 8)}`,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  const committed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
  const messages = (partitions: readonly number[], kind: string, round: number) =>
    partitions.flatMap((partition) =>
      Array.from({ length: 10 }, (_, i) => ({ partition, value: `${kind}-${round}-${partition}-${i}` })),
    );
  await producer.connect();
  try {
    for (let round = 0; round < 2; round++) {
      const txn = await producer.transaction();
      const batch = messages([0, 1], 'committed', round);
      await txn.send({ topic, acks: -1, messages: batch });
      await txn.commit();
      for (const m of batch) committed.get(m.partition)?.push(m.value);
    }
    const txn = await producer.transaction();
    await txn.send({ topic, acks: -1, messages: messages([0, 2], 'aborted', 2) });
    await txn.abort();
  } finally {
    await producer.disconnect();
  }
  // The coordinator writes the markers after EndTxn returns.
  await markersWritten(kafka, topic, PARTITIONS);
  return committed;
}

for (const delivery of ['at-least-once', 'exactly-once'] as const) {
  test(
    `a source partition ending in a transaction marker or aborted records is committed to its log end, lag 0 (${delivery})`,
    { timeout: 400_000 },
    clusters.guard(async (t) => {
      const { source, target, src, dst } = clusters;
      const topic = `tail-${randomUUID().slice(0, 6)}`;
      const flow = `tail-${randomUUID().slice(0, 6)}`;
      await createTopic(src, topic, { partitions: PARTITIONS.length });
      const committed = await writeTransactions(src, topic);
      const ends = new Map(
        (await withAdmin(src, (a) => a.fetchTopicOffsets(topic))).map((p) => [p.partition, Number(p.high)]),
      );
      // 2 x 10 records and 2 commit markers, then 10 aborted records and an abort marker; 22; 11.
      assert.deepEqual(Object.fromEntries(ends), { 0: 33, 1: 22, 2: 11 });

      const group = `kafka-mirror.${flow}`;
      const daemon = await startDaemon(
        t,
        flowConfig(
          source,
          target,
          { name: flow, topics: { include: [topic] }, delivery },
          {
            metrics: { lagIntervalMs: 1000 },
          },
        ),
      );
      const base = await daemon.adminUrl();
      // Every committed record is written first (what the flow did before the fix too).
      const copied = [...committed.values()].reduce((n, v) => n + v.length, 0);
      let written = 0;
      for (let attempt = 0; attempt < 360 && written < copied; attempt++) {
        written = total(await scrape(base), 'kafka_mirror_records_total', { flow, topic });
        if (written < copied) await sleep(500);
      }
      assert.equal(written, copied, 'every committed record written');
      // Then the commit reaches every log end and the lag is 0 (commits and lag every second).
      let last = '';
      let caughtUp = false;
      for (let attempt = 0; attempt < 120 && !caughtUp; attempt++) {
        const offsets = await committedOn(src, group, topic);
        const lag = total(await scrape(base), 'kafka_mirror_lag_records', { flow, topic });
        const status = JSON.parse((await get(base, '/status')).body) as {
          flows: Array<{
            name: string;
            partitions: Array<{ topic: string; partition: number; lag: number; logEnd: number }>;
          }>;
        };
        // The flow's heartbeat topic is in /status too.
        const partitions = (status.flows.find((f) => f.name === flow)?.partitions ?? []).filter(
          (p) => p.topic === topic,
        );
        last = JSON.stringify({
          committed: Object.fromEntries(offsets),
          lag,
          status: partitions.map((p) => [p.partition, p.lag]),
        });
        caughtUp =
          PARTITIONS.every((p) => offsets.get(p) === ends.get(p)) &&
          lag === 0 &&
          partitions.length === PARTITIONS.length &&
          partitions.every((p) => p.lag === 0 && p.logEnd === ends.get(p.partition));
        if (!caughtUp) await sleep(500);
      }
      t.diagnostic(last);
      assert.ok(
        caughtUp,
        `committed offsets at the log ends ${JSON.stringify(Object.fromEntries(ends))}, lag 0: ${last}`,
      );
      assert.equal(await daemon.stop('SIGTERM'), 0);

      // Nothing lost, duplicated or reordered; no aborted record (exactly once: read committed).
      const copies = await readTopic(dst, topic, 60_000, delivery === 'at-least-once');
      for (const partition of PARTITIONS) {
        const values = copies.filter((r) => r.partition === partition).map((r) => r.value);
        assert.deepEqual(
          values,
          committed.get(partition),
          `partition ${partition}: the committed records, once, in order`,
        );
      }
      assert.deepEqual(
        copies.filter((r) => r.value?.startsWith('aborted') === true).map((r) => header(r, 'km.src.offset')),
        [],
      );
      // A restart resumes at the log ends: nothing to read again.
      assert.deepEqual(Object.fromEntries(await committedOn(src, group, topic)), Object.fromEntries(ends));
    }),
  );
}
