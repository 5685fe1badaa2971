// Config reload without a restart (issue 22; docs/operations.md, Reloading the configuration), on
// real brokers, with the daemon as operators run it (a child process, SIGHUP): under a running
// load, a flow gains a topic pattern and a new flow appears; the flow left alone never rebalances,
// nothing is lost, the process is the same throughout. A bad file changes nothing and says why.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { clusterPair } from '../support/cluster-pair.ts';
import { runCli, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { auditTopic, waitForCommitted, waitForRecords } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const clusters = clusterPair();

/** A config of these flows between the pair (`src` -> `dst`), fast commits and refreshes. */
function configOf(flows: Array<{ name: string; topics: string[] }>): object {
  return {
    clusters: {
      src: { bootstrapServers: [...clusters.source.bootstrapServers] },
      dst: { bootstrapServers: [...clusters.target.bootstrapServers] },
    },
    flows: flows.map(({ name, topics }) => ({
      name,
      source: 'src',
      target: 'dst',
      topics: { include: topics },
      commitIntervalMs: 1000,
      refreshIntervalMs: 2000,
    })),
    heartbeats: { enabled: false },
    shutdown: { timeoutMs: 20_000 },
  };
}

/** The members of a consumer group (ids), as the group coordinator sees them. */
async function members(kafka: KafkaClient, group: string): Promise<{ state: string; ids: string[] }> {
  const { groups } = await withAdmin(kafka, (admin) => admin.describeGroups([group]));
  const [described] = groups;
  return { state: described?.state ?? 'none', ids: (described?.members ?? []).map((m) => m.memberId).sort() };
}

const running = (daemon: DaemonProcess, flow: string) =>
  daemon.logs.filter((l) => l['msg'] === 'flow running' && l['flow'] === flow).length;

test(
  'SIGHUP under load: B gains a topic pattern and restarts alone, C starts, A never rebalances; nothing lost; same process',
  { timeout: 600_000 },
  clusters.guard(async (t) => {
    const { src, dst } = clusters;
    const id = randomUUID().slice(0, 6);
    const topic = { a: `reload-a-${id}`, b: `reload-b-${id}`, b2: `reload-b2-${id}`, c: `reload-c-${id}` };
    const [A, B, C] = [`A-${id}`, `B-${id}`, `C-${id}`];
    for (const name of Object.values(topic)) await createTopic(src, name, { partitions: 3 });
    // Already there for the new pattern and the new flow to find.
    await produceAll(src, topic.b2, numbered('b2', 0, 2000));
    await produceAll(src, topic.c, numbered('c', 0, 2000));

    const daemon = await startDaemon(
      t,
      configOf([
        { name: A, topics: [topic.a] },
        { name: B, topics: [topic.b] },
      ]),
    );
    const base = await daemon.adminUrl();
    await daemon.waitForLog((l) => l['msg'] === 'flow running' && l['flow'] === A);
    await daemon.waitForLog((l) => l['msg'] === 'flow running' && l['flow'] === B);

    // The load: 30 rounds of 250 records into A's and B's topics; the reload comes after round 10,
    // while records keep arriving.
    const ROUNDS = 30;
    const PER_ROUND = 250;
    let signalled!: () => void;
    const tenRounds = new Promise<void>((resolve) => (signalled = resolve));
    const load = (async () => {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all([
          produceAll(src, topic.a, numbered('a', round * PER_ROUND, PER_ROUND)),
          produceAll(src, topic.b, numbered('b', round * PER_ROUND, PER_ROUND)),
        ]);
        if (round === 10) signalled();
        await sleep(100);
      }
    })();
    await tenRounds;
    assert.ok(await waitForRecords(dst, topic.a, 1000, 120_000), "A's copy is under way");

    // Before: A's group, its members and joins, and the process.
    const groupA = `kafka-mirror.${A}`;
    const before = await members(src, groupA);
    assert.equal(before.state, 'Stable');
    assert.equal(before.ids.length, 1);
    const samples = await scrape(base);
    const joinsA = total(samples, 'kafka_mirror_rebalances_total', { flow: A });
    const startedAt = total(samples, 'process_start_time_seconds');
    const pid = daemon.child.pid;

    await daemon.rewriteConfig(
      configOf([
        { name: A, topics: [topic.a] },
        { name: B, topics: [topic.b, topic.b2] },
        { name: C, topics: [topic.c] },
      ]),
    );
    const signalledAt = Date.now();
    daemon.child.kill('SIGHUP');
    const reloaded = await daemon.waitForLog((l) => l['msg'] === 'config reloaded', 120_000);
    t.diagnostic(`reload took ${Date.now() - signalledAt} ms (B drained, C's cluster known)`);
    assert.equal(reloaded['result'], 'applied', JSON.stringify(reloaded));
    assert.deepEqual(reloaded['unchanged'], [A]);
    assert.deepEqual(reloaded['restarted'], [B]);
    assert.deepEqual(reloaded['added'], [C]);
    assert.deepEqual(reloaded['reasons'], { [B]: ['topics.include'] });
    await load;
    t.diagnostic(`load done ${Date.now() - signalledAt} ms after the SIGHUP`);

    // Every record of the load and of the topics found by the reload is on the target: each
    // flow's group has committed the whole topic.
    for (const [group, name] of [
      [groupA, topic.a],
      [`kafka-mirror.${B}`, topic.b],
      [`kafka-mirror.${B}`, topic.b2],
      [`kafka-mirror.${C}`, topic.c],
    ] as const)
      assert.ok(await waitForCommitted(src, group, name, 180_000), `${group} committed all of ${name}`);
    await eventually('B and C running', async () =>
      running(daemon, B) === 2 && running(daemon, C) === 1 ? true : undefined,
    );
    const audits: Record<string, { missing: number; duplicates: number; reordered: number }> = {};
    for (const [key, name] of Object.entries(topic)) audits[key] = await auditTopic(src, dst, name);
    t.diagnostic(`audits: ${JSON.stringify(audits)}`);
    for (const [key, audit] of Object.entries(audits)) {
      assert.equal(audit.missing, 0, `${key}: nothing lost`);
      assert.equal(audit.reordered, 0, `${key}: order kept`);
    }
    // A was never touched; C and B's new topic were read once. B drained (everything acknowledged
    // was committed) before it started again: at-least-once allows duplicates there, a clean drain
    // leaves none (docs/operations.md).
    assert.equal(audits['a']?.duplicates, 0);
    assert.equal(audits['b2']?.duplicates, 0);
    assert.equal(audits['c']?.duplicates, 0);
    assert.equal(audits['b']?.duplicates, 0, 'B drained before its restart: nothing read twice');

    // A never rebalanced: the same single member, no join since, started once.
    const after = await members(src, groupA);
    assert.deepEqual(after, before, "A's consumer group membership is unchanged");
    const later = await scrape(base);
    assert.equal(total(later, 'kafka_mirror_rebalances_total', { flow: A }), joinsA);
    assert.equal(running(daemon, A), 1, 'A was started once');
    assert.equal(total(later, 'kafka_mirror_flow_state', { flow: C, state: 'running' }), 1);
    assert.equal(total(later, 'kafka_mirror_config_reloads_total', { result: 'applied' }), 1);
    assert.equal(total(later, 'kafka_mirror_config_last_reload_successful'), 1);
    // The same process throughout.
    assert.equal(daemon.child.pid, pid);
    assert.equal(daemon.child.exitCode, null);
    assert.equal(total(later, 'process_start_time_seconds'), startedAt);
    assert.equal(await daemon.stop(), 0);
  }),
);

