// flows[].maxBytesPerSecond on real brokers: a backlog far larger than the cap is replicated at
// the cap (measured over 20 s from the daemon's own byte counter), and nothing is lost.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { auditTopic, waitForRecords } from '../support/replication-checks.ts';

const LIMIT = 1_000_000; // bytes per second
const RECORDS = 30_000; // about 31 MB with keys and provenance headers: 30 s at the cap

test(
  'a flow capped at 1 MB/s replicates a backlog at the cap, and nothing is lost',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `capped-${randomUUID().slice(0, 6)}`;
    const flow = `capped-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 4 });
    const producer = src.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = randomBytes(1000);
    for (let start = 0; start < RECORDS; start += 2000) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 2000 }, (_, i) => ({ key: String(start + i), value })),
      });
    }
    await producer.disconnect();

    const daemon = await startDaemon(
      t,
      flowConfig(source, target, { name: flow, topics: { include: [topic] }, maxBytesPerSecond: LIMIT }),
    );
    const base = await daemon.adminUrl();
    const written = async () => total(await scrape(base), 'kafka_mirror_bytes_total', { flow, topic });
    // Past the first burst (one second of bytes goes at once), measure 20 s of steady state.
    while ((await written()) < 2 * LIMIT) await sleep(200);
    const before = await written();
    const startedAt = Date.now();
    await sleep(20_000);
    const after = await written();
    const rate = ((after - before) * 1000) / (Date.now() - startedAt);
    t.diagnostic(`replicated ${Math.round(rate)} B/s over 20 s with a cap of ${LIMIT} B/s`);
    assert.ok(
      Math.abs(rate - LIMIT) <= 0.15 * LIMIT,
      `rate ${Math.round(rate)} B/s is not within 15% of ${LIMIT}`,
    );

    assert.ok(await waitForRecords(dst, topic, RECORDS, 120_000), 'the whole backlog arrives');
    await daemon.stop();
    const result = await auditTopic(src, dst, topic);
    assert.equal(result.missing, 0);
    assert.equal(result.reordered, 0);
  },
);
