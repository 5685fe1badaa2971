// Scaling out: two daemons with the same config share a flow's partitions through the source
// consumer group; when one is SIGKILLed the other takes its partitions over and nothing is lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic, numbered } from '../support/kafka-client.ts';
import { auditTopic, waitForRecords } from '../support/replication-checks.ts';

test(
  'two instances share a flow; one is SIGKILLed; the other takes over and nothing is missing',
  { timeout: 600_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `shared-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 6 });
    const config = flowConfig(
      source,
      target,
      { name: topic, topics: { include: [topic] } },
      { consumer: { sessionTimeoutMs: 6000 } },
    );

    // Seven partitions: the topic's six and the source's kafka-mirror.heartbeats.
    const joined = (assigned: (n: number) => boolean) => (l: Record<string, unknown>) =>
      l['msg'] === 'joined source group' && assigned(Number(l['assigned']));
    const first = await startDaemon(t, config);
    await first.waitForLog(joined((n) => n === 7));
    const second = await startDaemon(t, config);
    await second.waitForLog(joined((n) => n === 3 || n === 4));
    await first.waitForLog(joined((n) => n === 3 || n === 4));

    const total = 100_000;
    const producer = src.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const producing = (async () => {
      for (let start = 0; start < total; start += 1000) {
        const messages = numbered(topic, start, 1000).map((m, i) => ({ ...m, partition: i % 6 }));
        for (let p = 0; p < 6; p++)
          await producer.send({ topic, acks: -1, messages: messages.filter((m) => m.partition === p) });
      }
    })();
    assert.ok(await waitForRecords(dst, topic, 30_000, 120_000), 'replication did not start');
    await first.stop('SIGKILL');
    await producing;
    await producer.disconnect();
    await second.waitForLog(
      joined((n) => n === 7),
      60_000,
    );
    assert.ok(
      await waitForRecords(dst, topic, total, 240_000),
      'the surviving instance did not replicate everything',
    );
    await second.stop('SIGTERM');
    const result = await auditTopic(src, dst, topic);
    t.diagnostic(`duplicates after takeover: ${result.duplicates}`);
    assert.equal(result.missing, 0);
    assert.equal(result.reordered, 0);
  },
);
