// What every fault scenario shares: a steady stream of sequenced records written while the fault
// happens, a wait until the flow has committed everything, the audit by `verify`, and the results
// file (test/fault/results/latest.json) that docs/reliability.md reports.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { parseConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { verify, type VerifyReport } from '../../src/verify.ts';
import { repoRoot } from '../support/kafka/paths.ts';
import { withAdmin } from '../support/kafka-client.ts';
import { committedTotal } from '../support/replication-checks.ts';

export interface FaultResult {
  scenario: string;
  produced: number;
  replicated: number;
  lost: number;
  duplicated: number;
  reordered: number;
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
          value: `record-${String(sent + i).padStart(9, '0')}`,
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

/** Waits until the flow's group has committed every record of the topic; false on timeout. */
export async function settled(
  kafka: KafkaClient,
  group: string,
  topic: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const offsets = await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic)).catch(() => []);
    const end = offsets.reduce((n, p) => n + Number(p.high), 0);
    if (end > 0 && (await committedTotal(kafka, group, topic).catch(() => -1)) === end) return true;
    await sleep(500);
  }
  return false;
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
