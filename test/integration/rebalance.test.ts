// Rebalances on real brokers (issue 19): a halted partition is never left paused and unreported by
// a rejoin (defect 3), and a commit counts only once the group coordinator acknowledged it
// (defect 7).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { createClient } from '../../src/kafka/client.ts';
import { SourceReader } from '../../src/kafka/source-reader.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { flowConfig, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import {
  committedOn,
  createTopic,
  numberedIn,
  produceEach,
  readTopic,
  withAdmin,
} from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { auditTopic } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const clusters = clusterPair();

const halted = async (daemon: DaemonProcess, flow: string) =>
  total(await scrape(await daemon.adminUrl()), 'kafka_mirror_halted_partitions', { flow });

test(
  'a halted partition after a rebalance is halted again and reported by its owner; once the target accepts, a rebalance copies it',
  { timeout: 600_000 },
  clusters.guard(async (t) => {
    const topic = `rejoin-halt-${randomUUID().slice(0, 6)}`;
    const { src, dst } = clusters;
    await createTopic(src, topic, { partitions: 2 });
    await createTopic(dst, topic, { partitions: 2, config: { 'max.message.bytes': '50000' } });
    // Partition 0: 64 KiB records (incompressible) between small ones; the target refuses them.
    const big = Array.from({ length: 3 }, (_, i) => ({
      partition: 0,
      key: `big${i}`,
      value: randomBytes(64 * 1024),
    }));
    await produceEach(src, topic, [...numberedIn(0, 0, 5), ...big, ...numberedIn(0, 100, 5)]);
    await produceEach(src, topic, numberedIn(1, 200, 20));

    // kafkajs assigns round robin over member ids sorted by name, and a member id starts with the
    // client id: partition 0 stays with the first instance (`km-a`) when the second (`km-b`)
    // joins. That is the case that went silent: the owner kept the partition paused and forgot
    // the halt. Without heartbeats the topic's two partitions are all there is to assign.
    const instance = (clientId: string) => {
      const config = flowConfig(
        clusters.source,
        clusters.target,
        { name: topic, topics: { include: [topic] } },
        { consumer: { sessionTimeoutMs: 6000 }, heartbeats: { enabled: false } },
      ) as { clusters: { src: Record<string, unknown> } };
      config.clusters.src['clientId'] = clientId;
      return config;
    };
    const isHalt = (l: Record<string, unknown>) =>
      l['msg'] === 'partition halted: the target refused a record; nothing past it will be committed' &&
      l['topic'] === topic &&
      l['partition'] === 0;
    const joins = (daemon: DaemonProcess) =>
      daemon.logs.filter((l) => l['msg'] === 'joined source group').length;

    const first = await startDaemon(t, instance('km-a'));
    await first.waitForLog(isHalt, 120_000);
    assert.equal(await halted(first, topic), 1);

    const second = await startDaemon(t, instance('km-b'));
    await second.waitForLog((l) => l['msg'] === 'joined source group', 120_000);
    await eventually(
      'the first instance to rejoin',
      async () => (joins(first) >= 2 ? true : undefined),
      120_000,
    );
    // Never stuck and unreported: the owner retries the partition from its committed offset, the
    // target refuses the record again, and the partition is reported halted again.
    const reported = await eventually(
      'the halted partition to be reported by the instance that owns it after the rebalance',
      async () => {
        const sum = (await halted(first, topic)) + (await halted(second, topic));
        return sum > 0 ? sum : undefined;
      },
      60_000,
    );
    assert.equal(reported, 1);
    assert.ok(
      first.logs.some(
        (l) =>
          l['msg'] === 'halted partition resumed after a rebalance; retrying from the committed offset' &&
          l['partition'] === 0,
      ),
    );

    // The operator removes the cause; a rebalance (here the second instance leaving) retries the
    // partition, and its records arrive.
    await withAdmin(dst, (admin) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          { type: 2, name: topic, configEntries: [{ name: 'max.message.bytes', value: '1048576' }] },
        ],
      }),
    );
    assert.equal(await second.stop('SIGTERM'), 0);
    await eventually(
      'the records of partition 0 on the target',
      async () =>
        (await readTopic(dst, topic)).filter((r) => r.partition === 0).length >= 13 ? true : undefined,
      120_000,
    );
    await eventually('no partition halted', async () =>
      (await halted(first, topic)) === 0 ? true : undefined,
    );
    assert.equal(await first.stop('SIGTERM'), 0);

    const result = await auditTopic(src, dst, topic);
    t.diagnostic(`duplicates: ${result.duplicates}`);
    assert.equal(result.missing, 0);
    assert.equal(result.reordered, 0);
  }),
);

test(
  'a commit while the consumer is joining its group is not acknowledged (kafkajs sends nothing); once joined it is',
  { timeout: 300_000 },
  clusters.guard(async () => {
    const topic = `rejoin-commit-${randomUUID().slice(0, 6)}`;
    const group = `kafka-mirror.${topic}`;
    const { src } = clusters;
    await createTopic(src, topic, { partitions: 1 });
    await produceEach(src, topic, numberedIn(0, 0, 10));

    const config = parseConfig(flowConfig(clusters.source, clusters.target, { name: topic }));
    // kafkajs logs `Starting` right before it creates the consumer's group state and joins; a
    // commit made just after, while the join is in flight, is the one kafkajs drops silently.
    let duringJoin: Promise<unknown> | undefined;
    // kafkajs's info lines reach the logger at debug (client.ts).
    const logger = createLogger({
      level: 'debug',
      destination: {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg?: string; component?: string };
          if (entry.component === 'kafkajs' && entry.msg === 'Starting' && duringJoin === undefined)
            duringJoin = new Promise((resolve) => setImmediate(resolve)).then(() =>
              reader.commit([{ topic, partition: 0, offset: 3 }]),
            );
        },
      },
    });
    const source = config.clusters['src'];
    assert.ok(source !== undefined);
    const reader = new SourceReader(
      createClient(source, logger),
      { group, startFrom: 'earliest', consumer: config.consumer, logger },
      {
        onBatch: async () => true,
        onAssignment: () => {},
        onRebalancing: () => {},
        onCrash: () => {},
        onCorruptBatch: () => {},
      },
    );
    await reader.connect();
    try {
      await reader.setTopics([topic]);
      assert.ok(duringJoin !== undefined, 'a commit was made while the consumer joined');
      assert.deepEqual(await duringJoin, [], 'nothing acknowledged');
      assert.equal((await committedOn(src, group, topic)).get(0), -1, 'and nothing committed');

      assert.deepEqual(await reader.commit([{ topic, partition: 0, offset: 3 }]), [
        { topic, partition: 0, offset: 3 },
      ]);
      assert.equal((await committedOn(src, group, topic)).get(0), 3);
    } finally {
      await reader.stopFetching();
      await reader.close();
    }
  }),
);
