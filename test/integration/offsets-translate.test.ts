// `kafka-mirror offsets translate` on real clusters: a source consumer group's committed offsets
// are translated to the target offsets where the same group continues. The expected answers come
// from reading the whole target partition (what a scan finds); the command itself only searches.
// The source has transaction markers and an aborted transaction (offset gaps), and one partition
// has records the flow has not replicated yet.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic, header, produceAll, readTopic, withAdmin } from '../support/kafka-client.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';

interface Translation {
  partition: number;
  sourceOffset: number | null;
  targetOffset: number | null;
  status: string;
  behind: number;
  skipped: number;
  probes: number;
}

test(
  'offsets translate finds where a group continues on the target, across gaps',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `orders-${randomUUID().slice(0, 6)}`;
    const flow = `dr-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 3 });
    const plain = (partition: number, from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        partition,
        key: String(from + i),
        value: `p${partition}-${from + i}`,
      }));

    // Partition 0: 300 records (offsets 0-299), a committed transaction of 100 (300-399, marker 400),
    // an aborted one of 20 (401-420, marker 421), then 100 more (422-521).
    await produceAll(src, topic, plain(0, 0, 300));
    const tx = src.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    const committedTx = await tx.transaction();
    await committedTx.send({ topic, messages: plain(0, 300, 100) });
    await committedTx.commit();
    const abortedTx = await tx.transaction();
    await abortedTx.send({ topic, messages: plain(0, 401, 20) });
    await abortedTx.abort();
    await tx.disconnect();
    await produceAll(src, topic, [...plain(0, 422, 100), ...plain(1, 0, 400), ...plain(2, 0, 10)]);
    const ends = await withAdmin(src, (a) => a.fetchTopicOffsets(topic));
    assert.deepEqual(
      ends.sort((a, b) => a.partition - b.partition).map((p) => Number(p.high)),
      [522, 400, 10],
      'the source partitions have the offsets the test relies on',
    );

    // The target topic exists already and partition 0 starts with records written on the target
    // itself (no provenance, as in active-active with identity names): the search steps over them.
    await createTopic(dst, topic, { partitions: 3 });
    await produceAll(
      dst,
      topic,
      plain(0, 0, 30).map((m) => ({ ...m, value: `local-${m.key}` })),
    );

    const config = flowConfig(source, target, { name: flow, topics: { include: [topic] } });
    const daemon = await startDaemon(t, config);
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    assert.equal(await daemon.stop(), 0);

    // Partition 2 gets 50 records the stopped flow does not copy.
    await produceAll(src, topic, plain(2, 10, 50));
    const group = `app-${randomUUID().slice(0, 6)}`;
    const positions = [
      { partition: 0, offset: 150 }, // a plain record
      { partition: 0, offset: 405 }, // inside the aborted transaction: continues at 422
      { partition: 1, offset: 400 }, // the end: everything consumed
      { partition: 2, offset: 60 }, // records 10-59 are not on the target yet
    ];
    const file = await configFile(t, config);
    const translate = async () => {
      const run = await runCli([
        'offsets',
        'translate',
        '--config',
        file,
        '--flow',
        flow,
        '--group',
        group,
        '--json',
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      return (JSON.parse(run.stdout) as { partitions: Translation[] }).partitions;
    };

    const onTarget = await readTopic(dst, topic);
    const targetPartition = (p: number) => onTarget.filter((r) => r.partition === p);
    /** The first target record replicated from `from` or later: what a scan finds. */
    const scan = (p: number, from: number) =>
      targetPartition(p).find((r) => Number(header(r, 'km.src.offset')) >= from);

    for (const position of positions.slice(0, 3)) {
      await withAdmin(src, (a) =>
        a.setOffsets({
          groupId: group,
          topic,
          partitions: [{ partition: position.partition, offset: String(position.offset) }],
        }),
      );
      const result = (await translate()).find((r) => r.partition === position.partition);
      assert.ok(result !== undefined);
      const expected = scan(position.partition, position.offset);
      if (expected === undefined) {
        assert.equal(result.status, 'caught-up', JSON.stringify(result));
        assert.equal(
          result.targetOffset,
          targetPartition(position.partition).length,
          'continues at the target end',
        );
      } else {
        assert.equal(result.status, 'translated', JSON.stringify(result));
        assert.equal(result.targetOffset, Number(expected.offset), JSON.stringify(result));
        // Every replicated record before the translated offset came from before the committed offset.
        const before = targetPartition(position.partition).filter(
          (r) => Number(r.offset) < Number(expected.offset) && header(r, 'km.src.offset') !== undefined,
        );
        assert.ok(before.length > 0);
        assert.ok(before.every((r) => Number(header(r, 'km.src.offset')) < position.offset));
      }
      assert.equal(result.sourceOffset, position.offset);
      assert.ok(result.probes <= 30, `${result.probes} probes: a search, not a scan`);
    }
    // The aborted transaction's records are not on the target; the group continues with offset 422.
    assert.equal(header(scan(0, 405) ?? onTarget[0]!, 'km.src.offset'), '422');

    const last = positions[3]!;
    await withAdmin(src, (a) =>
      a.setOffsets({
        groupId: group,
        topic,
        partitions: [{ partition: last.partition, offset: String(last.offset) }],
      }),
    );
    const all = await translate();
    const pending = all.find((r) => r.partition === 2);
    assert.deepEqual(
      pending && { status: pending.status, targetOffset: pending.targetOffset, behind: pending.behind },
      { status: 'pending', targetOffset: null, behind: 50 },
      'records before the committed offset are not on the target: no offset is guessed',
    );
    assert.deepEqual(
      all.map((r) => r.sourceOffset),
      [405, 400, 60],
      'every partition reports the group offset',
    );

    const text = await runCli(['offsets', 'translate', '--config', file, '--flow', flow, '--group', group]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${topic}\\s+2\\s+${topic}\\s+60\\s+-\\s+pending\\s+50$`, 'm'));
  },
);
