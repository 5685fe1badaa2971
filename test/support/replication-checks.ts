// Invariant checks for replicated topics, by provenance: every target record carries the source
// offset it came from (km.src.offset), so loss, duplication and reordering are measured exactly.
import type { Kafka as KafkaClient } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { header, readTopic, withAdmin, type Consumed } from './kafka-client.ts';
import { eventually } from './settled.ts';

export interface PartitionAudit {
  partition: number;
  sourceRecords: number;
  targetRecords: number;
  missing: number[];
  duplicates: number;
  /** First occurrences whose source offset is lower than an earlier first occurrence. */
  reordered: number;
}

/** Compares one topic's source records with its target records, per partition. */
export function audit(source: readonly Consumed[], target: readonly Consumed[]): PartitionAudit[] {
  const partitions = new Set([...source.map((r) => r.partition), ...target.map((r) => r.partition)]);
  return [...partitions]
    .sort((a, b) => a - b)
    .map((partition) => {
      const expected = source.filter((r) => r.partition === partition).map((r) => Number(r.offset));
      const landed = target.filter((r) => r.partition === partition);
      const seen = new Set<number>();
      let duplicates = 0;
      let reordered = 0;
      let highest = -1;
      for (const record of landed) {
        const offset = Number(header(record, 'km.src.offset'));
        if (Number.isNaN(offset))
          throw new Error(`target record at ${partition}/${record.offset} has no km.src.offset header`);
        if (seen.has(offset)) {
          duplicates++;
          continue;
        }
        seen.add(offset);
        if (offset < highest) reordered++;
        highest = Math.max(highest, offset);
      }
      return {
        partition,
        sourceRecords: expected.length,
        targetRecords: landed.length,
        missing: expected.filter((o) => !seen.has(o)),
        duplicates,
        reordered,
      };
    });
}

export function totals(audits: readonly PartitionAudit[]) {
  return {
    missing: audits.reduce((n, a) => n + a.missing.length, 0),
    duplicates: audits.reduce((n, a) => n + a.duplicates, 0),
    reordered: audits.reduce((n, a) => n + a.reordered, 0),
    target: audits.reduce((n, a) => n + a.targetRecords, 0),
  };
}

/** Reads the whole topic on both sides and audits the copy: the totals of `audit`. */
export async function auditTopic(source: KafkaClient, target: KafkaClient, topic: string) {
  return totals(audit(await readTopic(source, topic), await readTopic(target, topic)));
}

/** Sum of end offsets (records written, on a fresh topic) of a topic. */
export async function endOffsetTotal(kafka: KafkaClient, topic: string): Promise<number> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

/** Waits until a topic holds at least `count` records; returns false on timeout. */
export async function waitForRecords(
  kafka: KafkaClient,
  topic: string,
  count: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await endOffsetTotal(kafka, topic)) >= count) return true;
    } catch {
      // topic not created yet
    }
    await sleep(250);
  }
  return false;
}

/** Sum of a group's committed offsets on a topic (what a restart resumes from). */
export async function committedTotal(kafka: KafkaClient, group: string, topic: string): Promise<number> {
  const [entry] = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  return (entry?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
}

/**
 * Waits until `group` has committed as many records as the topic holds now (endOffsetTotal, read
 * once: the records written before the call) and returns that count; fails after `timeoutMs`.
 */
export async function everyRecordCommitted(
  kafka: KafkaClient,
  group: string,
  topic: string,
  timeoutMs?: number,
): Promise<number> {
  const produced = await endOffsetTotal(kafka, topic);
  await eventually(
    `every record of ${topic} replicated and committed by ${group}`,
    async () => ((await committedTotal(kafka, group, topic)) === produced ? true : undefined),
    timeoutMs,
  );
  return produced;
}

/**
 * Waits until `group` has committed every record of the topic (committed offsets = end offsets):
 * everything is on the target. A count of records on the target is no such proof once a crash has
 * written some twice. Returns false on timeout.
 */
export async function waitForCommitted(
  kafka: KafkaClient,
  group: string,
  topic: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const offsets = await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic));
      const end = offsets.reduce((n, p) => n + Number(p.high), 0);
      if (end > 0 && (await committedTotal(kafka, group, topic)) === end) return true;
    } catch {
      // not there yet
    }
    await sleep(500);
  }
  return false;
}
