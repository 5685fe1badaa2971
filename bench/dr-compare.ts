// `npm run bench:dr`: consumer-group failover side by side. The same source topic (with a
// committed and an aborted transaction, so offsets have gaps) and the same source consumer-group
// position are replicated by kafka-mirror (group offset sync) and by Apache MirrorMaker 2
// (checkpoints with sync.group.offsets), each to its own remote topic on one target cluster. Then
// a consumer of the group continues on the target from the offsets each system synced, and every
// record it reads is mapped back to its source offset (kafka-mirror: km.src.offset; MirrorMaker
// 2 does not say, so each value is unique and looked up on the source). Counted per system:
// records replayed (before the group's source position) and skipped (at or after it, never read).
// Then the divergence report's accuracy (bench/dr-divergence.ts): records at risk reported while
// the source is down vs records missing once it returns. DR_PHASES=groups or =divergence runs one
// part only (the other's last results are kept). Bounded: one run, fixed record counts. Results:
// bench/results/dr.json, printed as tables; docs/disaster-recovery.md shows them.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { productionEnv, productionNodeFlags } from '../test/support/daemon.ts';
import { startClusterPair } from '../test/support/cluster-pair.ts';
import { ensureKafkaRuntime } from '../test/support/kafka/index.ts';
import { LoggedProcess } from '../test/support/kafka/logged-process.ts';
import { cacheDir, repoRoot } from '../test/support/kafka/paths.ts';
import { startJava } from '../test/support/kafka/perf-tools.ts';
import {
  committedOn,
  consumeAsGroup,
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
} from '../test/support/kafka-client.ts';
import { divergenceRow, type DivergenceRow } from './dr-divergence.ts';
import { exactly } from './kafka-mirror-process.ts';
import { mirrorMakerProperties } from './mirror-maker.ts';

const PARTITIONS = 3;
const PER_PARTITION = Number(process.env['DR_RECORDS_PER_PARTITION'] ?? 20_000);
const DIVERGENCE_PER_PARTITION = Number(process.env['DR_DIVERGENCE_RECORDS_PER_PARTITION'] ?? 2000);
const PHASES = new Set((process.env['DR_PHASES'] ?? 'groups,divergence').split(','));
const resultsFile = path.join(repoRoot, 'bench/results/dr.json');
const runDir = path.join(cacheDir, 'bench', 'dr', new Date().toISOString().replace(/[:.]/g, '-'));
await mkdir(runDir, { recursive: true });
const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(1000);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

