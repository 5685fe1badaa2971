// DR drills (issue 23, deliverable 4): `kafka-mirror drill --group G` translates the group's
// committed offsets as a failover would and compares a sample of target records from there with
// the source. On a faithful copy (headers, a committed, an aborted and a committed transaction, so
// offsets have gaps) it passes and touches no group on either cluster. Then the target is
// tampered with, as it could go wrong for real: (a) a record the flow did not write, carrying the
// provenance headers of the next source record and an altered value, lands on the target just
// before the flow copies that record (a stray writer, a restored backup); (b) DeleteRecords on the
// target past the group's translated position (records lost on the standby). The drill fails and
// names the partition and the reason. The daemon, drilling on its timer, shows pass then fail.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { useClusterPair } from '../support/cluster-pair.ts';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import { committedOn, createTopic, produceAll, readTopic, withAdmin } from '../support/kafka-client.ts';
import { get, scrape, total } from '../support/prometheus.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

interface Drilled {
  group: string | null;
  topic: string;
  partition: number;
  sourceOffset: number | null;
  targetOffset: number | null;
  translation: string;
  result: string;
  reason: string | null;
  checked: number;
  mismatched: number;
  mismatches: Array<{ reason: string; sourceOffset: number; targetOffset: number | null }>;
}
interface Report {
  flow: string;
  result: string;
  rpoRecords: number;
  checked: number;
  mismatched: number;
  partitions: Drilled[];
}

const GROUP = 'billing';

/** 15 records per partition (i % 2), each with two headers of its own. */
const plain = (from: number, count = 30) =>
  Array.from({ length: count }, (_, i) => ({
    partition: i % 2,
    key: `k${from + i}`,
    value: `v${from + i}`,
    headers: { trace: `t${from + i}`, tenant: i % 3 === 0 ? 'a' : 'b' },
  }));

