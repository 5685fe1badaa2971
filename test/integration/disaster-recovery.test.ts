// Disaster recovery on real clusters (issue 9): a consumer group that fails over to the target
// continues exactly where it was (no gap, no replay) across compaction gaps and transaction
// markers; group offset sync only moves groups forward and never touches a group with members
// on the target.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { compactedTopicWithGaps, compactionRound } from '../support/compacted-topic.ts';
import {
  committedOn,
  consumeAsGroup,
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
} from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

test(
  'planned failover: the group continues on the target with no gap and no replay, across compaction gaps and transaction markers',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t, {
      source: { brokerConfig: { 'log.cleaner.backoff.ms': 500 } },
    });
    const topic = `ledger-${randomUUID().slice(0, 6)}`;
    const flow = `dr-${randomUUID().slice(0, 6)}`;
    const group = `billing-${randomUUID().slice(0, 6)}`;
    await compactedTopicWithGaps(src, topic);
    // Transaction markers and an aborted transaction, in both partitions.
    const tx = src.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const outcome of ['commit', 'abort', 'commit'] as const) {
      const transaction = await tx.transaction();
      await transaction.send({
        topic,
        messages: Array.from({ length: 30 }, (_, i) => ({
          partition: i % 2,
          key: `t${i}`,
          value: `${outcome}-${i}`,
        })),
      });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    }
    await tx.disconnect();
    await produceAll(src, topic, compactionRound(6));

    // What the source holds now, read_committed, and where the group stands: in partition 0 at an
    // offset compaction removed, in partition 1 at a gap after its middle (a transaction marker or
    // an aborted record).
    const onSource = await readTopic(src, topic);
    const offsetsOf = (p: number) => onSource.filter((r) => r.partition === p).map((r) => Number(r.offset));
    const compacted = Math.floor((offsetsOf(0)[0] ?? 0) / 2);
    const p1 = offsetsOf(1);
    const middle = p1[Math.floor(p1.length / 2)] ?? 0;
    const gap = p1.findIndex((o, i) => i > 0 && o >= middle && o - (p1[i - 1] ?? o) > 1);
    assert.ok(
      compacted > 0 && !offsetsOf(0).includes(compacted),
      'partition 0 starts with a compacted range',
    );
    assert.ok(gap > 0, 'partition 1 has a gap after its middle');
    const positions = [
      { partition: 0, offset: compacted },
      { partition: 1, offset: (p1[gap - 1] ?? 0) + 1 },
    ];
    await withAdmin(src, (a) =>
      a.setOffsets({
        groupId: group,
        topic,
        partitions: positions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
      }),
    );
    const consumedOnSource = onSource.filter((r) => Number(r.offset) < (positions[r.partition]?.offset ?? 0));

    const config = flowConfig(source, target, { name: flow, topics: { include: [topic] } });
    const daemon = await startDaemon(t, config);
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    assert.equal(await daemon.stop(), 0);

    const file = await configFile(t, config);
    const failover = (...flags: string[]) =>
      runCli(['offsets', 'failover', '--config', file, '--flow', flow, '--group', group, ...flags]);
    const run = await failover('--json');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout) as { outcome: string; committed: unknown[] };
    assert.equal(result.outcome, 'synced');
    assert.equal(result.committed.length, 2);

    // The same group on the target, from the committed offsets to the end.
    const consumedOnTarget = await consumeAsGroup(dst, group, topic);
    const id = (partition: number, sourceOffset: string | undefined) => `${partition}/${sourceOffset}`;
    const seen = new Map<string, number>();
    for (const r of consumedOnSource)
      seen.set(id(r.partition, r.offset), (seen.get(id(r.partition, r.offset)) ?? 0) + 1);
    for (const r of consumedOnTarget) {
      const key = id(r.partition, header(r, 'km.src.offset'));
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const missing = onSource.filter((r) => seen.get(id(r.partition, r.offset)) === undefined);
    const twice = [...seen].filter(([, n]) => n > 1);
    t.diagnostic(
      `source ${onSource.length} records; consumed ${consumedOnSource.length} there and ${consumedOnTarget.length} on the target`,
    );
    assert.deepEqual(
      missing.map((r) => id(r.partition, r.offset)),
      [],
      'no record skipped',
    );
    assert.deepEqual(twice, [], 'no record consumed twice');
    assert.equal(seen.size, onSource.length, 'nothing else consumed');

    // Once more: nothing moves (never backwards, and the group is where it was).
    const again = await failover('--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { outcome: string }).outcome, 'current');

    // With a member of the group connected on the target, failover refuses and writes nothing.
    const member = dst.consumer({ groupId: group, sessionTimeout: 10_000 });
    await member.connect();
    await member.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
    await member.run({ autoCommit: false, eachMessage: async () => {} });
    await joined;
    const before = await committedOn(dst, group, topic);
    const refused = await failover();
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /active member/);
    await member.disconnect();
    assert.deepEqual(await committedOn(dst, group, topic), before);
  },
);

