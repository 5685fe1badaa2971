// The divergence report (issue 23, deliverable 2): a flow copies N1 records, is paused, the source
// takes N2 more (a committed transaction on partition 1, an aborted one on partition 2, so markers
// and aborted records sit among the offsets at risk), a lag refresh sees them, and the source is
// cut (its Toxiproxy refuses connections). `divergence --json` then reports, from the daemon's last
// lag refresh, exactly the offsets after the last one on the target up to the source's end per
// partition; once the source returns, `--list` names exactly the committed records the target
// lacks (no markers, no aborted records), as read independently from both clusters.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { useClusterPair } from '../support/cluster-pair.ts';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import {
  committedOn,
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
} from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

interface Partition {
  topic: string;
  partition: number;
  frontier: number | null;
  frontierTimestamp: number | null;
  sourceEnd: number;
  atRisk: number;
  sourceLastTimestamp: number | null;
  rpoSeconds: number;
  missing?: Array<{ offset: number; timestamp: number }>;
}
interface Report {
  flow: string;
  endsFrom: string;
  endsAt: string;
  partitions: Partition[];
  atRisk: number;
  rpoSeconds: number;
  missing: number | null;
}
interface FlowStatus {
  name: string;
  lagRefreshedAt: string | null;
  partitions: Array<{ partition: number; logEnd: number }>;
  recoveryPoint: { records: number; seconds: number } | null;
}

const plain = (partition: number, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ partition, key: `k${from + i}`, value: `v${from + i}` }));

