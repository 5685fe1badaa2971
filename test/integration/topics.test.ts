// Topic sync and partition halts on real brokers: new topics and partitions are picked up
// without a restart; a record the target refuses halts only its partition (DESIGN.md invariant 6).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import {
  client,
  createTopic,
  header,
  numberedIn,
  produceAll,
  produceEach,
  readTopic,
  withAdmin,
} from '../support/kafka-client.ts';
import { TopicAdmin } from '../../src/kafka/topic-admin.ts';
import { waitForRecords } from '../support/replication-checks.ts';

const clusters = clusterPair();

test(
  'a new matching topic and a partition increase are replicated without a restart',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const prefix = `grow-${randomUUID().slice(0, 6)}`;
    const { src, dst } = clusters;
    await createTopic(src, `${prefix}-a`, { partitions: 3 });
    await produceEach(src, `${prefix}-a`, [
      ...numberedIn(0, 0, 10),
      ...numberedIn(1, 10, 10),
      ...numberedIn(2, 20, 10),
    ]);
    const daemon = await startDaemon(
      t,
      flowConfig(clusters.source, clusters.target, { name: prefix, topics: { include: [`${prefix}-.*`] } }),
    );
    assert.ok(await waitForRecords(dst, `${prefix}-a`, 30, 60_000), 'initial topic not replicated');

    await createTopic(src, `${prefix}-b`, { partitions: 2 });
    await produceEach(src, `${prefix}-b`, [...numberedIn(0, 0, 25), ...numberedIn(1, 25, 25)]);
    assert.ok(await waitForRecords(dst, `${prefix}-b`, 50, 60_000), 'new topic not replicated');

    await withAdmin(src, (admin) =>
      admin.createPartitions({ topicPartitions: [{ topic: `${prefix}-a`, count: 5 }] }),
    );
    await produceEach(src, `${prefix}-a`, [...numberedIn(3, 100, 7), ...numberedIn(4, 200, 9)]);
    assert.ok(
      await waitForRecords(dst, `${prefix}-a`, 46, 60_000),
      'records of new partitions not replicated',
    );
    const landed = await readTopic(dst, `${prefix}-a`);
    assert.equal(
      landed.filter((r) => r.partition === 3).length,
      7,
      'target partition 3 = source partition 3',
    );
    assert.equal(
      landed.filter((r) => r.partition === 4).length,
      9,
      'target partition 4 = source partition 4',
    );
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'a record larger than the target allows halts its partition only; nothing past it is committed',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const topic = `halt-${randomUUID().slice(0, 6)}`;
    const group = `kafka-mirror.${topic}`;
    const { src, dst } = clusters;
    await createTopic(src, topic, { partitions: 3 });
    await createTopic(dst, topic, { partitions: 3, config: { 'max.message.bytes': '20000' } });
    const big: Message = { partition: 1, key: 'big', value: randomBytes(60_000) }; // incompressible
    await produceEach(src, topic, [
      ...numberedIn(0, 0, 50),
      ...numberedIn(1, 50, 50),
      ...numberedIn(2, 100, 50),
    ]);
    await produceEach(src, topic, [big]);
    await produceEach(src, topic, [
      ...numberedIn(0, 200, 50),
      ...numberedIn(1, 250, 50),
      ...numberedIn(2, 300, 50),
    ]);

    const daemon = await startDaemon(
      t,
      flowConfig(clusters.source, clusters.target, { name: topic, topics: { include: [topic] } }),
    );
    const halted = await daemon.waitForLog(
      (l) => l['msg'] === 'partition halted: the target refused a record; nothing past it will be committed',
    );
    assert.equal(halted['topic'], topic);
    assert.equal(halted['partition'], 1);
    assert.match(JSON.stringify(halted['err']), /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|KM_WRITE_REJECTED/);

    // The other partitions keep flowing, also for records produced after the halt.
    await produceEach(src, topic, [...numberedIn(0, 400, 20), ...numberedIn(2, 420, 20)]);
    const landedAll = async () => (await readTopic(dst, topic)).filter((r) => r.partition !== 1).length;
    const deadline = Date.now() + 60_000;
    while ((await landedAll()) < 240 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await landedAll(), 240, 'partitions 0 and 2 replicated in full');

    const landed = await readTopic(dst, topic);
    const p1 = landed.filter((r) => r.partition === 1).map((r) => Number(header(r, 'km.src.offset')));
    assert.ok(
      p1.every((offset) => offset < 50),
      `partition 1 has records past the refused one: ${p1.filter((o) => o >= 50)}`,
    );
    await new Promise((r) => setTimeout(r, 2500)); // at least two commit intervals
    const [committed] = await withAdmin(src, (admin) =>
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    );
    const offsetOf = (p: number) =>
      Number(committed?.partitions.find((x) => x.partition === p)?.offset ?? -1);
    assert.ok(
      offsetOf(1) <= 50,
      `partition 1 committed ${offsetOf(1)}, past the refused record at offset 50`,
    );
    assert.equal(offsetOf(0), 120);
    assert.equal(offsetOf(2), 120);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

// Both writers: the pipelined one (the default) and one request at a time (maxInFlightPerPartition 1).
for (const inFlight of [5, 1])
  test(
    `requests larger than the target topic's max.message.bytes are split until they fit: everything lands, in order, nothing halts (${inFlight} in flight)`,
    { timeout: 300_000 },
    clusters.guard(async (t) => {
      const topic = `split-${randomUUID().slice(0, 6)}`;
      const { src, dst } = clusters;
      await createTopic(src, topic, { partitions: 1 });
      // Each record fits; a default request (960 KiB) is ten times what the topic takes in one batch.
      await createTopic(dst, topic, { partitions: 1, config: { 'max.message.bytes': '100000' } });
      const total = 3000;
      const messages = Array.from({ length: total }, (_, i) => ({ key: `k${i}`, value: randomBytes(1000) })); // incompressible
      await produceAll(src, topic, messages, 500);
      const daemon = await startDaemon(
        t,
        flowConfig(
          clusters.source,
          clusters.target,
          { name: topic, topics: { include: [topic] } },
          { producer: { maxInFlightPerPartition: inFlight } },
        ),
      );
      assert.ok(await waitForRecords(dst, topic, total, 120_000), 'every record replicated');
      assert.equal(await daemon.stop('SIGTERM'), 0);
      const offsets = (await readTopic(dst, topic)).map((r) => Number(header(r, 'km.src.offset')));
      assert.deepEqual(
        offsets,
        Array.from({ length: total }, (_, i) => i),
        'each record once, in source order',
      );
      assert.ok(
        !daemon.logs.some((l) => String(l['msg']).startsWith('partition halted')),
        'no partition halted',
      );
      assert.ok(
        daemon.logs.some(
          (l) => l['msg'] === 'the target refused a request as too large; sending it in two halves',
        ),
        'the first requests were refused as too large (the test exercises the split)',
      );
    }),
  );

// Topic sync treats a remote topic another instance created first as ready: the topic admin tells
// a creation from an existing topic by what kafkajs makes of Kafka's TOPIC_ALREADY_EXISTS (its
// createTopics resolves false), never by an error's text.
test(
  'the topic admin answers created for a new topic and exists for one that is there already',
  { timeout: 120_000 },
  clusters.guard(async () => {
    const topic = `exists-${randomUUID().slice(0, 6)}`;
    const admin = new TopicAdmin(client(clusters.target.bootstrapServers));
    await admin.connect();
    try {
      assert.equal(await admin.createTopic(topic, 2, 1, {}), 'created');
      assert.equal(await admin.createTopic(topic, 2, 1, {}), 'exists');
      assert.equal((await admin.partitionCounts()).get(topic), 2);
    } finally {
      await admin.close();
    }
  }),
);
