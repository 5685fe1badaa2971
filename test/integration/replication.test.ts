// Core replication on real brokers: fidelity of everything a record carries, and no loss and no
// reordering across SIGTERM and SIGKILL of the daemon (DESIGN.md invariants 1, 2, 3, 8).
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Kafka as KafkaClient, Message } from 'kafkajs';
import { fetchedSet, kafkajs, producerHeaders, type WireHeaders } from '../../src/kafka/kafkajs/index.ts';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { javaProduce } from '../support/kafka/perf-tools.ts';
import { createTopic, header, readTopic } from '../support/kafka-client.ts';
import {
  auditTopic,
  committedTotal,
  endOffsetTotal,
  waitForCommitted,
  waitForRecords,
} from '../support/replication-checks.ts';

const { CompressionTypes } = kafkajs;
const COMPRESSIONS = [
  CompressionTypes.GZIP,
  CompressionTypes.Snappy,
  CompressionTypes.LZ4,
  CompressionTypes.ZSTD,
  CompressionTypes.None,
];

const clusters = clusterPair();

/** The codecs of the record batches of a topic (its first `records` records), as the broker stores them. */
async function codecsOf(kafka: KafkaClient, topic: string, records: number): Promise<Set<number>> {
  const consumer = kafka.consumer({ groupId: `codecs-${randomUUID()}` });
  const codecs = new Set<number>();
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${topic}: ${seen} of ${records} records read`)),
        60_000,
      );
      void consumer.run({
        eachBatch: async ({ batch }) => {
          const codec = fetchedSet(batch)?.codec;
          if (codec !== undefined) codecs.add(codec);
          seen += batch.messages.length;
          if (seen >= records) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return codecs;
}

/** Sends messages of one partition per request, checking the partition's acknowledgement. */
async function produce(
  kafka: KafkaClient,
  topic: string,
  messages: Message[],
  compression = CompressionTypes.None,
) {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const byPartition = new Map<number, Message[]>();
    for (const m of messages)
      byPartition.set(m.partition ?? 0, [...(byPartition.get(m.partition ?? 0) ?? []), m]);
    await Promise.all(
      [...byPartition].map(async ([partition, list]) => {
        const results = await producer.send({ topic, acks: -1, compression, messages: list });
        assert.ok(
          results.some((r) => r.partition === partition && r.errorCode === 0),
          `partition ${partition} not acknowledged`,
        );
      }),
    );
  } finally {
    await producer.disconnect();
  }
}

/** Writes `total` sequenced records over 6 partitions, 5,000 at a time, while the caller goes on. */
async function stream(kafka: KafkaClient, topic: string, total: number): Promise<void> {
  for (let start = 0; start < total; start += 5000)
    await produce(kafka, topic, sequenced(topic, start, 5000, 6));
}

function sequenced(topic: string, from: number, count: number, partitions: number): Message[] {
  return Array.from({ length: count }, (_, n) => {
    const i = from + n;
    return { partition: i % partitions, key: `${topic}-${i}`, value: `value-${i}` };
  });
}

describe('core replication', () => {
  test(
    'copies 100,000 records over 3 topics x 6 partitions byte for byte: keys, values, nulls, headers, timestamps, all codecs',
    { timeout: 600_000 },
    clusters.guard(async (t) => {
      const prefix = `fidelity-${randomUUID().slice(0, 6)}`;
      const topics = [0, 1, 2].map((i) => `${prefix}-t${i}`);
      const { src, dst } = clusters;
      for (const topic of topics) await createTopic(src, topic, { partitions: 6 });

      const perTopic = 100_000 / 3;
      let produced = 0;
      for (const [ti, topic] of topics.entries()) {
        const count = ti === 2 ? 100_000 - 2 * Math.floor(perTopic) : Math.floor(perTopic);
        for (let start = 0, batch = 0; start < count; start += 3000, batch++) {
          const messages: Message[] = [];
          for (let i = start; i < Math.min(count, start + 3000); i++) {
            const headers: Array<readonly [string, Buffer | null]> =
              i % 3 === 0
                ? [
                    ['trace', Buffer.from(`t${i}`)],
                    ['dup', Buffer.from('first')],
                    ['other', Buffer.alloc(0)],
                    ['dup', Buffer.from('second')],
                  ]
                : i % 7 === 0
                  ? [['no-value', null]]
                  : [];
            const large = i % 2500 === 1; // a few values up to 512 KiB
            const value =
              i % 50 === 0
                ? null
                : large
                  ? Buffer.alloc(512 * 1024 - (i % 7), i % 251)
                  : Buffer.alloc(i % 1024, i % 251);
            messages.push({
              partition: i % 6,
              key: Buffer.from(`key-${i}`),
              value,
              timestamp: String(1_600_000_000_000 + i),
              headers: producerHeaders(headers as WireHeaders),
            });
          }
          await produce(src, topic, messages, COMPRESSIONS[(batch + ti) % COMPRESSIONS.length]);
          produced += messages.length;
        }
      }
      assert.equal(produced, 100_000);

      const daemon = await startDaemon(
        t,
        flowConfig(clusters.source, clusters.target, { name: prefix, topics: { include: [`${prefix}-.*`] } }),
      );
      for (const topic of topics) {
        const expected = await endOffsetTotal(src, topic);
        assert.ok(await waitForRecords(dst, topic, expected, 240_000), `${topic} not fully replicated`);
      }
      assert.equal(await daemon.stop('SIGTERM'), 0);

      for (const topic of topics) {
        const [sourceRecords, targetRecords] = await Promise.all([
          readTopic(src, topic),
          readTopic(dst, topic),
        ]);
        assert.equal(targetRecords.length, sourceRecords.length, `${topic}: record count`);
        for (let partition = 0; partition < 6; partition++) {
          const from = sourceRecords.filter((r) => r.partition === partition);
          const to = targetRecords.filter((r) => r.partition === partition);
          assert.equal(to.length, from.length, `${topic}/${partition}: count`);
          for (const [i, s] of from.entries()) {
            const d = to[i];
            assert.ok(d !== undefined);
            const where = `${topic}/${partition} source offset ${s.offset}`;
            assert.deepEqual(d.keyBytes, s.keyBytes, `${where}: key`);
            assert.equal(d.valueBytes === null, s.valueBytes === null, `${where}: null value kept`);
            if (s.valueBytes !== null) assert.ok(d.valueBytes?.equals(s.valueBytes), `${where}: value bytes`);
            assert.equal(d.timestamp, s.timestamp, `${where}: timestamp`);
            assert.deepEqual(
              d.headers.slice(0, s.headers.length),
              s.headers,
              `${where}: headers, order and duplicates`,
            );
            assert.deepEqual(
              d.headers.slice(s.headers.length).map(([k, v]) => [k, v?.toString()]),
              [
                ['km.src.cluster', 'src'],
                ['km.src.topic', topic],
                ['km.src.partition', String(partition)],
                ['km.src.offset', s.offset],
                ['km.origin', clusters.source.clusterId],
                ['km.hops', `${clusters.source.clusterId},${clusters.target.clusterId}`],
              ],
              `${where}: provenance`,
            );
          }
        }
      }
    }),
  );

  test(
    'reads what the Java client writes in every codec (gzip, snappy, lz4, zstd), copies it byte for byte, and writes it in the same codec',
    { timeout: 300_000 },
    clusters.guard(async (t) => {
      const prefix = `java-${randomUUID().slice(0, 6)}`;
      const { src, dst } = clusters;
      const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
      for (const codec of codecs) {
        await createTopic(src, `${prefix}-${codec}`, { partitions: 3 });
        await javaProduce(clusters.source.bootstrapServers, `${prefix}-${codec}`, {
          records: 20_000,
          recordSize: 300,
          compression: codec,
        });
      }
      const daemon = await startDaemon(
        t,
        flowConfig(clusters.source, clusters.target, { name: prefix, topics: { include: [`${prefix}-.*`] } }),
      );
      for (const codec of codecs) {
        assert.ok(
          await waitForRecords(dst, `${prefix}-${codec}`, 20_000, 120_000),
          `${codec} topic not replicated`,
        );
      }
      assert.equal(await daemon.stop('SIGTERM'), 0);
      for (const codec of codecs) {
        const [from, to] = await Promise.all([
          readTopic(src, `${prefix}-${codec}`),
          readTopic(dst, `${prefix}-${codec}`),
        ]);
        assert.equal(from.length, 20_000);
        assert.equal(to.length, from.length, `${codec}: count`);
        const key = (r: (typeof from)[number]) => `${r.partition}/${r.offset}`;
        const byPosition = new Map(from.map((r) => [key(r), r]));
        for (const r of to) {
          const original = byPosition.get(`${r.partition}/${String(header(r, 'km.src.offset'))}`);
          assert.ok(
            original?.valueBytes?.equals(r.valueBytes ?? Buffer.alloc(0)),
            `${codec}: value of ${key(r)}`,
          );
        }
        // producer.compression defaults to `source`: the target stores the source's codec.
        const id = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec];
        assert.deepEqual(
          [...(await codecsOf(dst, `${prefix}-${codec}`, 20_000))],
          [id],
          `${codec} on the target`,
        );
      }
    }),
  );

  test(
    'SIGTERM mid-stream, then restart: nothing missing, no duplicates, order kept',
    { timeout: 600_000 },
    clusters.guard(async (t) => {
      const topic = `sigterm-${randomUUID().slice(0, 6)}`;
      const { src, dst } = clusters;
      await createTopic(src, topic, { partitions: 6 });
      const config = flowConfig(clusters.source, clusters.target, {
        name: topic,
        topics: { include: [topic] },
      });
      const total = 100_000;
      let daemon = await startDaemon(t, config);
      const producing = stream(src, topic, total);
      assert.ok(await waitForRecords(dst, topic, 20_000, 120_000), 'replication did not start');
      assert.equal(await daemon.stop('SIGTERM'), 0, 'a drained shutdown exits 0');
      daemon = await startDaemon(t, config);
      await producing;
      assert.ok(await waitForRecords(dst, topic, total, 240_000), 'not all records replicated after restart');
      await daemon.stop('SIGTERM');
      const result = await auditTopic(src, dst, topic);
      assert.deepEqual(result, { missing: 0, duplicates: 0, reordered: 0, target: total });
    }),
  );

  test(
    'SIGKILL at a random point of a 200,000-record stream, then restart: nothing missing, order kept, duplicates within the uncommitted window',
    { timeout: 600_000 },
    clusters.guard(async (t) => {
      const topic = `sigkill-${randomUUID().slice(0, 6)}`;
      const { src, dst } = clusters;
      await createTopic(src, topic, { partitions: 6 });
      const config = flowConfig(clusters.source, clusters.target, {
        name: topic,
        topics: { include: [topic] },
      });
      const total = 200_000;
      let daemon = await startDaemon(t, config);
      const producing = stream(src, topic, total);
      const killAt = randomInt(20_000, 150_000);
      assert.ok(
        await waitForRecords(dst, topic, killAt, 180_000),
        'replication did not reach the kill point',
      );
      await daemon.stop('SIGKILL');
      // The duplicate bound: records on the target beyond the group's committed watermark at the
      // moment of the crash are the only ones a restart can write again.
      const writtenAtCrash = await endOffsetTotal(dst, topic);
      const committedAtCrash = await committedTotal(src, `kafka-mirror.${topic}`, topic);
      assert.ok(committedAtCrash <= writtenAtCrash, 'committed past what the target holds');

      daemon = await startDaemon(t, config);
      await producing;
      // Not a count of target records: after a crash some are there twice.
      assert.ok(
        await waitForCommitted(src, `kafka-mirror.${topic}`, topic, 240_000),
        'the flow did not commit every record after the restart',
      );
      await daemon.stop('SIGTERM');
      const result = await auditTopic(src, dst, topic);
      t.diagnostic(
        `killed at ${writtenAtCrash} written / ${committedAtCrash} committed; duplicates ${result.duplicates} (bound ${writtenAtCrash - committedAtCrash})`,
      );
      assert.equal(result.missing, 0, 'records missing');
      assert.equal(result.reordered, 0, 'first occurrences out of order');
      assert.ok(
        result.duplicates <= writtenAtCrash - committedAtCrash,
        `${result.duplicates} duplicates exceed the uncommitted window ${writtenAtCrash - committedAtCrash}`,
      );
    }),
  );
});
