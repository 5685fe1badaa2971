// Day-2 control of a running daemon on real brokers (issue 22): `kafka-mirror pause` stops a flow's
// fetching without a rebalance and `resume` lets it go on with nothing lost; a partition halted by
// a real refusal (a record above the target topic's max.message.bytes) is resumed by
// `kafka-mirror resume-partition` once the cause is fixed, without a restart or a rebalance, and the
// refused record and everything after it arrive. One daemon process throughout each test (same pid).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { clusterPair } from '../support/cluster-pair.ts';
import { flowConfig, runCli, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import {
  createTopic,
  numberedIn,
  produceAll,
  produceEach,
  readTopic,
  withAdmin,
} from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { auditTopic, endOffsetTotal, waitForRecords } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const clusters = clusterPair();

const TOKEN = randomBytes(24).toString('hex');

interface FlowStatus {
  name: string;
  state: string;
  ready: boolean;
  lagRecords: number;
  lagRefreshedAt: string | null;
}

async function tokenFile(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'km-control-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'token');
  await writeFile(file, `${TOKEN}\n`);
  return file;
}

async function daemonFor(
  t: TestContext,
  topic: string,
  include = [topic],
): Promise<{ daemon: DaemonProcess; file: string; admin: string }> {
  const file = await tokenFile(t);
  const daemon = await startDaemon(
    t,
    flowConfig(
      clusters.source,
      clusters.target,
      // No periodic topic sync during the test: a new topic is picked up by the refresh verb only.
      { name: topic, topics: { include }, refreshIntervalMs: 600_000 },
      {
        heartbeats: { enabled: false },
        metrics: { lagIntervalMs: 1000 },
        admin: { control: { enabled: true, tokens: [{ name: 'ops', file }] } },
      },
    ),
  );
  return { daemon, file, admin: await daemon.adminUrl() };
}

async function flowStatus(admin: string, flow: string): Promise<FlowStatus> {
  const status = (await (await fetch(`${admin}/status`)).json()) as { flows: FlowStatus[] };
  const found = status.flows.find((f) => f.name === flow);
  assert.ok(found !== undefined, flow);
  return found;
}

const rebalances = async (admin: string, flow: string) =>
  total(await scrape(admin), 'kafka_mirror_rebalances_total', { flow });

/** Two lag refreshes of the flow after now: the daemon has looked at the source since. */
async function twoLagRefreshes(admin: string, flow: string): Promise<FlowStatus> {
  let seen = (await flowStatus(admin, flow)).lagRefreshedAt;
  for (let i = 0; i < 2; i++) {
    const before = seen;
    await eventually('a lag refresh', async () => {
      seen = (await flowStatus(admin, flow)).lagRefreshedAt;
      return seen !== before ? true : undefined;
    });
  }
  return flowStatus(admin, flow);
}

const alive = (daemon: DaemonProcess) => daemon.child.exitCode === null && daemon.child.signalCode === null;

test(
  'pause holds a flow without a rebalance while the source grows, and across a rebalance a refresh causes; resume copies everything, nothing lost or reordered',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const topic = `pause-${randomUUID().slice(0, 6)}`;
    const { src, dst } = clusters;
    await createTopic(src, topic, { partitions: 3 });
    const load = (from: number) => [0, 1, 2].flatMap((p) => numberedIn(p, from + p * 10_000, 100));
    await produceAll(src, topic, load(0));
    const { daemon, file, admin } = await daemonFor(t, topic, [`${topic}(-b)?`]);
    const pid = daemon.child.pid;
    assert.ok(await waitForRecords(dst, topic, 300, 120_000), 'the first load replicated');
    const joined = await rebalances(admin, topic);
    assert.ok(joined >= 1);

    const paused = await runCli(['pause', '--flow', topic, '--admin', admin, '--token-file', file]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, new RegExp(`${topic}: paused`));
    const held = await flowStatus(admin, topic);
    assert.equal(held.state, 'paused');
    assert.equal(held.ready, true, 'a paused flow is ready');
    assert.equal(total(await scrape(admin), 'kafka_mirror_flow_state', { flow: topic, state: 'paused' }), 1);
    // A fetch in flight at the pause ends within consumer.maxWaitMs (500 ms), before the next load.
    await twoLagRefreshes(admin, topic);
    const before = await endOffsetTotal(dst, topic);

    await produceAll(src, topic, load(100));
    // The daemon has seen the new records on the source (its lag counts them) and copied none.
    const lagging = await eventually('the new records counted as lag', async () => {
      const s = await twoLagRefreshes(admin, topic);
      return s.lagRecords === 300 ? s : undefined;
    });
    assert.equal(lagging.state, 'paused');
    assert.equal(await endOffsetTotal(dst, topic), before, 'nothing copied while paused');
    assert.equal(await rebalances(admin, topic), joined, 'no rebalance');

    // A rebalance something else causes (a new topic picked up by a refresh) keeps it paused.
    const second = `${topic}-b`;
    await createTopic(src, second, { partitions: 1 });
    await produceAll(src, second, numberedIn(0, 0, 50));
    const refreshed = await runCli(['refresh', '--flow', topic, '--admin', admin, '--token-file', file]);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    assert.match(refreshed.stdout, /2 topic\(s\) replicated/);
    const rejoined = await eventually('the rejoin for the new topic', async () => {
      const n = await rebalances(admin, topic);
      return n > joined ? n : undefined;
    });
    await eventually('the new topic counted as lag', async () =>
      (await twoLagRefreshes(admin, topic)).lagRecords === 350 ? true : undefined,
    );
    assert.equal((await flowStatus(admin, topic)).state, 'paused');
    assert.equal(await endOffsetTotal(dst, topic), before, 'nothing copied after the rebalance');
    assert.equal(await endOffsetTotal(dst, second), 0, 'nothing of the new topic copied');

    const again = await runCli(['pause', '--flow', topic, '--admin', admin, '--token-file', file]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /HTTP 409, KM_CONTROL_CONFLICT/);

    const resumed = await runCli(['resume', '--flow', topic, '--admin', admin, '--token-file', file]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(await waitForRecords(dst, topic, 600, 120_000), 'the second load replicated');
    assert.ok(await waitForRecords(dst, second, 50, 120_000), 'the new topic replicated');
    assert.equal((await flowStatus(admin, topic)).state, 'running');
    assert.equal(await rebalances(admin, topic), rejoined, 'no rebalance at resume');
    assert.equal(
      total(await scrape(admin), 'kafka_mirror_control_requests_total', { caller: 'ops', result: 'ok' }),
      3,
    );
    assert.equal(daemon.child.pid, pid);
    assert.ok(alive(daemon));
    assert.equal(await daemon.stop('SIGTERM'), 0);

    for (const name of [topic, second]) {
      const result = await auditTopic(src, dst, name);
      assert.equal(result.missing, 0, name);
      assert.equal(result.reordered, 0, name);
    }
  }),
);

