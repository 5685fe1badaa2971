// The fault scenarios. Each writes a steady stream of sequenced records while a fault happens,
// lets the flow catch up, and audits source against target with `verify`. Required in every
// scenario: nothing lost, nothing reordered. Duplicates only where a crash, a takeover or a cut
// connection replays what was not committed, within the bound stated per scenario.
// `npm run test:fault` runs them all and records test/fault/results/latest.json
// (docs/reliability.md); `npm test` runs those marked `inTestSuite` (test/integration/faults.test.ts).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flowConfig, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { useClusterPair, type Clusters, type PairOptions } from '../support/cluster-pair.ts';
import type { KafkaCluster } from '../support/kafka/index.ts';
import { ABORTED_PREFIX, writeInterleavedAborts } from '../support/interleaved-transactions.ts';
import { client, committedOn, createTopic, header, readTopic, withAdmin } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { endOffsetTotal, waitForCommitted } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';
import { audit, moveLeaders, record, resultOf, stream, type FaultResult } from './support.ts';

export const RATE = 2000; // records per second
export const COMMIT_MS = 1000;
export const QUEUE_RECORDS = 5000;
/** What one crash can replay: one commit interval of acknowledged records plus the queue. */
export const CRASH_WINDOW = (RATE * COMMIT_MS) / 1000 + QUEUE_RECORDS;

export type Delivery = 'at-least-once' | 'exactly-once';

export interface RunOptions {
  readonly record: boolean;
  /** The flow's delivery mode (default at-least-once); exactly-once results are named `<name>-eos`. */
  readonly delivery?: Delivery;
}

export interface Scenario {
  /** The name in the results file. */
  readonly name: string;
  readonly title: string;
  /**
   * Also part of `npm test` (short, and covering a fault the others do not); `both`: in
   * exactly-once mode as well (where that mode has its own code path for the fault).
   */
  readonly inTestSuite?: boolean | 'both';
  run(t: TestContext, options: RunOptions): Promise<FaultResult>;
}

export interface Setup extends Clusters {
  topic: string;
  flow: string;
  config: object;
  delivery: Delivery;
}

export async function setup(
  t: TestContext,
  options: PairOptions = {},
  run: Partial<RunOptions> = {},
): Promise<Setup> {
  const delivery = run.delivery ?? 'at-least-once';
  const clusters = await useClusterPair(t, options);
  const topic = `fault-${randomUUID().slice(0, 6)}`;
  const flow = `fault-${randomUUID().slice(0, 6)}`;
  await createTopic(clusters.src, topic, { partitions: 6 });
  const config = flowConfig(
    clusters.source,
    clusters.target,
    // The scenario's topic, and any created later with its name as prefix.
    {
      name: flow,
      topics: { include: [`${topic}.*`] },
      commitIntervalMs: COMMIT_MS,
      refreshIntervalMs: 2000,
      delivery,
    },
    {
      queue: { maxRecords: QUEUE_RECORDS },
      producer: { requestTimeoutMs: 10_000 },
      consumer: { sessionTimeoutMs: 10_000 },
      shutdown: { timeoutMs: 20_000 },
    },
  );
  return { ...clusters, topic, flow, config, delivery };
}

const running = (daemon: DaemonProcess) => daemon.waitForLog((l) => l['msg'] === 'flow running');

async function started(t: TestContext, s: Setup): Promise<DaemonProcess> {
  const daemon = await startDaemon(t, s.config);
  await running(daemon);
  return daemon;
}

