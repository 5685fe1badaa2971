// Failback reconciliation (issue 23, deliverable 3) on real brokers, active-active with identity
// names (config/active-active-identity.yaml). The flow us->asia runs; us takes plain records, a
// committed and an aborted transaction; the daemon is killed (SIGKILL) right after, and us takes
// more records the flow never copies: those are what us has and asia lacks. The applications fail
// over to asia and write there. `reconcile --dry-run` reports them and writes nothing;
// `reconcile` refuses while the flow runs (KM_FLOW_RUNNING), then copies them: every committed us
// record is on asia exactly once (by source partition and offset, key and value). A rerun copies
// nothing. `--reverse-flow asia->us` commits where the reverse flow starts; both flows then run,
// and us gets every new asia record once, nothing missing, nothing twice, and no reconciled record
// comes back (loop guard). With --to-topic the records go to a quarantine topic, once; reverse
// group offsets that differ from the computed start are refused (KM_REVERSE_START_CONFLICT).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { useClusterPair } from '../support/cluster-pair.ts';
import { configFile, runCli, startDaemon } from '../support/daemon.ts';
import {
  committedOn,
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
  type Consumed,
} from '../support/kafka-client.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

interface Report {
  records: number;
  partitions: Array<{ partition: number; records: number; first: number | null; last: number | null }>;
  reverse: { partitions: Array<{ partition: number; start: number; action: string }> } | null;
}

const FORWARD = 'us->asia';
const REVERSE = 'asia->us';
const GROUP = 'kafka-mirror.us-asia';
const REVERSE_GROUP = 'kafka-mirror.asia-us';

const records = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    partition: i % 2,
    key: `${prefix}-k${i}`,
    value: `${prefix}-v${i}`,
    headers: { trace: `${prefix}-t${i}` },
  }));

/** The records of `cluster`'s topic copied from `from` (km.src.cluster), by partition/offset: how many times each. */
function copiesOf(
  consumed: readonly Consumed[],
  from: string,
): Map<string, { count: number; value: string | null }> {
  const copies = new Map<string, { count: number; value: string | null }>();
  for (const r of consumed) {
    if (header(r, 'km.src.cluster') !== from) continue;
    const at = `${header(r, 'km.src.partition')}/${header(r, 'km.src.offset')}`;
    const seen = copies.get(at);
    copies.set(at, { count: (seen?.count ?? 0) + 1, value: r.value });
  }
  return copies;
}

/** Every committed record written on the cluster itself (no provenance) is copied exactly once, value for value. */
function assertExactlyOnce(native: readonly Consumed[], copies: ReturnType<typeof copiesOf>, what: string) {
  const own = native.filter((r) => header(r, 'km.src.cluster') === undefined);
  for (const r of own) {
    const copy = copies.get(`${r.partition}/${r.offset}`);
    assert.equal(
      copy?.count,
      1,
      `${what}: ${r.partition}/${r.offset} (${r.value}) copied ${copy?.count ?? 0} time(s)`,
    );
    assert.equal(copy.value, r.value, `${what}: ${r.partition}/${r.offset}`);
  }
  assert.equal(copies.size, own.length, `${what}: copies of records that are not there`);
}

