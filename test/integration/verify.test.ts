// `kafka-mirror verify` on real clusters: a faithful replication passes (exit 0); records claimed
// as replicated but absent, and a target record whose value was changed, fail it (exit 3) and are
// counted exactly.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { verify } from '../../src/tools/verify.ts';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic, produceAll, withAdmin } from '../support/kafka-client.ts';
import { endOffsetTotal, everyRecordCommitted } from '../support/replication-checks.ts';

interface Report {
  ok: boolean;
  totals: Record<string, number>;
  topics: Array<{
    partitions: Array<{ partition: number; missing: number; altered: number; examples: unknown[] }>;
  }>;
}

test(
  'verify passes a faithful copy and counts missing and altered records',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `audited-${randomUUID().slice(0, 6)}`;
    const flow = `audit-${randomUUID().slice(0, 6)}`;
    const group = `kafka-mirror.${flow}`;
    await createTopic(src, topic, { partitions: 3 });
    await produceAll(
      src,
      topic,
      Array.from({ length: 3000 }, (_, i) => ({
        key: String(i),
        value: `order-${i}`,
        partition: i % 3,
        headers: { trace: `t-${i}` },
      })),
    );
    const config = flowConfig(source, target, { name: flow, topics: { include: [topic] } });
    const daemon = await startDaemon(t, config);
    // The source's own count: a producer retry under load can write a batch twice.
    const produced = await everyRecordCommitted(src, group, topic);
    assert.equal(await daemon.stop(), 0);
    const file = await configFile(t, config);

    const clean = await runCli(['verify', '--config', file]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, new RegExp(`^total\\s+${produced}\\s+${produced}(\\s+0){7}$`, 'm'));
    assert.match(clean.stdout, /OK: nothing missing, reordered or altered/);
    // Idleness is counted in fetches from the reader's group join, not in time alone: with an idle
    // time of 1 ms a slow join or a slow fetch (a loaded machine) still reads every partition to
    // its end instead of reporting its records missing.
    const eager = await verify(parseConfig(config), createLogger({ level: 'error' }), { flow, idleMs: 1 });
    assert.deepEqual(
      [eager.totals.checked, eager.totals.missing],
      [produced, 0],
      'an eager verify reads everything',
    );

    // 50 records the flow never copied, claimed as replicated by moving the group's offset.
    await produceAll(
      src,
      topic,
      Array.from({ length: 50 }, (_, i) => ({ key: `late-${i}`, value: 'x', partition: 1 })),
    );
    // One more on partition 2, and a copy of it on the target with its value changed.
    await produceAll(src, topic, [{ key: 'k', value: 'original', partition: 2 }]);
    const [p2] = (await withAdmin(src, (a) => a.fetchTopicOffsets(topic))).filter((p) => p.partition === 2);
    const tamperedOffset = Number(p2?.high) - 1;
    await produceAll(dst, topic, [
      {
        key: 'k',
        value: 'changed',
        partition: 2,
        headers: {
          'km.src.cluster': 'src',
          'km.src.topic': topic,
          'km.src.partition': '2',
          'km.src.offset': String(tamperedOffset),
        },
      },
    ]);
    const ends = await withAdmin(src, (a) => a.fetchTopicOffsets(topic));
    await withAdmin(src, (a) =>
      a.setOffsets({
        groupId: group,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      }),
    );
    assert.equal(await endOffsetTotal(src, topic), produced + 51);

    const failed = await runCli(['verify', '--config', file, '--flow', flow, '--json']);
    assert.equal(failed.code, 3, failed.stdout + failed.stderr);
    const report = JSON.parse(failed.stdout) as Report;
    assert.equal(report.ok, false);
    assert.equal(report.totals['checked'], produced + 51);
    assert.equal(report.totals['missing'], 50);
    assert.equal(report.totals['altered'], 1);
    const byPartition = report.topics[0]?.partitions ?? [];
    assert.deepEqual(
      byPartition.map((p) => [p.partition, p.missing, p.altered]),
      [
        [0, 0, 0],
        [1, 50, 0],
        [2, 0, 1],
      ],
    );
  },
);