/** Waits for the flow to commit everything, stops the daemons, audits, records and returns the result. */
async function finish(
  s: Setup,
  scenario: string,
  daemons: readonly DaemonProcess[],
  startedAt: number,
  options: RunOptions,
  topics: readonly string[] = [s.topic],
): Promise<FaultResult> {
  const { src } = s;
  for (const topic of topics) {
    assert.ok(
      await waitForCommitted(src, `kafka-mirror.${s.flow}`, topic, 180_000),
      `the flow committed all of ${topic}`,
    );
  }
  for (const daemon of daemons) assert.equal(await daemon.stop('SIGTERM'), 0);
  let produced = 0;
  for (const topic of topics) produced += await endOffsetTotal(src, topic);
  const report = await audit(s.config, s.flow);
  const name = s.delivery === 'exactly-once' ? `${scenario}-eos` : scenario;
  const result = resultOf(name, produced, report, startedAt);
  if (options.record) await record(result);
  assert.equal(report.totals.checked, produced, 'every source record was audited');
  assert.equal(result.lost, 0, 'nothing lost');
  assert.equal(result.reordered, 0, 'nothing reordered');
  assert.equal(report.totals.altered, 0, 'nothing altered');
  return result;
}

/** At most `bound` duplicates at least once; none at all exactly once. */
function duplicatesWithin(t: TestContext, s: Setup, result: FaultResult, atLeastOnceBound: number): void {
  const bound = s.delivery === 'exactly-once' ? 0 : atLeastOnceBound;
  t.diagnostic(`duplicated ${result.duplicated} (bound ${bound})`);
  assert.ok(result.duplicated <= bound, `duplicates ${result.duplicated} above ${bound}`);
}

/** Both directions of the cluster's proxies silently drop everything for `ms`. */
async function blackhole(cluster: KafkaCluster, ms: number): Promise<void> {
  const network = cluster.network;
  assert.ok(network !== undefined, `${cluster.name} runs behind Toxiproxy`);
  const toxics = [
    await network.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }),
    await network.addToxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }),
  ];
  await sleep(ms);
  for (const toxic of toxics) await network.removeToxic(toxic);
}

/**
 * Responses from the cluster cut part way, twice: for 3 s every connection is closed after its
 * first `bytes` of responses (limit_data; each connection opened meanwhile gets the same), then for
 * 1 s reset_peer closes each live connection at its next chunk, part way through what it was
 * receiving, and resets each one opened meanwhile after swallowing its first response.
 */
async function cutResponses(cluster: KafkaCluster, bytes: number): Promise<void> {
  const network = cluster.network;
  assert.ok(network !== undefined, `${cluster.name} runs behind Toxiproxy`);
  const limit = await network.addToxic({ type: 'limit_data', stream: 'downstream', attributes: { bytes } });
  await sleep(3000);
  await network.removeToxic(limit);
  await sleep(1000);
  const reset = await network.addToxic({
    type: 'reset_peer',
    stream: 'downstream',
    attributes: { timeout: 0 },
  });
  await sleep(1000);
  await network.removeToxic(reset);
}

/** Rounds of response-cut-midway, each cutting the source's responses, then the target's. */
const CUT_ROUNDS = 3;

/** One broker of a 3-node cluster (RF 3, min.insync.replicas 2) on `side` killed for 10 s mid-stream. */
function brokerSigkill(side: 'source' | 'target', duplicateBound: number): Scenario['run'] {
  return async (t, options) => {
    const s = await setup(t, { [side]: { nodes: 3, brokerConfig: { 'min.insync.replicas': 2 } } }, options);
    const startedAt = Date.now();
    const daemon = await started(t, s);
    const writing = stream(s.src, s.topic, 40_000, RATE);
    await sleep(5000);
    await s[side].killNode(1);
    await sleep(10_000);
    await s[side].startNode(1);
    await writing;
    const result = await finish(s, `${side}-broker-sigkill`, [daemon], startedAt, options);
    duplicatesWithin(t, s, result, duplicateBound);
    return result;
  };
}

