// The divergence report's accuracy, side by side with MirrorMaker 2 (`npm run bench:dr`, after the
// group failover comparison). Per system: a fresh topic (3 partitions, a committed and an aborted
// transaction in the middle) is replicated; the replicator's link to the source is throttled
// (Toxiproxy bandwidth toxic) while more records are written directly to the source, so it falls
// behind; after a few lag refreshes the source is cut (its proxy refuses connections). Then what
// an operator is told: kafka-mirror's `divergence --json` (from the daemon's last lag refresh);
// MirrorMaker 2 has no such report (its offset syncs are on the source, which is down, and its
// checkpoints give group positions only): "not available". The replicator is stopped, the source
// comes back, and what is actually missing on the target is counted from both clusters: committed
// records and source offsets (records, markers and aborted records) after the last one copied.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Kafka as KafkaClient } from 'kafkajs';
import { productionEnv, productionNodeFlags } from '../test/support/daemon.ts';
import type { KafkaCluster } from '../test/support/kafka/index.ts';
import type { KafkaRuntime } from '../test/support/kafka/jars.ts';
import { LoggedProcess } from '../test/support/kafka/logged-process.ts';
import { repoRoot } from '../test/support/kafka/paths.ts';
import { startJava } from '../test/support/kafka/perf-tools.ts';
import {
  client,
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
} from '../test/support/kafka-client.ts';
import { exactly } from './kafka-mirror-process.ts';
import { mirrorMakerProperties } from './mirror-maker.ts';

const PARTITIONS = 3;

export interface DivergenceRow {
  readonly system: string;
  /** Source offsets at risk as reported while the source was down (null: the system has no report). */
  readonly reportedAtRisk: number | null;
  /** Where the report's numbers came from. */
  readonly reportedFrom: string | null;
  /** After the source returned: source offsets after the last one on the target (markers and aborted records included). */
  readonly missingOffsets: number;
  /** After the source returned: committed source records the target lacks. */
  readonly missingRecords: number;
}

