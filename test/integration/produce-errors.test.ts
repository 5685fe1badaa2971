// Produce errors retrying cannot fix, on real brokers (issue 19, defect 5): a target topic that
// refuses the records' timestamps answers INVALID_TIMESTAMP, which Kafka marks not retriable. The
// partition must halt at once, with a coded error, the halted metric and a log line that says what
// to do, in every writer: the pipelined idempotent one (default), one request at a time, and
// exactly-once. Before, it was retried for ever and nothing told the operator.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { createTopic, produceAll, readTopic } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { waitForRecords } from '../support/replication-checks.ts';

const clusters = clusterPair();

const TWO_DAYS_MS = 2 * 24 * 3600_000;
const HALTED = 'partition halted: the target refused a record; nothing past it will be committed';

const modes = [
  { name: 'pipelined', flow: {}, producer: {} },
  { name: 'one at a time', flow: {}, producer: { maxInFlightPerPartition: 1 } },
  { name: 'exactly-once', flow: { delivery: 'exactly-once' }, producer: {} },
] as const;

for (const mode of modes)
  test(
    `records older than the target topic accepts halt their partition with KM_WRITE_REJECTED, the halted metric and what to do (${mode.name})`,
    { timeout: 300_000 },
    clusters.guard(async (t) => {
      const topic = `old-ts-${randomUUID().slice(0, 6)}`;
      const { src, dst } = clusters;
      await createTopic(src, topic, { partitions: 2 });
      // The target takes records at most an hour old; partition 0 holds two-day-old records.
      await createTopic(dst, topic, {
        partitions: 2,
        config: { 'message.timestamp.before.max.ms': '3600000' },
      });
      const old = String(Date.now() - TWO_DAYS_MS);
      const messages: Message[] = [
        ...Array.from({ length: 20 }, (_, i) => ({
          partition: 0,
          key: `o${i}`,
          value: `old-${i}`,
          timestamp: old,
        })),
        ...Array.from({ length: 20 }, (_, i) => ({ partition: 1, key: `n${i}`, value: `new-${i}` })),
      ];
      await produceAll(src, topic, messages);

      const daemon = await startDaemon(
        t,
        flowConfig(
          clusters.source,
          clusters.target,
          { name: topic, topics: { include: [topic] }, ...mode.flow },
          { producer: mode.producer },
        ),
      );
      const halted = await daemon.waitForLog((l) => l['msg'] === HALTED, 120_000);
      assert.equal(halted['topic'], topic);
      assert.equal(halted['partition'], 0);
      assert.equal(halted['level'], 50, 'logged at error');
      const err = halted['err'] as Record<string, unknown>;
      assert.equal(err['code'], 'KM_WRITE_REJECTED');
      assert.equal(err['kafkaError'], 'INVALID_TIMESTAMP');
      // What to do, in the line itself: the topic setting that refused the records.
      assert.match(String(err['message']), /message\.timestamp\.before\.max\.ms/);
      assert.match(String(err['remedy']), /message\.timestamp\.type=LogAppendTime/);

      const base = await daemon.adminUrl();
      assert.equal(total(await scrape(base), 'kafka_mirror_halted_partitions', { flow: topic }), 1);
      // The other partition is copied; nothing of the halted one is.
      assert.ok(await waitForRecords(dst, topic, 20, 60_000), 'partition 1 replicated');
      const landed = await readTopic(dst, topic);
      assert.equal(landed.filter((r) => r.partition === 0).length, 0, 'nothing of partition 0 written');
      // Refused once, never retried: a retry cannot change the answer.
      const retried = daemon.logs.filter(
        (l) =>
          l['msg'] === 'write to target failed; retrying' && JSON.stringify(l).includes('INVALID_TIMESTAMP'),
      );
      assert.equal(retried.length, 0, 'INVALID_TIMESTAMP was retried');
      assert.equal(await daemon.stop('SIGTERM'), 0);
    }),
  );