export const scenarios: readonly Scenario[] = [
  {
    name: 'daemon-sigkill-x5',
    title: 'daemon SIGKILLed five times during a stream',
    inTestSuite: true,
    async run(t, options) {
      const s = await setup(t, {}, options);
      const startedAt = Date.now();
      let daemon = await started(t, s);
      const writing = stream(s.src, s.topic, 60_000, RATE);
      for (let kill = 0; kill < 5; kill++) {
        await sleep(4000);
        await daemon.stop('SIGKILL');
        daemon = await started(t, s);
      }
      await writing;
      const result = await finish(s, 'daemon-sigkill-x5', [daemon], startedAt, options);
      // Each crash replays at most what was acknowledged since the last commit plus what was queued.
      duplicatesWithin(t, s, result, 5 * CRASH_WINDOW);
      return result;
    },
  },
  {
    name: 'target-broker-sigkill',
    title: 'target broker SIGKILLed and restarted (3 nodes, RF 3, min.insync.replicas 2)',
    // A produce the dead leader had replicated but not answered is retried: at most the requests
    // in flight to it, within the queue.
    run: brokerSigkill('target', QUEUE_RECORDS),
  },
  {
    name: 'source-broker-sigkill',
    title: 'source broker SIGKILLed and restarted (3 nodes, RF 3, min.insync.replicas 2)',
    // The consumer may rejoin and re-read from the last commit: one crash window.
    run: brokerSigkill('source', CRASH_WINDOW),
  },
  {
    name: 'target-leader-change',
    title: 'target partition leaders move twice mid-stream (reassignment + preferred election, 3 nodes)',
    inTestSuite: true,
    async run(t, options) {
      const s = await setup(t, { target: { nodes: 3, brokerConfig: { 'min.insync.replicas': 2 } } }, options);
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const writing = stream(s.src, s.topic, 40_000, RATE);
      for (let round = 0; round < 2; round++) {
        await sleep(5000);
        const moved = await moveLeaders(s.target, s.topic);
        assert.equal(moved, 6, 'every partition of the remote topic has a new leader');
      }
      await writing;
      const result = await finish(s, 'target-leader-change', [daemon], startedAt, options);
      // A produce waiting for its acks=all replication when leadership moves fails with
      // NOT_LEADER_OR_FOLLOWER, although the new leader may already hold its records: the retry
      // duplicates them. At most the requests in flight, within the queue.
      duplicatesWithin(t, s, result, QUEUE_RECORDS);
      return result;
    },
  },
  {
    name: 'target-blackhole-30s',
    title: 'network blackhole between daemon and target for 30 s',
    async run(t, options) {
      const s = await setup(t, { target: { toxiproxy: true } }, options);
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const writing = stream(s.src, s.topic, 80_000, RATE);
      await sleep(5000);
      await blackhole(s.target, 30_000);
      await writing;
      const result = await finish(s, 'target-blackhole-30s', [daemon], startedAt, options);
      // Requests sent as the blackhole began may have been written with their answer lost; their
      // retry duplicates at most what was in flight.
      duplicatesWithin(t, s, result, QUEUE_RECORDS);
      return result;
    },
  },
  {
    name: 'source-blackhole-30s',
    title: 'network blackhole between daemon and source for 30 s',
    async run(t, options) {
      const s = await setup(t, { source: { toxiproxy: true } }, options);
      const direct = s.source.directBootstrapServers;
      assert.ok(direct !== undefined, 'the test producer needs a path around the proxy');
      const startedAt = Date.now();
      const daemon = await started(t, s);
      // The producer writes around the proxy, so records keep arriving during the blackhole.
      const writing = stream(client(direct), s.topic, 80_000, RATE);
      await sleep(5000);
      await blackhole(s.source, 30_000);
      await writing;
      const result = await finish(s, 'source-blackhole-30s', [daemon], startedAt, options);
      // The group coordinator drops the silent member after its session timeout; on rejoin it
      // re-reads from the last commit that got through: one crash window.
      duplicatesWithin(t, s, result, CRASH_WINDOW);
      return result;
    },
  },
  {
    name: 'wan-150ms-10MBps',
    title: '150 ms round trip with jitter and a 10 MB/s cap between daemon and target',
    async run(t, options) {
      const s = await setup(t, { target: { toxiproxy: true } }, options);
      const network = s.target.network;
      assert.ok(network !== undefined);
      for (const direction of ['upstream', 'downstream'] as const) {
        await network.addToxic({
          type: 'latency',
          stream: direction,
          attributes: { latency: 75, jitter: 15 },
        });
      }
      await network.addToxic({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 10 * 1024 } });
      const startedAt = Date.now();
      const daemon = await started(t, s);
      await stream(s.src, s.topic, 40_000, RATE);
      const result = await finish(s, 'wan-150ms-10MBps', [daemon], startedAt, options);
      assert.equal(result.duplicated, 0, 'a slow link alone causes no duplicates');
      return result;
    },
  },
  {
    name: 'connection-resets',
    title: 'connections to the target reset every few seconds',
    async run(t, options) {
      const s = await setup(t, { target: { toxiproxy: true } }, options);
      const network = s.target.network;
      assert.ok(network !== undefined);
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const writing = stream(s.src, s.topic, 40_000, RATE);
      // Every connection is reset 3 s after it opens, for 15 s.
      const toxic = await network.addToxic({
        type: 'reset_peer',
        stream: 'upstream',
        attributes: { timeout: 3000 },
      });
      await sleep(15_000);
      await network.removeToxic(toxic);
      await writing;
      const result = await finish(s, 'connection-resets', [daemon], startedAt, options);
      // A reset can cut a request the broker already appended: its retry duplicates it. About
      // five resets hit each connection.
      duplicatesWithin(t, s, result, 5 * QUEUE_RECORDS);
      return result;
    },
  },
  {
    name: 'response-cut-midway',
    title: 'responses from source and target cut part way, again and again (limit_data, reset_peer)',
    async run(t, options) {
      const s = await setup(t, { source: { toxiproxy: true }, target: { toxiproxy: true } }, options);
      const direct = s.source.directBootstrapServers;
      assert.ok(direct !== undefined, 'the test producer needs a path around the proxy');
      const startedAt = Date.now();
      const daemon = await started(t, s);
      // Values of 512 bytes, about 1 MB/s: fetch responses of hundreds of KB, which a 150 KB
      // limit cuts part way; the target's produce responses are small, cut wherever 20 KB falls.
      const writing = stream(client(direct), s.topic, 90_000, RATE, 512);
      for (let round = 0; round < CUT_ROUNDS; round++) {
        for (const [side, bytes] of [
          ['source', 150_000],
          ['target', 20_000],
        ] as const) {
          await sleep(1000);
          await cutResponses(s[side], bytes);
          assert.equal(daemon.child.exitCode ?? daemon.child.signalCode, null, 'the daemon is up');
        }
      }
      await writing;
      // A connection is new after every cut: none may read the rest of the old one's response.
      const misframed = daemon.logs.filter(
        (l) => (l['err'] as { code?: string } | undefined)?.code === 'KM_RESPONSE_FRAMING',
      );
      assert.deepEqual(misframed, [], 'no connection misframed after a cut');
      const result = await finish(s, 'response-cut-midway', [daemon], startedAt, options);
      // A source cut can fail a heartbeat or a commit and rejoin the group, re-reading from the
      // last commit: one crash window per cut at most. A target cut loses answers to requests the
      // target may have appended: their retry, within the queue, is inside that window too.
      duplicatesWithin(t, s, result, 2 * CUT_ROUNDS * CRASH_WINDOW);
      return result;
    },
  },
  {
    name: 'rolling-restart-two-instances',
    title: 'rolling restart of two instances sharing a flow',
    async run(t, options) {
      const s = await setup(t, {}, options);
      const startedAt = Date.now();
      const instances = [await started(t, s), await started(t, s)];
      const writing = stream(s.src, s.topic, 60_000, RATE);
      for (const i of [0, 1]) {
        await sleep(5000);
        assert.equal(await instances[i]?.stop('SIGTERM'), 0, 'a graceful stop');
        instances[i] = await started(t, s);
      }
      await writing;
      const result = await finish(s, 'rolling-restart-two-instances', instances, startedAt, options);
      // Graceful stops commit before their partitions move; each of the four rebalances can still
      // hand over a partition whose last writes came after the old owner's final commit.
      duplicatesWithin(t, s, result, 2 * QUEUE_RECORDS);
      return result;
    },
  },
  {
    name: 'topics-added-mid-run',
    title: 'a topic created and partitions added mid-run',
    async run(t, options) {
      const s = await setup(t, {}, options);
      const { src } = s;
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const writing = stream(src, s.topic, 40_000, RATE);
      await sleep(5000);
      const second = `${s.topic}-new`;
      await createTopic(src, second, { partitions: 3 });
      const writingSecond = stream(src, second, 10_000, 1000);
      await sleep(3000);
      await withAdmin(src, (a) => a.createPartitions({ topicPartitions: [{ topic: s.topic, count: 9 }] }));
      await Promise.all([writing, writingSecond]);
      const result = await finish(s, 'topics-added-mid-run', [daemon], startedAt, options, [s.topic, second]);
      // Each subscription change rebalances the group after a commit: at most one crash window
      // per change (two here).
      duplicatesWithin(t, s, result, 2 * CRASH_WINDOW);
      return result;
    },
  },
  {
    name: 'target-topic-deleted',
    title: 'target topic deleted mid-run: partitions halt, nothing is recreated, nothing uncommitted is lost',
    inTestSuite: 'both',
    async run(t, options) {
      const s = await setup(t, {}, options);
      const { src, dst } = s;
      const group = `kafka-mirror.${s.flow}`;
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const admin = await daemon.adminUrl();
      const writing = stream(src, s.topic, 30_000, RATE);
      await sleep(5000);
      await withAdmin(dst, (a) => a.deleteTopics({ topics: [s.topic] }));

      // Every partition halts (the stream writes to all of them) with the error named.
      await eventually(
        'six halted partitions',
        async () => (total(await scrape(admin), 'kafka_mirror_halted_partitions') === 6 ? true : undefined),
        60_000,
      );
      const isHalt = (l: Record<string, unknown>) =>
        l['msg'] === 'partition halted: the target topic was deleted; nothing past it will be committed';
      // The log lines can arrive after the metric is scraped (stdout is a pipe).
      await eventually(
        'six halts logged',
        async () => (daemon.logs.filter(isHalt).length >= 6 ? true : undefined),
        10_000,
      );
      const halts = daemon.logs.filter(isHalt);
      assert.equal(halts.length, 6, 'one halt logged per partition');
      for (const halt of halts)
        assert.equal((halt['err'] as { code?: string }).code, 'KM_TARGET_TOPIC_MISSING');
      // Where each partition stopped: the watermark of what the target acknowledged before the
      // deletion. The group commits up to it and never past it.
      const atHalt = new Map(halts.map((h) => [Number(h['partition']), Number(h['committedUpTo'] ?? 0)]));
      await writing;
      // Several topic refreshes (every 2 s) and commit intervals later: not recreated, and the
      // group committed exactly up to the halts.
      await sleep(8000);
      const topics = await withAdmin(dst, (a) => a.listTopics());
      assert.ok(!topics.includes(s.topic), 'the deleted topic was not recreated');
      assert.ok(
        daemon.logs.some(
          (l) =>
            l['msg'] ===
            'remote topic was deleted; not recreating it (see the runbook: target topic deleted)',
        ),
        'topic sync says why it does not recreate it',
      );
      const committed = await committedOn(src, group, s.topic);
      for (const [partition, offset] of committed) {
        assert.ok(
          offset <= (atHalt.get(partition) ?? 0),
          `partition ${partition}: committed ${offset} past the halt`,
        );
      }
      assert.equal(await daemon.stop('SIGTERM'), 0, 'a halted flow still stops cleanly');

      // The runbook's first way on: recreate the topic, restart, resume from the committed offsets.
      await createTopic(dst, s.topic, { partitions: 6 });
      const restarted = await started(t, s);
      assert.ok(await waitForCommitted(src, group, s.topic, 180_000), 'the flow committed all of the topic');
      assert.equal(await restarted.stop('SIGTERM'), 0);

      // Every source record at or after the halt-time commit is on the recreated topic, in order.
      const ends = await withAdmin(src, (a) => a.fetchTopicOffsets(s.topic));
      const copies = await readTopic(dst, s.topic);
      let expected = 0;
      let lost = 0;
      let duplicated = 0;
      let reordered = 0;
      for (const { partition, high } of ends) {
        // Exactly-once resumes from the positions committed on the target with the records (what
        // the deleted topic held): where the partition halted, not the group's last commit.
        const resumed = s.delivery === 'exactly-once' ? atHalt : committed;
        const from = Math.max(0, resumed.get(partition) ?? 0);
        const offsets = copies
          .filter((r) => r.partition === partition)
          .map((r) => Number(header(r, 'km.src.offset')));
        const seen = new Set<number>();
        let last = -1;
        for (const offset of offsets) {
          if (seen.has(offset)) duplicated++;
          else if (offset < last) reordered++;
          seen.add(offset);
          last = Math.max(last, offset);
        }
        expected += Number(high) - from;
        for (let offset = from; offset < Number(high); offset++) if (!seen.has(offset)) lost++;
      }
      const result: FaultResult = {
        scenario: s.delivery === 'exactly-once' ? 'target-topic-deleted-eos' : 'target-topic-deleted',
        produced: await endOffsetTotal(src, s.topic),
        replicated: copies.length,
        lost,
        duplicated,
        reordered,
        seconds: Math.round((Date.now() - startedAt) / 1000),
      };
      if (options.record) await record(result);
      t.diagnostic(`${expected} records after the halt-time commit; ${copies.length} on the recreated topic`);
      assert.equal(lost, 0, 'nothing after the committed offsets lost');
      assert.equal(reordered, 0, 'nothing reordered');
      assert.equal(duplicated, 0, 'a clean restart writes nothing twice');
      return result;
    },
  },
  {
    name: 'interleaved-aborts',
    title:
      'source transactions of several producers interleaved in every partition and aborted in reverse order, read in small fetches',
    async run(t, options) {
      const s = await setup(t, {}, options);
      // A few batches per partition and fetch, so that fetches start inside open transactions.
      Object.assign((s.config as { consumer: object }).consumer, {
        maxBytesPerPartition: '8KiB',
        maxBytes: '48KiB',
      });
      const { src } = s;
      const startedAt = Date.now();
      const daemon = await started(t, s);
      const [streamed, written] = await Promise.all([
        stream(src, s.topic, 20_000, RATE),
        writeInterleavedAborts(src, s.topic, {
          partitions: [0, 1, 2, 3, 4, 5],
          rounds: 30,
          valueBytes: 1000,
        }),
      ]);
      const committed = streamed + [...written.committed.values()].reduce((n, v) => n + v.length, 0);
      t.diagnostic(`${committed} committed records, ${written.aborted} aborted ones`);
      assert.ok(
        await waitForCommitted(src, `kafka-mirror.${s.flow}`, s.topic, 180_000),
        'the flow committed all',
      );
      assert.equal(await daemon.stop('SIGTERM'), 0);
      const report = await audit(s.config, s.flow);
      // Read as its consumers would: uncommitted at least once (no transactions there), committed
      // exactly once; verify's count is checked against the values themselves.
      const copies = await readTopic(s.dst, s.topic, 120_000, s.delivery === 'at-least-once');
      const leaked = copies.filter((r) => (r.value ?? '').startsWith(ABORTED_PREFIX)).length;
      const name = s.delivery === 'exactly-once' ? 'interleaved-aborts-eos' : 'interleaved-aborts';
      const result: FaultResult = { ...resultOf(name, committed, report, startedAt), aborted: leaked };
      if (options.record) await record(result);
      assert.equal(leaked, 0, 'no record of an aborted transaction on the target');
      assert.equal(report.totals.aborted, 0, 'verify finds none either');
      assert.equal(report.totals.checked, committed, 'every committed source record was audited');
      assert.equal(result.lost, 0, 'nothing lost');
      assert.equal(result.reordered, 0, 'nothing reordered');
      assert.equal(report.totals.altered, 0, 'nothing altered');
      assert.equal(result.duplicated, 0, 'no fault here: nothing written twice');
      return result;
    },
  },
];