const runtime = await ensureKafkaRuntime();
const clusters = await startClusterPair({
  source: { name: 'dr-source', toxiproxy: true },
  target: { name: 'dr-target' },
});
const { source, target, src, dst } = clusters;
const processes: LoggedProcess[] = [];
try {
  const topic = `orders-${Date.now().toString(36)}`;
  const group = `billing-${Date.now().toString(36)}`;
  await createTopic(src, topic, { partitions: PARTITIONS });
  let serial = 0;
  const batch = (count: number, label: string) =>
    Array.from({ length: count * PARTITIONS }, () => ({
      partition: serial % PARTITIONS,
      key: String(serial),
      value: `${label}-${serial++}`,
    }));
  log(`preloading ${PER_PARTITION * PARTITIONS} records with transactions into ${topic}`);
  await produceAll(src, topic, batch(PER_PARTITION / 2, 'plain'));
  const tx = src.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
  await tx.connect();
  for (const outcome of ['commit', 'abort', 'commit'] as const) {
    const transaction = await tx.transaction();
    await transaction.send({ topic, messages: batch(100, outcome) });
    await (outcome === 'commit' ? transaction.commit() : transaction.abort());
  }
  await tx.disconnect();
  await produceAll(src, topic, batch(PER_PARTITION / 2 - 200, 'plain'));

  // The source as a read_committed consumer sees it, and where the group stands: at 37%, 50% and
  // 83% of each partition's records (offsets that are not multiples of anything MirrorMaker 2 syncs on).
  const onSource = await readTopic(src, topic);
  const byValue = new Map(
    onSource.map((r) => [r.value, { partition: r.partition, offset: Number(r.offset) }]),
  );
  const positions = [0.37, 0.5, 0.83].map((share, partition) => {
    const offsets = onSource.filter((r) => r.partition === partition).map((r) => Number(r.offset));
    return { partition, offset: offsets[Math.floor(offsets.length * share)] ?? 0 };
  });
  await withAdmin(src, (a) =>
    a.setOffsets({
      groupId: group,
      topic,
      partitions: positions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
    }),
  );
  log(`group ${group} committed at ${positions.map((p) => `${p.partition}:${p.offset}`).join(', ')}`);

  const systems = [
    {
      name: 'kafka-mirror',
      alias: 'km',
      start: async () => {
        const file = path.join(runDir, 'kafka-mirror.json');
        await writeFile(
          file,
          JSON.stringify({
            clusters: {
              km: { bootstrapServers: source.bootstrapServers },
              dst: { bootstrapServers: target.bootstrapServers },
            },
            flows: [
              {
                source: 'km',
                target: 'dst',
                topics: { include: [exactly(topic)] },
                naming: 'prefix',
                groupOffsetSync: { enabled: true, include: [exactly(group)], intervalMs: 1000 },
              },
            ],
            admin: { host: '127.0.0.1', port: 0 },
          }),
        );
        return LoggedProcess.start(
          'kafka-mirror',
          process.execPath,
          [...productionNodeFlags, path.join(repoRoot, 'dist/cli.js'), 'start', '--config', file],
          {
            logFile: path.join(runDir, 'kafka-mirror.log'),
            env: { ...process.env, ...productionEnv },
          },
        );
      },
      sourceOffsetOf: (r: { value: string | null; headers: unknown }) =>
        Number(header(r as Parameters<typeof header>[0], 'km.src.offset')),
    },
    {
      name: 'mm2',
      alias: 'mm',
      start: async () => {
        const file = path.join(runDir, 'mm2.properties');
        // The benchmark's mm2-default settings (1-node clusters, this topic), plus what operators
        // are told to set for failover: sync group offsets, often.
        const names = { sourceAlias: 'mm', targetAlias: 'dst', topic };
        const failover: Array<[string, string | number]> = [
          ['mm->dst.groups', exactly(group)],
          ['mm->dst.sync.group.offsets.enabled', 'true'],
          ['mm->dst.sync.group.offsets.interval.seconds', 1],
          ['mm->dst.emit.checkpoints.interval.seconds', 1],
          ['refresh.groups.interval.seconds', 1],
          ['refresh.topics.interval.seconds', 1],
        ];
        await writeFile(
          file,
          mirrorMakerProperties(source, target, names, 'default', PARTITIONS) +
            failover.map(([k, v]) => `${k} = ${String(v)}`).join('\n') +
            '\n',
        );
        return startJava(
          runtime,
          'mm2',
          ['-Xms256M', '-Xmx2G'],
          'org.apache.kafka.connect.mirror.MirrorMaker',
          [file],
          runDir,
        );
      },
      sourceOffsetOf: (r: { value: string | null }) => byValue.get(r.value)?.offset ?? NaN,
    },
  ];

  const results = [];
  for (const system of PHASES.has('groups') ? systems : []) {
    const remote = `${system.alias}.${topic}`;
    log(`${system.name}: replicating to ${remote} and syncing ${group}`);
    const started = Date.now();
    const proc = await system.start();
    processes.push(proc);
    await until(`${system.name}: every record on the target`, async () => {
      const ends = await withAdmin(dst, (a) => a.fetchTopicOffsets(remote));
      return ends.reduce((n, p) => n + Number(p.high), 0) >= onSource.length ? true : undefined;
    });
    // Offsets synced for every partition, and unchanged for 10 s (the system has settled).
    let last = '';
    let stableSince = Date.now();
    const synced = await until(
      `${system.name}: the group's offsets on the target`,
      async () => {
        const offsets = await committedOn(dst as KafkaClient, group, remote);
        const key = JSON.stringify([...offsets]);
        if (key !== last) {
          last = key;
          stableSince = Date.now();
        }
        const complete = [...offsets.values()].filter((o) => o >= 0).length === PARTITIONS;
        return complete && Date.now() - stableSince >= 10_000 ? offsets : undefined;
      },
      240_000,
    ).catch(async () => committedOn(dst as KafkaClient, group, remote));
    const syncSeconds = (Date.now() - started) / 1000;
    await proc.stop();
    const untranslated = [...synced.values()].filter((o) => o < 0).length;
    // The consumer continues on the target (auto.offset.reset earliest where nothing was synced).
    const consumed = await consumeAsGroup(dst, group, remote);
    const read = new Set(consumed.map((r) => `${r.partition}/${system.sourceOffsetOf(r)}`));
    const position = (p: number) => positions[p]?.offset ?? 0;
    const replayed = consumed.filter((r) => system.sourceOffsetOf(r) < position(r.partition)).length;
    const skipped = onSource.filter(
      (r) => Number(r.offset) >= position(r.partition) && !read.has(`${r.partition}/${r.offset}`),
    ).length;
    const row = {
      system: system.name,
      targetOffsets: Object.fromEntries(synced),
      untranslatedPartitions: untranslated,
      replayed,
      skipped,
      secondsToSync: Math.round(syncSeconds),
    };
    log(JSON.stringify(row));
    results.push(row);
  }
  const divergence: DivergenceRow[] = [];
  for (const system of PHASES.has('divergence') ? (['kafka-mirror', 'mm2'] as const) : []) {
    const setup = { source, target, dst, runtime, runDir, log, perPartition: DIVERGENCE_PER_PARTITION };
    const row = await divergenceRow(setup, system);
    log(JSON.stringify(row));
    divergence.push(row);
  }
  const previous = JSON.parse(await readFile(resultsFile, 'utf8').catch(() => '{}')) as Record<
    string,
    unknown
  >;
  const now = new Date().toISOString();
  const report = {
    ...previous,
    machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kafkaVersion: runtime.version,
    ...(PHASES.has('groups')
      ? { date: now, records: onSource.length, partitions: PARTITIONS, groupPositions: positions, results }
      : {}),
    ...(PHASES.has('divergence')
      ? { divergenceDate: now, divergenceRecordsPerPartition: DIVERGENCE_PER_PARTITION, divergence }
      : {}),
  };
  await writeFile(resultsFile, JSON.stringify(report, null, 2) + '\n');
  console.log('\n| system | replayed | skipped | partitions not translated |\n| --- | ---: | ---: | ---: |');
  for (const r of results)
    console.log(`| ${r.system} | ${r.replayed} | ${r.skipped} | ${r.untranslatedPartitions} |`);
  console.log(
    '\n| system | at risk reported, source down | offsets missing | records missing |\n| --- | ---: | ---: | ---: |',
  );
  for (const r of divergence)
    console.log(
      `| ${r.system} | ${r.reportedAtRisk ?? 'not available'} | ${r.missingOffsets} | ${r.missingRecords} |`,
    );
} finally {
  await Promise.allSettled(processes.map((p) => p.stop()));
  await clusters.stop().catch(() => undefined);
}
