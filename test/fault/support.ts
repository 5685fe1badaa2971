// What every fault scenario shares: a steady stream of sequenced records written while the fault
// happens, the audit by `verify`, and the results file (test/fault/results/latest.json) that
// docs/reliability.md reports. The wait until the flow has committed everything is
// replication-checks.ts's waitForCommitted.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { verify, type VerifyReport } from '../../src/tools/verify.ts';
import { promisify } from 'node:util';
import { ensureKafkaRuntime, type KafkaCluster } from '../support/kafka/index.ts';
import { repoRoot } from '../support/kafka/paths.ts';
import { javaArgs } from '../support/kafka/perf-tools.ts';
import { client, withAdmin } from '../support/kafka-client.ts';

export interface FaultResult {
  scenario: string;
  produced: number;
  replicated: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Records of aborted source transactions found on the target (scenarios with source transactions). */
  aborted?: number;
  seconds: number;
}

export const RESULTS_FILE = path.join(repoRoot, 'test/fault/results/latest.json');

/**
 * Writes `total` records at `perSecond` (bounded: it stops after `total`), keys and values
 * numbered, spread over the topic's partitions. Resolves with the number acknowledged.
 */
export async function stream(
  kafka: KafkaClient,
  topic: string,
  total: number,
  perSecond: number,
  /** Pads each value to this many bytes (0: just the number). */
  valueBytes = 0,
): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = Date.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * perSecond));
      if (due > sent) {
        const messages = Array.from({ length: due - sent }, (_, i) => ({
          key: String(sent + i),
          value: `record-${String(sent + i).padStart(9, '0')}`.padEnd(valueBytes, '.'),
        }));
        await producer.send({ topic, acks: -1, messages });
        sent = due;
      }
      await sleep(50);
    }
  } finally {
    await producer.disconnect();
  }
  return sent;
}

/** `kafka-mirror verify` of one flow, in process. */
export async function audit(config: object, flow: string): Promise<VerifyReport> {
  return verify(parseConfig(config), createLogger({ level: 'error', destination: process.stderr }), { flow });
}

/** Replaces the scenario's entry in the results file (kept sorted by scenario). */
export async function record(result: FaultResult): Promise<void> {
  let results: FaultResult[] = [];
  try {
    results = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as FaultResult[];
  } catch {
    // first result
  }
  results = [...results.filter((r) => r.scenario !== result.scenario), result].sort((a, b) =>
    a.scenario.localeCompare(b.scenario),
  );
  await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
}

export function resultOf(
  scenario: string,
  produced: number,
  report: VerifyReport,
  startedAt: number,
): FaultResult {
  return {
    scenario,
    produced,
    replicated: report.totals.replicated,
    lost: report.totals.missing,
    duplicated: report.totals.duplicated,
    reordered: report.totals.reordered,
    seconds: Math.round((Date.now() - startedAt) / 1000),
  };
}

/**
 * Moves the leader of every partition of `topic` to another node while all nodes stay up: each
 * replica list is rotated by a reassignment (same replicas, new preferred leader first), then
 * Kafka's own LeaderElectionCommand runs a preferred-leader election. Returns how many partitions
 * changed leader.
 */
export async function moveLeaders(cluster: KafkaCluster, topic: string): Promise<number> {
  const kafka = client(cluster.bootstrapServers);
  const leaders = async () => {
    const { topics } = await withAdmin(kafka, (a) => a.fetchTopicMetadata({ topics: [topic] }));
    return new Map((topics[0]?.partitions ?? []).map((p) => [p.partitionId, p]));
  };
  const before = await leaders();
  await withAdmin(kafka, async (admin) => {
    await admin.alterPartitionReassignments({
      topics: [
        {
          topic,
          partitionAssignment: [...before.values()].map((p) => ({
            partition: p.partitionId,
            replicas: [...p.replicas.slice(1), ...p.replicas.slice(0, 1)],
          })),
        },
      ],
    });
    // Same replicas in a new order: nothing to copy, the reassignment completes at once.
    for (let i = 0; i < 100; i++) {
      const { topics } = await admin.listPartitionReassignments({
        topics: [{ topic, partitions: [...before.keys()] }],
      });
      if (topics.every((t) => t.partitions.length === 0)) break;
      await sleep(100);
    }
  });
  const runtime = await ensureKafkaRuntime(cluster.kafkaVersion);
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'km-election-')), 'partitions.json');
  await writeFile(
    file,
    JSON.stringify({ partitions: [...before.keys()].map((partition) => ({ topic, partition })) }),
  );
  try {
    await promisify(execFile)(
      'java',
      javaArgs(
        runtime,
        { heap: ['-Xmx128m'], profile: 'test' },
        'org.apache.kafka.tools.LeaderElectionCommand',
        [
          '--bootstrap-server',
          cluster.bootstrapServers.join(','),
          '--election-type',
          'PREFERRED',
          '--path-to-json-file',
          file,
        ],
      ),
      { maxBuffer: 4 * 1024 * 1024 },
    );
  } finally {
    await rm(path.dirname(file), { recursive: true, force: true });
  }
  const after = await leaders();
  return [...after].filter(([id, p]) => p.leader !== before.get(id)?.leader).length;
}
