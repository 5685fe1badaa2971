// `mm2-default` and `mm2-tuned`: Apache MirrorMaker 2 in dedicated mode
// (org.apache.kafka.connect.mirror.MirrorMaker), from the same Maven Central jars as the brokers,
// in the JVM its own bin/connect-mirror-maker.sh starts.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { KafkaRuntime } from '../test/support/kafka/jars.ts';
import type { LoggedProcess } from '../test/support/kafka/logged-process.ts';
import { startJava } from '../test/support/kafka/perf-tools.ts';
import { exactly, type FlowNames } from './kafka-mirror-process.ts';

export type MirrorMakerFlavour = 'default' | 'tuned' | 'eos';

/**
 * mm2.properties. `default` changes only what a 1-node cluster and a one-topic comparison need:
 * replication factor 1 for the remote topics and for every internal topic (the defaults of 2 and 3
 * cannot be met), the cluster aliases, the topic include, and no ACL sync (the brokers have no
 * authorizer, so describing ACLs fails every refresh). Everything else, including the
 * DefaultReplicationPolicy (remote topic `<sourceAlias>.<topic>`), heartbeats, checkpoints and
 * topic-config sync, is MirrorMaker 2's default.
 *
 * `tuned` adds the throughput settings operators are told to use (see docs/performance.md):
 * - tasks.max = partitions: one task (one consumer and one producer) per partition instead of a
 *   single task for all of them.
 * - producer max.in.flight.requests.per.connection=5 with enable.idempotence=true: Connect forces
 *   one request in flight and no idempotence on source-task producers (Worker.baseProducerConfigs);
 *   idempotence keeps per-partition order with 5 in flight.
 * - producer batch.size=960 KiB (default 16 KiB) and linger.ms=10: large batches per partition,
 *   the size kafka-mirror's requests go up to (producer.maxRequestBytes).
 * - producer compression.type=none: the records are random letters, and MirrorMaker 2 recompresses
 *   every batch anyway; kept explicit.
 * - producer send.buffer.bytes=-1 and consumer receive.buffer.bytes=-1: the OS autotunes TCP
 *   buffers (Kafka's 128 KiB / 64 KiB caps a long link's window).
 * - consumer max.partition.fetch.bytes=4 MiB (default 1 MiB) and max.poll.records=2000 (default
 *   500): fewer, larger polls per task, which matters for 100-byte records.
 *
 * `eos` is `tuned` with exactly-once (KIP-618, MirrorMaker 2 3.5+ in dedicated mode, as the Kafka
 * documentation's geo-replication section says): `<target>.exactly.once.source.support=enabled`,
 * the internal REST server that dedicated mode needs for it (`dedicated.mode.enable.internal.rest`,
 * on a loopback port), and the source read read_committed.
 */
export function mirrorMakerProperties(
  source: { bootstrapServers: readonly string[] },
  target: { bootstrapServers: readonly string[] },
  names: FlowNames,
  flavour: MirrorMakerFlavour,
  partitions: number,
  restPort = 0,
): string {
  const s = names.sourceAlias;
  const t = names.targetAlias;
  const settings: Array<[string, string | number]> = [
    ['clusters', `${s}, ${t}`],
    [`${s}.bootstrap.servers`, source.bootstrapServers.join(',')],
    [`${t}.bootstrap.servers`, target.bootstrapServers.join(',')],
    [`${s}->${t}.enabled`, 'true'],
    [`${s}->${t}.topics`, exactly(names.topic)],
    [`${t}->${s}.enabled`, 'false'],
    // 1-node clusters.
    ['replication.factor', 1],
    ['offset-syncs.topic.replication.factor', 1],
    ['checkpoints.topic.replication.factor', 1],
    ['heartbeats.topic.replication.factor', 1],
    ['config.storage.replication.factor', 1],
    ['offset.storage.replication.factor', 1],
    ['status.storage.replication.factor', 1],
    // No authorizer on the brokers.
    ['sync.topic.acls.enabled', 'false'],
  ];
  if (flavour === 'tuned' || flavour === 'eos') {
    settings.push(
      [`${s}->${t}.tasks.max`, partitions],
      [`${t}.producer.enable.idempotence`, 'true'],
      [`${t}.producer.max.in.flight.requests.per.connection`, 5],
      [`${t}.producer.batch.size`, 983_040],
      [`${t}.producer.linger.ms`, 10],
      [`${t}.producer.compression.type`, 'none'],
      [`${t}.producer.send.buffer.bytes`, -1],
      [`${s}.consumer.max.partition.fetch.bytes`, 4_194_304],
      [`${s}.consumer.max.poll.records`, 2000],
      [`${s}.consumer.receive.buffer.bytes`, -1],
    );
  }
  if (flavour === 'eos') {
    settings.push(
      [`${t}.exactly.once.source.support`, 'enabled'],
      ['dedicated.mode.enable.internal.rest', 'true'],
      ['listeners', `http://127.0.0.1:${restPort}`],
      [`${s}.consumer.isolation.level`, 'read_committed'],
    );
  }
  return settings.map(([key, value]) => `${key} = ${String(value)}`).join('\n') + '\n';
}

/** Starts MirrorMaker 2 with connect-mirror-maker.sh's heap (-Xms256M -Xmx2G) and Kafka's JVM options. */
export async function startMirrorMaker(
  runtime: KafkaRuntime,
  source: { bootstrapServers: readonly string[] },
  target: { bootstrapServers: readonly string[] },
  names: FlowNames,
  flavour: MirrorMakerFlavour,
  partitions: number,
  runDir: string,
  label: string,
): Promise<LoggedProcess> {
  const file = path.join(runDir, `${label}.properties`);
  const restPort = flavour === 'eos' ? await freePort() : 0;
  await writeFile(file, mirrorMakerProperties(source, target, names, flavour, partitions, restPort));
  return startJava(
    runtime,
    label,
    ['-Xms256M', '-Xmx2G'],
    'org.apache.kafka.connect.mirror.MirrorMaker',
    [file],
    runDir,
  );
}

/** A loopback TCP port free right now (for MirrorMaker 2's internal REST server). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}
