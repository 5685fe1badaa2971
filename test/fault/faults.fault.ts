// Fault scenarios (`npm run test:fault`; named *.fault.ts so `npm test` leaves them out): each writes a steady stream of sequenced records while a
// fault happens, lets the flow catch up, and audits source against target with `verify`.
// Required in every scenario: nothing lost, nothing reordered. Duplicates only where a crash
// replays the uncommitted window, within the bound stated per scenario. Results go to
// test/fault/results/latest.json (docs/reliability.md).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flowConfig, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { useCluster, type ClusterOptions, type KafkaCluster } from '../support/kafka/index.ts';
import { client, createTopic, withAdmin } from '../support/kafka-client.ts';
import { endOffsetTotal } from '../support/replication-checks.ts';
import { audit, record, resultOf, settled, stream } from './support.ts';

const RATE = 2000; // records per second
const COMMIT_MS = 1000;
const QUEUE_RECORDS = 5000;

interface Setup {
  source: KafkaCluster;
  target: KafkaCluster;
  topic: string;
  flow: string;
  config: object;
}

async function setup(
  t: TestContext,
  options: { source?: ClusterOptions; target?: ClusterOptions } = {},
): Promise<Setup> {
  const [source, targetCluster] = await Promise.all([
    useCluster(t, { name: 'source', ...options.source }),
    useCluster(t, { name: 'target', ...options.target }),
  ]);
  const topic = `fault-${randomUUID().slice(0, 6)}`;
  const flow = `fault-${randomUUID().slice(0, 6)}`;
  await createTopic(client(source.bootstrapServers), topic, { partitions: 6 });
  const config = flowConfig(
    source,
    targetCluster,
    // The scenario's topic, and any created later with its name as prefix.
    { name: flow, topics: { include: [`${topic}.*`] }, commitIntervalMs: COMMIT_MS, refreshIntervalMs: 2000 },
    {
      queue: { maxRecords: QUEUE_RECORDS },
      producer: { requestTimeoutMs: 10_000 },
      consumer: { sessionTimeoutMs: 10_000 },
      shutdown: { timeoutMs: 20_000 },
    },
  );
  return { source, target: targetCluster, topic, flow, config };
}

/** Waits for the flow to commit everything, stops the daemon, audits, records and returns the result. */
async function finish(
  s: Setup,
  scenario: string,
  daemons: readonly DaemonProcess[],
  startedAt: number,
  topics: readonly string[] = [s.topic],
): Promise<ReturnType<typeof resultOf>> {
  const src = client(s.source.bootstrapServers);
  for (const topic of topics) {
    assert.ok(
      await settled(src, `kafka-mirror.${s.flow}`, topic, 180_000),
      `the flow committed all of ${topic}`,
    );
  }
  for (const daemon of daemons) assert.equal(await daemon.stop('SIGTERM'), 0);
  let produced = 0;
  for (const topic of topics) produced += await endOffsetTotal(src, topic);
  const report = await audit(s.config, s.flow);
  const result = resultOf(scenario, produced, report, startedAt);
  await record(result);
  assert.equal(report.totals.checked, produced, 'every source record was audited');
  assert.equal(result.lost, 0, 'nothing lost');
  assert.equal(result.reordered, 0, 'nothing reordered');
  assert.equal(report.totals.altered, 0, 'nothing altered');
  return result;
}

test('daemon SIGKILLed five times during a stream', { timeout: 600_000 }, async (t) => {
  const s = await setup(t);
  const startedAt = Date.now();
  let daemon = await startDaemon(t, s.config);
  await daemon.waitForLog((l) => l['msg'] === 'flow running');
  const writing = stream(client(s.source.bootstrapServers), s.topic, 60_000, RATE);
  for (let kill = 0; kill < 5; kill++) {
    await sleep(4000);
    await daemon.stop('SIGKILL');
    daemon = await startDaemon(t, s.config);
    await daemon.waitForLog((l) => l['msg'] === 'flow running');
  }
  await writing;
  const result = await finish(s, 'daemon-sigkill-x5', [daemon], startedAt);
  // Each crash replays at most what was acknowledged since the last commit (one commit interval
  // at the stream's rate) plus what was queued or in flight (the queue's record budget).
  const bound = 5 * ((RATE * COMMIT_MS) / 1000 + QUEUE_RECORDS);
  t.diagnostic(`duplicated ${result.duplicated} (bound ${bound})`);
  assert.ok(result.duplicated <= bound, `duplicates ${result.duplicated} above ${bound}`);
});