test(
  'reconcile copies what the old primary has and the new one lacks exactly once, and failback copies the new writes once without loops',
  { timeout: 240_000 },
  async (t) => {
    const {
      source,
      target,
      src: us,
      dst: asia,
    } = await useClusterPair(t, {
      source: { name: 'us' },
      target: { name: 'asia' },
    });
    const topic = `orders-${randomUUID().slice(0, 6)}`;
    await Promise.all([
      createTopic(us, topic, { partitions: 2 }),
      createTopic(asia, topic, { partitions: 2 }),
    ]);
    const flow = (from: string, to: string) => ({
      source: from,
      target: to,
      topics: { include: [topic] },
      naming: 'identity',
      commitIntervalMs: 1000,
      refreshIntervalMs: 2000,
    });
    const both = {
      clusters: {
        us: { bootstrapServers: [...source.bootstrapServers] },
        asia: { bootstrapServers: [...target.bootstrapServers] },
      },
      consumer: { sessionTimeoutMs: 6000 },
      flows: [flow('us', 'asia'), flow('asia', 'us')],
    };
    const file = await configFile(t, both);
    const reconcile = async (...args: string[]) => {
      const run = await runCli(['reconcile', '--config', file, '--flow', FORWARD, ...args]);
      t.diagnostic(`reconcile ${args.join(' ')}: exit ${run.code}\n${run.stdout}${run.stderr}`);
      return {
        ...run,
        report: args.includes('--json') && run.code === 0 ? (JSON.parse(run.stdout) as Report) : undefined,
      };
    };

    // Before the failover: active-passive us -> asia.
    const daemon = await startDaemon(t, { ...both, flows: [flow('us', 'asia')] });
    await produceAll(us, topic, records('a', 60));
    await everyRecordCommitted(us, GROUP, topic);
    const running = await reconcile();
    assert.equal(running.code, 1);
    assert.match(
      running.stderr,
      /flow us->asia is running: its group kafka-mirror\.us-asia has 1 active member/,
    );
    // A committed and an aborted transaction, then plain records; the daemon dies at once.
    const tx = us.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const [outcome, prefix] of [
      ['commit', 'tc'],
      ['abort', 'ta'],
    ] as const) {
      const transaction = await tx.transaction();
      await transaction.send({ topic, messages: records(prefix, 20) });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    }
    await tx.disconnect();
    await produceAll(us, topic, records('b', 20));
    await daemon.stop('SIGKILL');
    await produceAll(us, topic, records('c', 30)); // never copied by the flow
    // The failover: applications write on asia.
    await produceAll(asia, topic, records('n', 40));
    await eventually('the killed daemon to leave its group', async () =>
      (await withAdmin(us, (a) => a.describeGroups([GROUP]))).groups[0]?.state === 'Empty' ? true : undefined,
    );

    // Dry run: reports, writes nothing (asia's ends, the group's offsets).
    const ends = async () => (await withAdmin(asia, (a) => a.fetchTopicOffsets(topic))).map((p) => p.high);
    const [asiaBefore, groupBefore] = [await ends(), await committedOn(us, GROUP, topic)];
    const dry = await reconcile('--dry-run', '--reverse-flow', REVERSE, '--json');
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(
      (dry.report?.records ?? 0) >= 30,
      'at least the records written after the kill would be copied',
    );
    assert.deepEqual(await ends(), asiaBefore);
    assert.deepEqual(await committedOn(us, GROUP, topic), groupBefore);
    assert.deepEqual(
      await committedOn(asia, REVERSE_GROUP, topic),
      new Map([
        [0, -1],
        [1, -1],
      ]),
    );
    const dryText = await reconcile('--dry-run');
    assert.equal(dryText.code, 0, dryText.stderr);
    const wouldCopy = `would copy ${dry.report?.records} record`;
    assert.match(
      dryText.stdout,
      new RegExp(`^flow us->asia \\(dry run: nothing written\\): ${wouldCopy}`, 'm'),
    );

    const done = await reconcile('--reverse-flow', REVERSE);
    assert.equal(done.code, 0, done.stderr);
    const copied = new RegExp(`^flow us->asia: copied ${dry.report?.records} record`, 'm');
    assert.match(done.stdout, copied, 'the dry run reported what was copied');
    const usRecords = await readTopic(us, topic);
    assert.equal(usRecords.length, 60 + 20 + 20 + 30, 'us read_committed: no aborted record');
    assertExactlyOnce(usRecords, copiesOf(await readTopic(asia, topic), 'us'), 'us on asia after reconcile');
    // The flow's group moved to us's end; the reverse group starts at asia's first new record.
    const usEnds = (await withAdmin(us, (a) => a.fetchTopicOffsets(topic))).map((p) => Number(p.high));
    assert.deepEqual([...(await committedOn(us, GROUP, topic)).values()], usEnds);
    // A rerun copies nothing; the reverse start is already in place: asia's first new record.
    const again = await reconcile('--reverse-flow', REVERSE, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.report?.records, 0);
    assert.deepEqual(
      again.report?.reverse?.partitions.map((p) => p.action),
      ['unchanged', 'unchanged'],
    );
    const asiaRecords = await readTopic(asia, topic);
    for (const p of again.report?.reverse?.partitions ?? []) {
      const firstNew = asiaRecords.find((r) => r.partition === p.partition && r.value?.startsWith('n-'));
      assert.equal(p.start, Number(firstNew?.offset), `reverse start of partition ${p.partition}`);
    }

    // Failback: both flows run. us gets the 40 asia writes once; nothing of us comes back.
    const failback = await startDaemon(t, both);
    await everyRecordCommitted(asia, REVERSE_GROUP, topic, 120_000);
    await everyRecordCommitted(us, GROUP, topic, 120_000);
    const usAfter = await readTopic(us, topic);
    const asiaAfter = await readTopic(asia, topic);
    assertExactlyOnce(asiaAfter, copiesOf(usAfter, 'asia'), 'asia on us after failback');
    assertExactlyOnce(usAfter, copiesOf(asiaAfter, 'us'), 'us on asia after failback');
    assert.equal(usAfter.length, 130 + 40);
    assert.equal(asiaAfter.length, 130 + 40);
    assert.equal(await failback.stop('SIGTERM'), 0);
  },
);