test(
  'group offset sync moves selected groups forward only, never touches a group active on the target; migrate-status says when the target has caught up',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `events-${randomUUID().slice(0, 6)}`;
    const flow = `sync-${randomUUID().slice(0, 6)}`;
    const suffix = randomUUID().slice(0, 6);
    const [alpha, beta, other] = [`g-alpha-${suffix}`, `g-beta-${suffix}`, `other-${suffix}`];
    await createTopic(src, topic, { partitions: 2 });
    await produceAll(
      src,
      topic,
      Array.from({ length: 1000 }, (_, i) => ({ partition: i % 2, key: String(i), value: `e-${i}` })),
    );
    const commitOnSource = (groupId: string, partitions: Array<[number, number]>) =>
      withAdmin(src, (a) =>
        a.setOffsets({
          groupId,
          topic,
          partitions: partitions.map(([partition, offset]) => ({ partition, offset: String(offset) })),
        }),
      );
    await commitOnSource(alpha, [
      [0, 100],
      [1, 200],
    ]);
    await commitOnSource(beta, [[0, 50]]);
    await commitOnSource(other, [[0, 10]]);

    const config = flowConfig(source, target, {
      name: flow,
      topics: { include: [topic] },
      groupOffsetSync: { enabled: true, include: [`g-.*-${suffix}`], intervalMs: 1000 },
    });
    const daemon = await startDaemon(t, config);
    const base = await daemon.adminUrl();
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    // The target offset of the record replicated from each source offset (a scan, for the check).
    const onTarget = await readTopic(dst, topic);
    const targetOffsetOf = async (partition: number, sourceOffset: number) =>
      Number(
        onTarget.find((r) => r.partition === partition && Number(header(r, 'km.src.offset')) >= sourceOffset)
          ?.offset,
      );
    await eventually('alpha and beta synced to the target', async () => {
      const [a, b] = [await committedOn(dst, alpha, topic), await committedOn(dst, beta, topic)];
      return a.get(0) === (await targetOffsetOf(0, 100)) &&
        a.get(1) === (await targetOffsetOf(1, 200)) &&
        b.get(0) === (await targetOffsetOf(0, 50))
        ? true
        : undefined;
    });
    const passes = async (outcome: string) =>
      total(await scrape(base), 'kafka_mirror_group_offset_syncs_total', { flow, outcome });
    /** Waits until the daemon has made `n` more passes with `outcome`. */
    const afterPasses = async (outcome: string, n: number) => {
      const start = await passes(outcome);
      await eventually(`${n} more ${outcome} passes`, async () =>
        (await passes(outcome)) >= start + n ? true : undefined,
      );
    };

    // Forward only: alpha consumed further on the target; its source position moving on does not
    // pull it back.
    await withAdmin(dst, (a) =>
      a.setOffsets({ groupId: alpha, topic, partitions: [{ partition: 0, offset: '300' }] }),
    );
    await commitOnSource(alpha, [
      [0, 150],
      [1, 220],
    ]);
    await eventually('alpha partition 1 moved forward', async () =>
      (await committedOn(dst, alpha, topic)).get(1) === (await targetOffsetOf(1, 220)) ? true : undefined,
    );
    await afterPasses('current', 2);
    assert.equal((await committedOn(dst, alpha, topic)).get(0), 300, 'never moved backwards');

    // Active on the target: beta has a member there; its source position moves, the target's does not.
    const member = dst.consumer({ groupId: beta, sessionTimeout: 10_000 });
    await member.connect();
    await member.subscribe({ topic, fromBeginning: false });
    const joined = new Promise<void>((resolve) => member.on(member.events.GROUP_JOIN, () => resolve()));
    await member.run({ autoCommit: false, eachMessage: async () => {} });
    await joined;
    await commitOnSource(beta, [[0, 400]]);
    await afterPasses('active', 3);
    assert.equal(
      (await committedOn(dst, beta, topic)).get(0),
      await targetOffsetOf(0, 50),
      'untouched while active',
    );
    await member.disconnect();
    await eventually('beta synced once its member left', async () =>
      (await committedOn(dst, beta, topic)).get(0) === (await targetOffsetOf(0, 400)) ? true : undefined,
    );

    // Not selected: never written on the target.
    assert.deepEqual(
      [...(await committedOn(dst, other, topic)).values()].filter((o) => o >= 0),
      [],
    );
    const samples = await scrape(base);
    assert.equal(total(samples, 'kafka_mirror_group_offset_sync_groups', { flow }), 2);
    assert.equal(total(samples, 'kafka_mirror_group_offset_synced_groups', { flow }), 2);
    assert.equal(
      total(samples, 'kafka_mirror_group_offset_translation_lag_records', { flow, group: alpha }),
      0,
    );
    assert.ok(
      total(samples, 'kafka_mirror_group_offset_synced_timestamp_seconds', { flow, group: beta }) > 0,
    );
    assert.equal(await daemon.stop(), 0);

    // migrate-status: ready now (alpha is ahead on partition 0, which counts as synced) ...
    const file = await configFile(t, config);
    const status = async () => {
      const run = await runCli(['migrate-status', '--config', file, '--flow', flow, '--json']);
      const report = JSON.parse(run.stdout) as {
        ready: boolean;
        topics: Array<{
          behind: number;
          configDifferences: Record<string, unknown>;
          groups: { total: number; synced: number };
        }>;
      };
      return { code: run.code, report, topic: report.topics[0] };
    };
    const ready = await status();
    assert.equal(ready.code, 0, JSON.stringify(ready.report));
    assert.deepEqual(ready.topic?.groups, { total: 2, synced: 2, behind: [] });
    // ... and not once the source has records the stopped flow did not copy and a config differs.
    await produceAll(src, topic, [{ partition: 1, key: 'late', value: 'late' }]);
    await withAdmin(dst, (a) =>
      a.alterConfigs({
        validateOnly: false,
        resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      }),
    );
    const notReady = await status();
    assert.equal(notReady.code, 1);
    assert.equal(notReady.report.ready, false);
    assert.equal(notReady.topic?.behind, 1);
    assert.deepEqual(notReady.topic?.configDifferences, { 'retention.ms': [null, '3600000'] });
  },
);