test(
  'a bad file on SIGHUP or `kafka-mirror reload` changes nothing: every problem logged and printed, result invalid, flows untouched',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const { src, dst } = clusters;
    const id = randomUUID().slice(0, 6);
    const name = `reload-bad-${id}`;
    const flow = `D-${id}`;
    await createTopic(src, name, { partitions: 2 });
    await produceAll(src, name, numbered('d', 0, 500));
    // Control on, so that `kafka-mirror reload` can ask the daemon (POST /control/reload).
    const dir = await mkdtemp(path.join(os.tmpdir(), 'km-reload-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, randomBytes(24).toString('hex'));
    const withControl = <T extends object>(c: T) => ({
      ...c,
      admin: { control: { enabled: true, tokens: [{ name: 'ops', file: tokenFile }] } },
    });
    const config = withControl(configOf([{ name: flow, topics: [name] }]));
    const daemon = await startDaemon(t, config);
    const base = await daemon.adminUrl();
    await daemon.waitForLog((l) => l['msg'] === 'flow running' && l['flow'] === flow);
    assert.ok(await waitForRecords(dst, name, 500, 120_000));
    const joins = total(await scrape(base), 'kafka_mirror_rebalances_total', { flow });

    const bad = withControl(
      configOf([{ name: flow, topics: [name] }]) as { flows: Array<Record<string, unknown>> },
    );
    bad.flows[0] = { ...bad.flows[0], naming: 'sideways', target: 'nowhere' };
    await daemon.rewriteConfig(bad);
    daemon.child.kill('SIGHUP');
    const refused = await daemon.waitForLog(
      (l) => l['msg'] === 'config reload refused: the file is invalid; nothing changed',
    );
    assert.equal(refused['result'], 'invalid');
    const problems = refused['problems'] as string[];
    assert.ok(
      problems.some((p) => p.startsWith('flows[0].naming')),
      JSON.stringify(problems),
    );
    assert.ok(
      problems.some((p) => p.startsWith('flows[0].target')),
      JSON.stringify(problems),
    );

    // Still running as before, and copying what comes next.
    await produceAll(src, name, numbered('d', 500, 500));
    assert.ok(await waitForCommitted(src, `kafka-mirror.${flow}`, name, 120_000));
    const samples = await scrape(base);
    assert.equal(total(samples, 'kafka_mirror_config_reloads_total', { result: 'invalid' }), 1);
    assert.equal(total(samples, 'kafka_mirror_config_last_reload_successful'), 0);
    assert.equal(total(samples, 'kafka_mirror_rebalances_total', { flow }), joins);
    assert.equal(running(daemon, flow), 1);
    assert.equal(daemon.logs.filter((l) => l['msg'] === 'config reloaded').length, 0);
    const audit = await auditTopic(src, dst, name);
    assert.equal(audit.missing, 0);

    // The same file through the command-line verb: refused by the daemon, exit 2, problems printed.
    const control = ['--admin', base, '--token-file', tokenFile];
    const refusedByVerb = await runCli(['reload', ...control]);
    assert.equal(refusedByVerb.code, 2, refusedByVerb.stdout + refusedByVerb.stderr);
    assert.match(refusedByVerb.stdout, /^reload invalid/);
    assert.match(refusedByVerb.stdout, /problem: flows\[0\]\.naming/);
    assert.equal(total(await scrape(base), 'kafka_mirror_config_reloads_total', { result: 'invalid' }), 2);
    assert.equal(running(daemon, flow), 1);

    // Fixed: the next SIGHUP applies it (nothing to change), and the gauge is 1 again.
    await daemon.rewriteConfig(config);
    daemon.child.kill('SIGHUP');
    const applied = await daemon.waitForLog((l) => l['msg'] === 'config reloaded');
    assert.deepEqual(applied['unchanged'], [flow]);
    assert.equal(total(await scrape(base), 'kafka_mirror_config_last_reload_successful'), 1);
    // And the verb on a good file: exit 0, what it did printed (nothing changed, the flow untouched).
    const appliedByVerb = await runCli(['reload', ...control, '--json']);
    assert.equal(appliedByVerb.code, 0, appliedByVerb.stdout + appliedByVerb.stderr);
    const report = JSON.parse(appliedByVerb.stdout) as { result: string; unchanged: string[] };
    assert.equal(report.result, 'applied');
    assert.deepEqual(report.unchanged, [flow]);
    assert.equal(total(await scrape(base), 'kafka_mirror_rebalances_total', { flow }), joins);
    assert.equal(running(daemon, flow), 1);
    assert.equal(await daemon.stop(), 0);
  }),
);