test(
  'target broker SIGKILLed and restarted (3 nodes, RF 3, min.insync.replicas 2)',
  { timeout: 600_000 },
  async (t) => {
    const s = await setup(t, { target: { nodes: 3, brokerConfig: { 'min.insync.replicas': 2 } } });
    const startedAt = Date.now();
    const daemon = await startDaemon(t, s.config);
    await daemon.waitForLog((l) => l['msg'] === 'flow running');
    const writing = stream(client(s.source.bootstrapServers), s.topic, 40_000, RATE);
    await sleep(5000);
    await s.target.killNode(1);
    await sleep(10_000);
    await s.target.startNode(1);
    await writing;
    const result = await finish(s, 'target-broker-sigkill', [daemon], startedAt);
    // A produce the dead leader had replicated but not answered is retried: at most the requests in
    // flight to it, one per partition.
    t.diagnostic(`duplicated ${result.duplicated}`);
    assert.ok(result.duplicated <= QUEUE_RECORDS, `duplicates ${result.duplicated}`);
  },
);

test('network blackhole between daemon and target for 30 s', { timeout: 600_000 }, async (t) => {
  const s = await setup(t, { target: { toxiproxy: true } });
  const startedAt = Date.now();
  const daemon = await startDaemon(t, s.config);
  await daemon.waitForLog((l) => l['msg'] === 'flow running');
  const writing = stream(client(s.source.bootstrapServers), s.topic, 80_000, RATE);
  await sleep(5000);
  const network = s.target.network;
  assert.ok(network !== undefined);
  const toxics = [
    await network.addToxic({ type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } }),
    await network.addToxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }),
  ];
  await sleep(30_000);
  for (const toxic of toxics) await network.removeToxic(toxic);
  await writing;
  const result = await finish(s, 'target-blackhole-30s', [daemon], startedAt);
  // Requests sent while the blackhole was being set up may have been written with their answer
  // lost; their retry duplicates at most what was in flight (one request per partition).
  t.diagnostic(`duplicated ${result.duplicated}`);
  assert.ok(result.duplicated <= QUEUE_RECORDS, `duplicates ${result.duplicated}`);
});

test(
  'source broker SIGKILLed and restarted (3 nodes, RF 3, min.insync.replicas 2)',
  { timeout: 600_000 },
  async (t) => {
    const s = await setup(t, { source: { nodes: 3, brokerConfig: { 'min.insync.replicas': 2 } } });
    const startedAt = Date.now();
    const daemon = await startDaemon(t, s.config);
    await daemon.waitForLog((l) => l['msg'] === 'flow running');
    const writing = stream(client(s.source.bootstrapServers), s.topic, 40_000, RATE);
    await sleep(5000);
    await s.source.killNode(1);
    await sleep(10_000);
    await s.source.startNode(1);
    await writing;
    // Reading a partition again after its leader moved repeats nothing already committed; the
    // consumer may re-read from the last commit if it rejoins, within one commit interval.
    const result = await finish(s, 'source-broker-sigkill', [daemon], startedAt);
    t.diagnostic(`duplicated ${result.duplicated}`);
    assert.ok(
      result.duplicated <= (RATE * COMMIT_MS) / 1000 + QUEUE_RECORDS,
      `duplicates ${result.duplicated}`,
    );
  },
);