test(
  'unplanned failover: with the source frozen, the group continues on the target from its last synced offsets; nothing is missed and the replay is bounded by the sync interval',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `payments-${randomUUID().slice(0, 6)}`;
    const flow = `dr-${randomUUID().slice(0, 6)}`;
    const group = `payments-app-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 2 });
    await produceAll(
      src,
      topic,
      Array.from({ length: 40_000 }, (_, i) => ({ partition: i % 2, key: String(i), value: `pay-${i}` })),
    );
    const SYNC_MS = 2000;
    const COMMIT_MS = 500;
    const daemon = await startDaemon(
      t,
      flowConfig(source, target, {
        name: flow,
        topics: { include: [topic] },
        groupOffsetSync: { enabled: true, include: [group], intervalMs: SYNC_MS },
      }),
    );
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);

    // The application consumes on the source at its own pace, committing every 500 ms.
    const processed: Array<{ id: string; at: number }> = [];
    let frozen = false;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const app = src.consumer({ groupId: group, sessionTimeout: 10_000 });
    await app.connect();
    await app.subscribe({ topic, fromBeginning: true });
    await app.run({
      autoCommitInterval: COMMIT_MS,
      eachMessage: async ({ partition, message }) => {
        if (frozen) return released; // the datacenter is gone: nothing more happens here
        processed.push({ id: `${partition}/${message.offset}`, at: Date.now() });
        await sleep(1);
      },
    });
    await eventually('the application consumed for a while', async () =>
      processed.length >= 5000 ? true : undefined,
    );
    // The source datacenter goes away: its broker freezes (SIGSTOP), the application with it.
    const pid = source.pid(source.nodeIds[0] ?? 1);
    assert.ok(pid !== undefined);
    frozen = true;
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    t.after(() => {
      try {
        process.kill(pid, 'SIGCONT'); // before the cluster's own cleanup stops it
      } catch {
        // already gone
      }
    });

    const consumedOnTarget = await consumeAsGroup(dst, group, topic);
    const seenOnSource = new Set(processed.map((p) => p.id));
    const onTarget = await readTopic(dst, topic);
    const replayed = consumedOnTarget.filter((r) =>
      seenOnSource.has(`${r.partition}/${header(r, 'km.src.offset')}`),
    ).length;
    const reached = new Set(consumedOnTarget.map((r) => `${r.partition}/${header(r, 'km.src.offset')}`));
    const missed = onTarget.filter((r) => {
      const id = `${r.partition}/${header(r, 'km.src.offset')}`;
      return !seenOnSource.has(id) && !reached.has(id);
    });
    // At most what the application consumed in one sync interval, its commit interval and the
    // time one sync pass takes (2 s allowed), before the freeze.
    const windowMs = SYNC_MS + COMMIT_MS + 2000;
    const bound = processed.filter((p) => p.at >= frozenAt - windowMs).length;
    t.diagnostic(
      `processed on the source ${processed.length}; on the target ${consumedOnTarget.length}, of which replayed ${replayed} (bound ${bound}: consumed in the last ${windowMs} ms)`,
    );
    assert.deepEqual(
      missed.slice(0, 5).map((r) => `${r.partition}/${header(r, 'km.src.offset')}`),
      [],
      'nothing missed',
    );
    assert.ok(replayed <= bound, `replayed ${replayed} > ${bound}`);
    assert.ok(consumedOnTarget.length > 0, 'the group continued on the target');
    process.kill(pid, 'SIGCONT');
    release();
    await daemon.stop('SIGKILL');
    await app.disconnect().catch(() => {});
  },
);