test(
  'a partition halted by a record above max.message.bytes, resumed by resume-partition once the topic takes it: that record and all after it arrive, no rebalance, same process',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const topic = `halt-${randomUUID().slice(0, 6)}`;
    const { src, dst } = clusters;
    await createTopic(src, topic, { partitions: 2 });
    await createTopic(dst, topic, { partitions: 2, config: { 'max.message.bytes': '50000' } });
    // Partition 0: small records, one 64 KiB record (incompressible) the target refuses, then more.
    const big = { partition: 0, key: 'big', value: randomBytes(64 * 1024) };
    await produceEach(src, topic, [...numberedIn(0, 0, 10), big, ...numberedIn(0, 100, 10)]);
    await produceAll(src, topic, numberedIn(1, 200, 20));

    const { daemon, file, admin } = await daemonFor(t, topic);
    const pid = daemon.child.pid;
    const halt = await daemon.waitForLog(
      (l) =>
        l['msg'] === 'partition halted: the target refused a record; nothing past it will be committed' &&
        l['topic'] === topic,
      120_000,
    );
    assert.equal(halt['partition'], 0);
    assert.ok(await waitForRecords(dst, topic, 30, 60_000), 'the records before the big one and partition 1');
    const joined = await rebalances(admin, topic);

    // Refused while the cause is still there? No: first a bad token, then the fix.
    const wrong = await runCli([
      'resume-partition',
      '--flow',
      topic,
      '--admin',
      admin,
      '--token-file',
      '/dev/null',
    ]);
    assert.equal(wrong.code, 2, 'an empty token file is a usage error');
    await withAdmin(dst, (a) =>
      a.alterConfigs({
        validateOnly: false,
        resources: [
          { type: 2, name: topic, configEntries: [{ name: 'max.message.bytes', value: '1048576' }] },
        ],
      }),
    );
    const resumed = await runCli([
      'resume-partition',
      '--flow',
      topic,
      '--topic',
      topic,
      '--partition',
      '0',
      '--admin',
      admin,
      '--token-file',
      file,
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    // From the last acknowledged offset: the refused record was in a chunk with some before it.
    assert.match(resumed.stdout, new RegExp(`${topic}/0 from offset \\d+`));

    await eventually(
      'every record of partition 0 on the target',
      async () =>
        (await readTopic(dst, topic)).filter((r) => r.partition === 0).length >= 21 ? true : undefined,
      120_000,
    );
    assert.equal(total(await scrape(admin), 'kafka_mirror_halted_partitions', { flow: topic }), 0);
    assert.equal(await rebalances(admin, topic), joined, 'no rebalance');
    const none = await runCli(['resume-partition', '--flow', topic, '--admin', admin, '--token-file', file]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /KM_CONTROL_CONFLICT/);
    assert.equal(daemon.child.pid, pid);
    assert.ok(alive(daemon), 'the same process throughout');
    assert.equal(await daemon.stop('SIGTERM'), 0);

    const result = await auditTopic(src, dst, topic);
    t.diagnostic(`duplicates: ${result.duplicates}`);
    assert.equal(result.missing, 0);
    assert.equal(result.reordered, 0);
  }),
);