test(
  'reload.watch: writing the config file reloads it without a signal',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const { src } = clusters;
    const id = randomUUID().slice(0, 6);
    const [first, second] = [`reload-w1-${id}`, `reload-w2-${id}`];
    for (const name of [first, second]) await createTopic(src, name, { partitions: 1 });
    await produceAll(src, second, numbered('w', 0, 100));
    const [E, F] = [`E-${id}`, `F-${id}`];
    const watched = (flows: Array<{ name: string; topics: string[] }>) => ({
      ...configOf(flows),
      reload: { watch: true, debounceMs: 200 },
    });
    const daemon = await startDaemon(t, watched([{ name: E, topics: [first] }]));
    await daemon.waitForLog((l) => l['msg'] === 'watching the config file for changes');
    await daemon.rewriteConfig(
      watched([
        { name: E, topics: [first] },
        { name: F, topics: [second] },
      ]),
    );
    const reloaded = await daemon.waitForLog((l) => l['msg'] === 'config reloaded');
    assert.deepEqual(reloaded['added'], [F]);
    assert.deepEqual(reloaded['unchanged'], [E]);
    assert.ok(await waitForCommitted(src, `kafka-mirror.${F}`, second, 120_000), 'F copies its topic');
    assert.equal(
      daemon.logs.filter((l) => l['msg'] === 'config reloaded').length,
      1,
      'one change, one reload',
    );
    assert.equal(await daemon.stop(), 0);
  }),
);
