// Proves the local Kafka launcher on real brokers: every other integration test, benchmark and
// the demo stand on it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterPair } from '../support/cluster-pair.ts';
import { startCluster, type KafkaCluster } from '../support/kafka/index.ts';
import { client, readTopic, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';

const topicName = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

async function roundTrip10k(cluster: KafkaCluster, replicationFactor: number): Promise<void> {
  const kafka = client(cluster.bootstrapServers);
  const topic = topicName('roundtrip');
  await createTopic(kafka, topic, { partitions: 3, replicationFactor });
  const sent = numbered(topic, 0, 10_000);
  await produceAll(kafka, topic, sent);
  const received = await readTopic(kafka, topic);
  assert.equal(received.length, sent.length);
  assert.deepEqual(new Set(received.map((r) => r.value)), new Set(sent.map((m) => m.value)));
}

describe('two one-node clusters side by side', () => {
  const clusters = clusterPair();

  test(
    'produces and consumes 10,000 records on a one-node cluster',
    clusters.guard(async () => {
      await roundTrip10k(clusters.source, 1);
    }),
  );

  test(
    'each cluster has its own identity and topics',
    clusters.guard(async () => {
      const { source, target, src, dst } = clusters;
      assert.notEqual(source.clusterId, target.clusterId);
      assert.equal(new Set([...source.bootstrapServers, ...target.bootstrapServers]).size, 2);
      const onSource = topicName('only-source');
      const onTarget = topicName('only-target');
      await createTopic(src, onSource);
      await createTopic(dst, onTarget);
      const sourceTopics = await withAdmin(src, (a) => a.listTopics());
      const targetTopics = await withAdmin(dst, (a) => a.listTopics());
      assert.ok(sourceTopics.includes(onSource) && !sourceTopics.includes(onTarget));
      assert.ok(targetTopics.includes(onTarget) && !targetTopics.includes(onSource));
      const sourceId = await withAdmin(src, (a) => a.describeCluster());
      assert.equal(sourceId.clusterId, source.clusterId);
    }),
  );
});

describe('three-node cluster behind Toxiproxy', () => {
  let cluster: KafkaCluster;
  let failed = false;
  before(async () => {
    cluster = await startCluster({ name: 'trio', nodes: 3, toxiproxy: true });
  });
  after(async () => {
    await cluster?.stop({ keepLogs: failed });
  });
  const guard = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (error) {
      failed = true;
      throw error;
    }
  };

  test(
    'produces and consumes 10,000 records with replication factor 3',
    guard(() => roundTrip10k(cluster, 3)),
  );

  test(
    'a SIGKILLed node loses no acknowledged record (RF 3, min.insync.replicas 2, acks=all)',
    guard(async () => {
      const kafka = client(cluster.bootstrapServers);
      const topic = topicName('kill');
      await createTopic(kafka, topic, {
        partitions: 3,
        replicationFactor: 3,
        config: { 'min.insync.replicas': '2' },
      });
      const producer = kafka.producer({
        allowAutoTopicCreation: false,
        retry: { retries: 10, maxRetryTime: 2000 },
      });
      await producer.connect();
      const acked: string[] = [];
      let failedSends = 0;
      for (let batch = 0; batch < 60; batch++) {
        if (batch === 20) await cluster.killNode(2);
        if (batch === 40) await cluster.startNode(2);
        const messages = numbered(topic, batch * 100, 100).map((m, i) => ({ ...m, partition: i % 3 }));
        try {
          const results = await producer.send({ topic, acks: -1, messages });
          // Acknowledged means: the partition is in the produce response without error. kafkajs
          // 2.2.4 can resolve send() without a partition when its leader moved to a broker that
          // had already answered for another partition of the same call (sendMessages.js keys
          // its retry state by broker), so a resolved send() alone proves nothing.
          const ackedPartitions = new Set(results.filter((r) => r.errorCode === 0).map((r) => r.partition));
          acked.push(...messages.filter((m) => ackedPartitions.has(m.partition)).map((m) => String(m.value)));
        } catch {
          failedSends++; // not acknowledged, so nothing is promised for it
        }
      }
      await producer.disconnect();
      assert.ok(cluster.isRunning(2));
      assert.ok(
        acked.length >= 4000,
        `only ${acked.length} records acknowledged (${failedSends} failed sends)`,
      );
      const records = await readTopic(kafka, topic);
      const received = new Set(records.map((r) => r.value));
      const lost = acked.filter((value) => !received.has(value));
      assert.deepEqual(
        lost,
        [],
        `${lost.length} of ${acked.length} acknowledged records missing; read ${records.length}`,
      );
    }),
  );

  test(
    'Toxiproxy latency shows in a round trip; a blackhole times requests out; removing it restores service',
    guard(async () => {
      const network = cluster.network;
      assert.ok(network, 'cluster was started with toxiproxy: true');
      const kafka = client(cluster.bootstrapServers, { requestTimeout: 2000 });
      const admin = kafka.admin({ retry: { retries: 0 } });
      await admin.connect();
      const roundTrip = async () => {
        const started = performance.now();
        await admin.describeCluster();
        return performance.now() - started;
      };
      const median = async () => {
        const samples = [];
        for (let i = 0; i < 5; i++) samples.push(await roundTrip());
        return samples.sort((a, b) => a - b)[2] ?? NaN;
      };
      const base = await median();
      const latency = await network.addToxic({ type: 'latency', attributes: { latency: 100, jitter: 0 } });
      const slow = await median();
      assert.ok(
        slow - base >= 90,
        `round trip ${slow.toFixed(1)} ms with 100 ms latency vs ${base.toFixed(1)} ms without`,
      );
      await network.removeToxic(latency);

      const blackhole = await network.addToxic({ type: 'timeout', attributes: { timeout: 0 } });
      const started = performance.now();
      await assert.rejects(roundTrip());
      assert.ok(performance.now() - started >= 1500, 'the request failed before its 2 s timeout');
      await admin.disconnect();
      await network.removeToxic(blackhole);

      const fresh = client(cluster.bootstrapServers).admin();
      await fresh.connect();
      const { brokers } = await fresh.describeCluster();
      await fresh.disconnect();
      assert.equal(brokers.length, 3);
      await sleep(0);
    }),
  );
});
