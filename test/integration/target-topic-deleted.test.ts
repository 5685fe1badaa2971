// A target topic deleted while every partition of it is between transactions (exactly-once): all
// records copied and committed, the lanes idle. The next records of each partition begin a new
// transaction, and the broker answers its AddPartitionsToTxn UNKNOWN_TOPIC_OR_PARTITION (and
// OPERATION_NOT_ATTEMPTED for the positions partition) before any produce is sent. Every
// partition must halt with KM_TARGET_TOPIC_MISSING, nothing past the halt committed, the topic not
// recreated, and topic sync must say so once, not at every refresh. Before the fix the lanes
// retried AddPartitionsToTxn for ever: no partition halted, the queue filled, and the fault
// scenario target-topic-deleted (exactly-once) failed whenever a lane began a transaction after
// the deletion (under load: 1 or 5 halts of 6).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterPair } from '../support/cluster-pair.ts';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { committedOn, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { waitForCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const clusters = clusterPair();

const PARTITIONS = 3;
const HALTED = 'partition halted: the target topic was deleted; nothing past it will be committed';
const DELETED = 'remote topic was deleted; not recreating it (see the runbook: target topic deleted)';

/** `count` records in each partition of the topic, numbered from `from`. */
const inEveryPartition = (topic: string, from: number, count: number) =>
  numbered(topic, from, count * PARTITIONS).map((m, i) => ({ ...m, partition: i % PARTITIONS }));

test(
  'exactly-once: a target topic deleted while its partitions are between transactions halts every partition with KM_TARGET_TOPIC_MISSING',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 6);
    const topic = `deleted-${id}`;
    const flow = `deleted-${id}`;
    const group = `kafka-mirror.${flow}`;
    const { src, dst } = clusters;
    await createTopic(src, topic, { partitions: PARTITIONS });
    await produceAll(src, topic, inEveryPartition(topic, 0, 100));
    const config = flowConfig(clusters.source, clusters.target, {
      name: flow,
      topics: { include: [topic] },
      delivery: 'exactly-once',
      transaction: { intervalMs: 200 },
    });
    const daemon = await startDaemon(t, config);
    const admin = await daemon.adminUrl();
    // Everything copied and committed: no transaction is open on the target any more.
    assert.ok(await waitForCommitted(src, group, topic, 120_000), 'the flow committed the first records');
    const before = await committedOn(src, group, topic);

    await withAdmin(dst, (a) => a.deleteTopics({ topics: [topic] }));
    await eventually('the topic gone from the target', async () =>
      (await withAdmin(dst, (a) => a.listTopics())).includes(topic) ? undefined : true,
    );
    await produceAll(src, topic, inEveryPartition(topic, 300, 100));

    await eventually(
      'every partition halted',
      async () =>
        total(await scrape(admin), 'kafka_mirror_halted_partitions') === PARTITIONS ? true : undefined,
      90_000,
    );
    const halts = await eventually('the halts logged', async () => {
      const lines = daemon.logs.filter((l) => l['msg'] === HALTED);
      return lines.length >= PARTITIONS ? lines : undefined;
    });
    assert.deepEqual(
      halts.map((h) => Number(h['partition'])).sort(),
      [0, 1, 2],
      'one halt logged per partition',
    );
    for (const halt of halts)
      assert.equal((halt['err'] as { code?: string }).code, 'KM_TARGET_TOPIC_MISSING');

    // Several topic refreshes (every 2 s) and commit intervals later.
    await sleep(7000);
    assert.ok(!(await withAdmin(dst, (a) => a.listTopics())).includes(topic), 'not recreated');
    assert.equal(
      daemon.logs.filter((l) => l['msg'] === DELETED).length,
      1,
      'topic sync reports the deleted topic once, not at every refresh',
    );
    assert.deepEqual(await committedOn(src, group, topic), before, 'nothing past the halt committed');
    assert.equal(await daemon.stop('SIGTERM'), 0, 'a halted flow still stops cleanly');
  }),
);