async function transaction(
  src: Parameters<typeof produceAll>[0],
  topic: string,
  messages: ReturnType<typeof plain>,
  outcome: 'commit' | 'abort',
): Promise<void> {
  const tx = src.producer({
    transactionalId: `tx-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await tx.connect();
  const open = await tx.transaction();
  await open.send({ topic, messages });
  await (outcome === 'commit' ? open.commit() : open.abort());
  await tx.disconnect();
}

test(
  'divergence reports, with the source cut, exactly the offsets the target lacks; --list names exactly the missing records once it returns',
  { timeout: 240_000 },
  async (t) => {
    const { source, src, dst, target } = await useClusterPair(t, { source: { toxiproxy: true } });
    const topic = `divergence-${randomUUID().slice(0, 6)}`;
    const flow = `div-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 3 });
    // N1: plain records everywhere and a committed transaction on partition 1 (markers before the frontier).
    await produceAll(src, topic, [...plain(0, 0, 10), ...plain(1, 100, 6), ...plain(2, 200, 8)]);
    await transaction(src, topic, plain(1, 110, 4), 'commit');
    const token = await tokenFile(t);
    const config = flowConfig(
      source,
      target,
      { name: flow, topics: { include: [topic] } },
      {
        heartbeats: { enabled: false },
        metrics: { lagIntervalMs: 1000 },
        admin: { control: { enabled: true, tokens: [{ name: 'ops', file: token }] } },
      },
    );
    const daemon = await startDaemon(t, config);
    const admin = await daemon.adminUrl();
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    const paused = await runCli(['pause', '--flow', flow, '--admin', admin, '--token-file', token]);
    assert.equal(paused.code, 0, paused.stderr);

    // N2, not copied: plain records, a committed transaction on 1, an aborted one then plain records on 2.
    await produceAll(src, topic, plain(0, 20, 7));
    await transaction(src, topic, plain(1, 120, 3), 'commit');
    await transaction(src, topic, plain(2, 220, 5), 'abort');
    await produceAll(src, topic, plain(2, 230, 2));
    const ends = new Map(
      (await withAdmin(src, (a) => a.fetchTopicOffsets(topic))).map((p) => [p.partition, Number(p.high)]),
    );
    const refreshed = await eventually('a lag refresh saw every source end', async () => {
      const status = (await (await fetch(`${admin}/status`)).json()) as { flows: FlowStatus[] };
      const entry = status.flows.find((f) => f.name === flow);
      const seen = entry?.partitions.every((p) => p.logEnd === ends.get(p.partition)) === true;
      return seen && entry?.recoveryPoint !== null ? entry : undefined;
    });

    // The source goes away: the daemon's last lag refresh is all that is known of its ends.
    await source.network?.setEnabled(false);
    const file = await configFile(t, config);
    const cut = await runCli(['divergence', '--config', file, '--flow', flow, '--admin', admin, '--json']);
    t.diagnostic(`divergence with the source cut, exit ${cut.code}:\n${cut.stdout}${cut.stderr}`);
    assert.equal(cut.code, 1, cut.stderr);
    const atCut = JSON.parse(cut.stdout) as Report;
    assert.equal(atCut.endsFrom, 'daemon');
    // Neither the source nor a daemon (nothing listens on port 1): no report (KM_SOURCE_END_UNKNOWN).
    const unknown = await runCli([
      'divergence',
      '--config',
      file,
      '--flow',
      flow,
      '--admin',
      'http://127.0.0.1:1',
    ]);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /the source did not answer .*and neither did the daemon .*no source end to measure against/,
    );
    const text = await runCli(['divergence', '--config', file, '--flow', flow, '--admin', admin]);
    t.diagnostic(text.stdout);
    assert.match(text.stdout, /daemon's last lag refresh at /);

    // Back: read both clusters independently.
    await source.network?.reset();
    const onSource = await readTopic(src, topic);
    const onTarget = await readTopic(dst, topic);
    const copied = new Map<number, number>();
    let lastCopiedAt = new Map<number, number>();
    for (const r of onTarget) {
      const offset = Number(header(r, 'km.src.offset'));
      if (offset > (copied.get(r.partition) ?? -1)) {
        copied.set(r.partition, offset);
        lastCopiedAt = lastCopiedAt.set(r.partition, Number(r.timestamp));
      }
    }
    const missing = onSource
      .filter((r) => Number(r.offset) > (copied.get(r.partition) ?? -1))
      .map((r) => [r.partition, Number(r.offset)])
      .sort(([a, x], [b, y]) => (a ?? 0) - (b ?? 0) || (x ?? 0) - (y ?? 0));
    // 7 plain on 0; 3 records and a marker on 1; 5 aborted, a marker and 2 plain on 2.
    assert.deepEqual(
      [0, 1, 2].map((p) => missing.filter(([q]) => q === p).length),
      [7, 3, 2],
    );
    for (const p of atCut.partitions) {
      const frontier = copied.get(p.partition) ?? -1;
      assert.equal(p.frontier, frontier, `partition ${p.partition}: the last offset on the target`);
      assert.equal(p.sourceEnd, ends.get(p.partition));
      assert.equal(p.atRisk, (ends.get(p.partition) ?? 0) - 1 - frontier, `partition ${p.partition}`);
      // Seconds from the last record on the target to the lag refresh the end was read at.
      assert.equal(p.frontierTimestamp, lastCopiedAt.get(p.partition));
      assert.equal(p.rpoSeconds, ((p.sourceLastTimestamp ?? 0) - (p.frontierTimestamp ?? 0)) / 1000);
      const newest = Math.max(
        ...onSource.filter((r) => r.partition === p.partition).map((r) => Number(r.timestamp)),
      );
      assert.ok((p.sourceLastTimestamp ?? 0) >= newest, 'the refresh was after the last record');
    }
    // Offsets, not records: on 1 the N1 transaction's marker (after the last copied record), 3
    // records and a marker; on 2, 5 aborted records, a marker and 2 records.
    assert.deepEqual(
      atCut.partitions.map((p) => p.atRisk),
      [7, 5, 8],
    );
    assert.equal(atCut.atRisk, 20);
    assert.ok(Date.parse(atCut.endsAt) >= Date.parse(refreshed.lagRefreshedAt ?? ''));

    const listed = await runCli(['divergence', '--config', file, '--flow', flow, '--list', '--json']);
    t.diagnostic(`divergence --list, exit ${listed.code}:\n${listed.stdout}${listed.stderr}`);
    const report = JSON.parse(listed.stdout) as Report;
    assert.equal(report.endsFrom, 'source');
    assert.equal(report.atRisk, 20);
    assert.equal(report.missing, missing.length);
    assert.deepEqual(
      report.partitions.flatMap((p) => (p.missing ?? []).map((m) => [p.partition, m.offset])),
      missing,
    );
    const metrics = await scrape(admin);
    // The daemon's RPO counts from its own position, which passed the marker its last fetch saw:
    // the source's ends minus the flow's committed offsets, between the records and the offsets missing.
    const committed = await committedOn(src, `kafka-mirror.${flow}`, topic);
    const behind = [...ends].reduce((sum, [p, end]) => sum + end - (committed.get(p) ?? 0), 0);
    const rpo = total(metrics, 'kafka_mirror_rpo_records', { flow });
    assert.equal(rpo, behind);
    assert.ok(rpo >= missing.length && rpo <= report.atRisk, `${rpo}`);
    t.diagnostic(
      `text:\n${(await runCli(['divergence', '--config', file, '--flow', flow, '--list'])).stdout}`,
    );
  },
);

async function tokenFile(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'km-divergence-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  await writeFile(file, `${randomUUID()}\n`);
  return file;
}