export interface DivergenceSetup {
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  readonly dst: KafkaClient;
  readonly runtime: KafkaRuntime;
  readonly runDir: string;
  readonly log: (message: string) => void;
  readonly perPartition: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Records `label-<n>` across the partitions, a committed and an aborted transaction in the middle. */
async function load(direct: KafkaClient, topic: string, perPartition: number, label: string): Promise<void> {
  let serial = 0;
  const batch = (count: number, kind: string) =>
    Array.from({ length: count * PARTITIONS }, () => ({
      partition: serial % PARTITIONS,
      key: String(serial),
      value: `${label}-${kind}-${serial++}`,
    }));
  await produceAll(direct, topic, batch(perPartition / 2, 'plain'));
  const tx = direct.producer({
    transactionalId: `tx-${topic}-${label}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await tx.connect();
  for (const outcome of ['commit', 'abort'] as const) {
    const transaction = await tx.transaction();
    await transaction.send({ topic, messages: batch(50, outcome) });
    await (outcome === 'commit' ? transaction.commit() : transaction.abort());
  }
  await tx.disconnect();
  await produceAll(direct, topic, batch(perPartition / 2, 'plain'));
}

async function targetTotal(dst: KafkaClient, topic: string): Promise<number> {
  const ends = await withAdmin(dst, (a) => a.fetchTopicOffsets(topic)).catch(() => []);
  return ends.reduce((n, p) => n + Number(p.high), 0);
}

async function startSystem(
  setup: DivergenceSetup,
  system: 'kafka-mirror' | 'mm2',
  topic: string,
  admin: number,
) {
  const { source, target, runDir, runtime } = setup;
  if (system === 'kafka-mirror') {
    const file = path.join(runDir, `divergence-${topic}.json`);
    const config = {
      clusters: {
        km: { bootstrapServers: source.bootstrapServers },
        dst: { bootstrapServers: target.bootstrapServers },
      },
      flows: [
        {
          name: 'risk',
          source: 'km',
          target: 'dst',
          topics: { include: [exactly(topic)] },
          naming: 'prefix',
        },
      ],
      metrics: { lagIntervalMs: 1000 },
      heartbeats: { enabled: false },
      admin: { host: '127.0.0.1', port: admin },
    };
    await writeFile(file, JSON.stringify(config));
    const proc = await LoggedProcess.start(
      'kafka-mirror-divergence',
      process.execPath,
      [...productionNodeFlags, path.join(repoRoot, 'dist/cli.js'), 'start', '--config', file],
      {
        logFile: path.join(runDir, 'kafka-mirror-divergence.log'),
        env: { ...process.env, ...productionEnv },
      },
    );
    return { proc, file };
  }
  const file = path.join(runDir, `divergence-${topic}.properties`);
  await writeFile(
    file,
    mirrorMakerProperties(
      source,
      target,
      { sourceAlias: 'mm', targetAlias: 'dst', topic },
      'default',
      PARTITIONS,
    ),
  );
  const proc = await startJava(
    runtime,
    'mm2-divergence',
    ['-Xms256M', '-Xmx2G'],
    'org.apache.kafka.connect.mirror.MirrorMaker',
    [file],
    runDir,
  );
  return { proc, file };
}

/** kafka-mirror's divergence report while the source is down. */
async function report(
  file: string,
  admin: number,
): Promise<{ atRisk: number; endsFrom: string; endsAt: string }> {
  const run = promisify(execFile);
  const args = [
    path.join(repoRoot, 'dist/cli.js'),
    'divergence',
    '--config',
    file,
    '--flow',
    'risk',
    '--json',
  ];
  const out = await run(process.execPath, [...args, '--admin', `http://127.0.0.1:${admin}`]).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  return JSON.parse(out.stdout) as { atRisk: number; endsFrom: string; endsAt: string };
}

/** One system: replicate, fall behind, cut the source, ask, stop, bring the source back, count. */
export async function divergenceRow(
  setup: DivergenceSetup,
  system: 'kafka-mirror' | 'mm2',
): Promise<DivergenceRow> {
  const { source, dst, log, perPartition } = setup;
  const network = source.network;
  if (network === undefined || source.directBootstrapServers === undefined)
    throw new Error('the divergence comparison needs a source with a Toxiproxy and a direct path');
  const direct = client(source.directBootstrapServers);
  const topic = `risk-${system === 'mm2' ? 'mm' : 'km'}-${Date.now().toString(36)}`;
  const remote = `${system === 'mm2' ? 'mm' : 'km'}.${topic}`;
  await createTopic(direct, topic, { partitions: PARTITIONS });
  await load(direct, topic, perPartition, 'first');
  const admin = await freePort();
  const { proc, file } = await startSystem(setup, system, topic, admin);
  try {
    const first = (await readTopic(direct, topic)).length;
    for (let i = 0; i < 300 && (await targetTotal(dst, remote)) < first; i++) await sleep(1000);
    log(`${system}: ${first} records copied; throttling its link and writing more`);
    const toxic = await network.addToxic({
      type: 'bandwidth',
      stream: 'downstream',
      attributes: { rate: 16 },
    });
    await load(direct, topic, perPartition, 'second');
    await sleep(5000); // a few lag refreshes (1 s) see the new ends
    await network.setEnabled(false);
    log(`${system}: source cut`);
    const told = system === 'kafka-mirror' ? await report(file, admin) : undefined;
    await proc.stop();
    await network.removeToxic(toxic).catch(() => undefined);
    await network.reset();
    return {
      system,
      ...(await actuallyMissing(direct, dst, topic, remote, system)),
      reportedAtRisk: told?.atRisk ?? null,
      reportedFrom: told === undefined ? null : `${told.endsFrom} at ${told.endsAt}`,
    };
  } finally {
    await proc.stop();
    await network.reset().catch(() => undefined);
  }
}

/** What the target lacks, from both clusters: committed records, and source offsets after the last one copied. */
async function actuallyMissing(
  direct: KafkaClient,
  dst: KafkaClient,
  topic: string,
  remote: string,
  system: string,
): Promise<{ missingOffsets: number; missingRecords: number }> {
  const onSource = await readTopic(direct, topic);
  const onTarget = (await targetTotal(dst, remote)) > 0 ? await readTopic(dst, remote) : [];
  const byValue = new Map(onSource.map((r) => [r.value, Number(r.offset)]));
  const copied = new Set<string>();
  const last = new Map<number, number>();
  for (const r of onTarget) {
    const offset = system === 'mm2' ? (byValue.get(r.value) ?? -1) : Number(header(r, 'km.src.offset'));
    copied.add(`${r.partition}/${offset}`);
    last.set(r.partition, Math.max(last.get(r.partition) ?? -1, offset));
  }
  const ends = await withAdmin(direct, (a) => a.fetchTopicOffsets(topic));
  return {
    missingOffsets: ends.reduce((n, p) => n + Number(p.high) - 1 - (last.get(p.partition) ?? -1), 0),
    missingRecords: onSource.filter((r) => !copied.has(`${r.partition}/${r.offset}`)).length,
  };
}