test(
  'a DR drill passes on a faithful copy, touches no group, and fails naming an altered and a deleted record',
  { timeout: 180_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `drill-${randomUUID().slice(0, 6)}`;
    const flow = `drill-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 2 });
    // Per partition: 0-14 plain, 15-29 committed, 30 marker, 31-45 aborted, 46 marker,
    // 47-61 committed, 62 marker, 63-77 plain.
    await produceAll(src, topic, plain(0));
    const tx = src.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const [outcome, from] of [
      ['commit', 100],
      ['abort', 1000],
      ['commit', 150],
    ] as const) {
      const transaction = await tx.transaction();
      await transaction.send({ topic, messages: plain(from) });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    }
    await tx.disconnect();
    await produceAll(src, topic, plain(200));
    // The application's group consumed part of each partition on the source.
    await withAdmin(src, (a) =>
      a.setOffsets({
        groupId: GROUP,
        topic,
        partitions: [
          { partition: 0, offset: '20' },
          { partition: 1, offset: '25' },
        ],
      }),
    );
    const config = flowConfig(source, target, {
      name: flow,
      topics: { include: [topic] },
      drill: { intervalMs: 1000, groups: [GROUP], records: 40 },
    });
    const daemon = await startDaemon(t, config);
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    const file = await configFile(t, config);
    const drill = async (json: boolean) => {
      const run = await runCli([
        'drill',
        '--config',
        file,
        '--flow',
        flow,
        '--group',
        GROUP,
        ...(json ? ['--json'] : []),
      ]);
      t.diagnostic(`drill exit ${run.code}:\n${run.stdout}${run.stderr}`);
      return { ...run, report: json ? (JSON.parse(run.stdout) as Report) : undefined };
    };

    // A faithful copy: both partitions pass; the sample spans the markers and the aborted records.
    const passed = await drill(true);
    assert.equal(passed.code, 0, passed.stdout + passed.stderr);
    assert.equal(passed.report?.result, 'pass');
    assert.equal(passed.report?.rpoRecords, 0);
    for (const p of passed.report?.partitions ?? []) {
      assert.equal(p.result, 'pass', JSON.stringify(p));
      assert.equal(p.translation, 'translated');
      // From 20: 20-29, 47-61, 63-77; from 25: 25-29, 47-61, 63-77 (the end).
      assert.equal(
        p.checked,
        p.partition === 0 ? 40 : 35,
        `partition ${p.partition}: the sample was compared`,
      );
    }
    const text = await drill(false);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^flow ${flow}, group ${GROUP}: pass$`, 'm'));
    // Read only: the group's source offsets are as they were, and no group exists on the target.
    assert.deepEqual(
      await committedOn(src, GROUP, topic),
      new Map([
        [0, 20],
        [1, 25],
      ]),
    );
    assert.deepEqual((await withAdmin(dst, (a) => a.listGroups())).groups, []);
    // Without groups (none given, none in drill.groups): sample positions of the drill's own,
    // drill.records offsets back from the flow's frontier on every partition.
    const sampleConfig = flowConfig(source, target, {
      name: flow,
      topics: { include: [topic] },
      drill: { records: 40 },
    });
    const sampled = await runCli([
      'drill',
      '--config',
      await configFile(t, sampleConfig),
      '--flow',
      flow,
      '--json',
    ]);
    assert.equal(sampled.code, 0, sampled.stdout + sampled.stderr);
    const sampleReport = JSON.parse(sampled.stdout) as Report;
    assert.deepEqual(
      sampleReport.partitions.map((p) => [p.group, p.sourceOffset, p.result]),
      [
        [null, 38, 'pass'],
        [null, 38, 'pass'],
      ],
    );
    const admin = await daemon.adminUrl();
    await eventually('a drill of the daemon passed', async () => {
      const samples = await scrape(admin);
      return total(samples, 'kafka_mirror_drill_runs_total', { flow, result: 'pass' }) > 0 ? true : undefined;
    });

    // (a) A forged copy of the next source record (its provenance headers, another value) lands on
    // the target just before the flow writes the real one; the group consumes further meanwhile.
    const onTarget = await readTopic(dst, topic);
    const template = onTarget.filter((r) => r.partition === 0).at(-1);
    assert.ok(template !== undefined);
    const forgedHeaders = Object.fromEntries(
      template.headers.map(([k, v]) => [k, k === 'km.src.offset' ? '78' : (v?.toString() ?? '')]),
    );
    forgedHeaders['trace'] = 't300';
    forgedHeaders['tenant'] = 'a';
    const forgedAt = Number(
      (await withAdmin(dst, (a) => a.fetchTopicOffsets(topic))).find((p) => p.partition === 0)?.high,
    );
    await produceAll(dst, topic, [{ partition: 0, key: 'k300', value: 'altered', headers: forgedHeaders }]);
    await produceAll(src, topic, plain(300));
    await withAdmin(src, (a) =>
      a.setOffsets({ groupId: GROUP, topic, partitions: [{ partition: 0, offset: '60' }] }),
    );
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    const altered = await drill(true);
    assert.equal(altered.code, 1, altered.stdout + altered.stderr);
    assert.equal(altered.report?.result, 'fail');
    const [p0, p1] = altered.report?.partitions ?? [];
    assert.equal(p0?.result, 'fail');
    assert.equal(p0?.reason, 'value-differs');
    assert.equal(p0?.mismatched, 1);
    assert.deepEqual(p0?.mismatches[0], {
      reason: 'value-differs',
      sourceOffset: 78,
      targetOffset: forgedAt,
    });
    assert.equal(p1?.result, 'pass');

    // The daemon's drill sees it too: a failed run, the mismatch counted, a log line naming it.
    await eventually('a drill of the daemon failed', async () => {
      const samples = await scrape(admin);
      return total(samples, 'kafka_mirror_drill_runs_total', { flow, result: 'fail' }) > 0 &&
        total(samples, 'kafka_mirror_drill_mismatched_records', { flow }) === 1
        ? true
        : undefined;
    });
    const line = await daemon.waitForLog(
      (l) =>
        l['msg'] ===
        'DR drill failed: the target differs from the source, or a position could not be translated',
    );
    assert.match(
      JSON.stringify(line['partitions']),
      /"partition":0,"group":"billing","reason":"value-differs"/,
    );
    const status = JSON.parse((await get(admin, '/status')).body) as {
      flows: Array<{
        name: string;
        drill: { lastResult: string; lastSuccessAt: string | null; failing: unknown[] };
      }>;
    };
    const drillStatus = status.flows.find((f) => f.name === flow)?.drill;
    assert.equal(drillStatus?.lastResult, 'fail');
    assert.notEqual(drillStatus?.lastSuccessAt, null);
    assert.deepEqual(drillStatus?.failing, [{ topic, partition: 0, group: GROUP, reason: 'value-differs' }]);

    // (b) Records deleted on the target past the group's translated position on partition 1.
    const translatedAt = p1?.targetOffset ?? 0;
    await withAdmin(dst, async (a) => {
      await a.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs the leaders
      await a.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: String(translatedAt + 3) }] });
    });
    const deleted = await drill(true);
    assert.equal(deleted.code, 1);
    const q1 = deleted.report?.partitions[1];
    assert.equal(q1?.result, 'fail');
    assert.equal(q1?.translation, 'gap');
    assert.equal(q1?.reason, 'missing-on-target');
    assert.deepEqual(
      q1?.mismatches.map((m) => m.sourceOffset),
      [25, 26, 27],
      'the three committed source records deleted on the target are named',
    );
    const named = await drill(false);
    assert.match(named.stdout, /fail: missing-on-target at source offset 25/);

    // Still no group on the target but the one this test read it with (readTopic, above).
    const groups = (await withAdmin(dst, (a) => a.listGroups())).groups.map((g) => g.groupId);
    assert.deepEqual(
      groups.filter((g) => !g.startsWith('test-reader-')),
      [],
    );
    assert.equal(await daemon.stop(), 0);
  },
);