test(
  'reconcile --to-topic writes the missing records to a quarantine topic once, with provenance, and leaves the remote topic alone; a differing reverse start is refused',
  { timeout: 180_000 },
  async (t) => {
    const {
      source,
      target,
      src: us,
      dst: asia,
    } = await useClusterPair(t, {
      source: { name: 'us' },
      target: { name: 'asia' },
    });
    const topic = `orders-${randomUUID().slice(0, 6)}`;
    const quarantine = `${topic}.quarantine`;
    await Promise.all([
      createTopic(us, topic, { partitions: 2 }),
      createTopic(asia, topic, { partitions: 2 }),
      createTopic(asia, quarantine, { partitions: 2 }),
    ]);
    const config = {
      clusters: {
        us: { bootstrapServers: [...source.bootstrapServers] },
        asia: { bootstrapServers: [...target.bootstrapServers] },
      },
      consumer: { sessionTimeoutMs: 6000 },
      flows: [
        {
          source: 'us',
          target: 'asia',
          topics: { include: [topic] },
          naming: 'identity',
          commitIntervalMs: 1000,
        },
      ],
    };
    // The CLI's config has the way back too (the daemon here runs only us -> asia).
    const back = { source: 'asia', target: 'us', topics: { include: [topic] }, naming: 'identity' };
    const file = await configFile(t, { ...config, flows: [...config.flows, back] });
    const daemon = await startDaemon(t, config);
    await produceAll(us, topic, records('a', 40));
    await everyRecordCommitted(us, GROUP, topic);
    assert.equal(await daemon.stop('SIGTERM'), 0);
    await produceAll(us, topic, records('c', 30));
    await produceAll(asia, topic, records('n', 10));
    const before = await readTopic(asia, topic);
    const run = async (...args: string[]) => {
      const cli = await runCli(['reconcile', '--config', file, '--flow', FORWARD, ...args]);
      t.diagnostic(`reconcile ${args.join(' ')}: exit ${cli.code}\n${cli.stdout}${cli.stderr}`);
      return cli;
    };
    const missing = await run('--to-topic', 'no-such-topic');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /reconcile refused: topic no-such-topic does not exist on asia/);
    for (const expected of [30, 0]) {
      const done = await run('--to-topic', quarantine, '--json');
      assert.equal(done.code, 0, done.stderr);
      assert.equal((JSON.parse(done.stdout) as Report).records, expected, 'copied once, then nothing');
    }
    // The remote topic is as it was; the quarantine holds exactly the 30 records, with provenance.
    assert.deepEqual(await readTopic(asia, topic), before);
    const quarantined = await readTopic(asia, quarantine);
    const usRecords = await readTopic(us, topic);
    const copies = copiesOf(quarantined, 'us');
    assert.equal(copies.size, 30);
    for (const r of usRecords.filter((u) => u.value?.startsWith('c-'))) {
      assert.deepEqual(copies.get(`${r.partition}/${r.offset}`), { count: 1, value: r.value });
    }
    assert.deepEqual([...(await committedOn(us, GROUP, topic)).values()], [35, 35]);

    // The reverse group already has an offset that differs: both are printed, nothing is written.
    await withAdmin(asia, (a) =>
      a.setOffsets({ groupId: REVERSE_GROUP, topic, partitions: [{ partition: 0, offset: '3' }] }),
    );
    const conflict = await run('--to-topic', quarantine, '--reverse-flow', REVERSE);
    assert.equal(conflict.code, 1);
    assert.match(
      conflict.stderr,
      new RegExp(
        `group kafka-mirror\\.asia-us already has committed offsets that differ from the reverse start \\(${topic}/0: committed 3, computed 20\\)`,
      ),
    );
    assert.deepEqual(
      await committedOn(asia, REVERSE_GROUP, topic),
      new Map([
        [0, 3],
        [1, -1],
      ]),
    );
  },
);