test(
  '150 ms round trip with jitter and a 10 MB/s cap between daemon and target',
  { timeout: 600_000 },
  async (t) => {
    const s = await setup(t, { target: { toxiproxy: true } });
    const network = s.target.network;
    assert.ok(network !== undefined);
    for (const direction of ['upstream', 'downstream'] as const) {
      await network.addToxic({ type: 'latency', stream: direction, attributes: { latency: 75, jitter: 15 } });
    }
    await network.addToxic({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 10 * 1024 } });
    const startedAt = Date.now();
    const daemon = await startDaemon(t, s.config);
    await daemon.waitForLog((l) => l['msg'] === 'flow running');
    await stream(client(s.source.bootstrapServers), s.topic, 40_000, RATE);
    const result = await finish(s, 'wan-150ms-10MBps', [daemon], startedAt);
    assert.equal(result.duplicated, 0, 'a slow link alone causes no duplicates');
  },
);

test('connections to the target reset every few seconds', { timeout: 600_000 }, async (t) => {
  const s = await setup(t, { target: { toxiproxy: true } });
  const network = s.target.network;
  assert.ok(network !== undefined);
  const startedAt = Date.now();
  const daemon = await startDaemon(t, s.config);
  await daemon.waitForLog((l) => l['msg'] === 'flow running');
  const writing = stream(client(s.source.bootstrapServers), s.topic, 40_000, RATE);
  // Every connection is reset 3 s after it opens, for 15 s.
  const toxic = await network.addToxic({
    type: 'reset_peer',
    stream: 'upstream',
    attributes: { timeout: 3000 },
  });
  await sleep(15_000);
  await network.removeToxic(toxic);
  await writing;
  const result = await finish(s, 'connection-resets', [daemon], startedAt);
  // A reset can cut a request that the broker already appended: its retry duplicates it.
  t.diagnostic(`duplicated ${result.duplicated}`);
  assert.ok(result.duplicated <= 5 * QUEUE_RECORDS, `duplicates ${result.duplicated}`);
});

test('rolling restart of two instances sharing a flow', { timeout: 600_000 }, async (t) => {
  const s = await setup(t);
  const startedAt = Date.now();
  const instances = [await startDaemon(t, s.config), await startDaemon(t, s.config)];
  for (const daemon of instances) await daemon.waitForLog((l) => l['msg'] === 'flow running');
  const writing = stream(client(s.source.bootstrapServers), s.topic, 60_000, RATE);
  for (const i of [0, 1]) {
    await sleep(5000);
    assert.equal(await instances[i]?.stop('SIGTERM'), 0, 'a graceful stop');
    const restarted = await startDaemon(t, s.config);
    await restarted.waitForLog((l) => l['msg'] === 'flow running');
    instances[i] = restarted;
  }
  await writing;
  const result = await finish(s, 'rolling-restart-two-instances', instances, startedAt);
  // Graceful stops commit before their partitions move; a rebalance can still hand over a
  // partition whose last batch was written after the final commit of the old owner.
  t.diagnostic(`duplicated ${result.duplicated}`);
  assert.ok(result.duplicated <= 2 * QUEUE_RECORDS, `duplicates ${result.duplicated}`);
});

test('a topic created and partitions added mid-run', { timeout: 600_000 }, async (t) => {
  const s = await setup(t);
  const src = client(s.source.bootstrapServers);
  const startedAt = Date.now();
  const daemon = await startDaemon(t, s.config);
  await daemon.waitForLog((l) => l['msg'] === 'flow running');
  const writing = stream(src, s.topic, 40_000, RATE);
  await sleep(5000);
  const second = `${s.topic}-new`;
  await createTopic(src, second, { partitions: 3 });
  const writingSecond = stream(src, second, 10_000, 1000);
  await sleep(3000);
  await withAdmin(src, (a) => a.createPartitions({ topicPartitions: [{ topic: s.topic, count: 9 }] }));
  await Promise.all([writing, writingSecond]);
  const result = await finish(s, 'topics-added-mid-run', [daemon], startedAt, [s.topic, second]);
  t.diagnostic(`duplicated ${result.duplicated}`);
  // Each subscription change rebalances the group after a commit: at most one commit interval
  // of records is read again per change (two changes here).
  assert.ok(
    result.duplicated <= 2 * ((RATE * COMMIT_MS) / 1000 + QUEUE_RECORDS),
    `duplicates ${result.duplicated}`,
  );
});
