// Reads one partition's records in [from, to) as an async stream, for `kafka-mirror verify`. A
// kafkajs consumer in a throwaway group (it never commits) fetches only this partition from its
// log start (records before `from` are skipped; verify's ranges start at the log start, and
// kafkajs cannot seek before its group is joined); each batch waits until the reader has taken
// it, so memory holds one batch whatever the partition's size. It reads read_committed through
// the patched fetch path (kafkajs.ts), so records of aborted transactions are told apart as
// Kafka's consumer does, and a corrupt batch fails the read.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import type { AuditRecord } from '../replication/audit.ts';
import { abortedRecordsOf, corruptBatchOf } from './kafkajs/index.ts';

export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
}

/**
 * The records of the range in offset order. It ends at the first record at or past `to - 1`, or
 * after `idleMs` without a record (the range ends in transaction markers or compacted records).
 * With `aborted`, the records of aborted transactions are in the stream too, marked `aborted`
 * (verify's source side: a target record copied from one of them is a leak).
 */
export async function* readPartition(
  kafka: KafkaClient,
  range: PartitionRange,
  idleMs = 10_000,
  options: { aborted?: boolean } = {},
): AsyncGenerator<AuditRecord> {
  const { topic, partition, from, to } = range;
  if (from >= to) return;
  const consumer = kafka.consumer({
    groupId: `kafka-mirror-verify-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1024 * 1024,
    readUncommitted: false,
  });
  let handOver: { records: AuditRecord[]; taken: () => void } | undefined;
  let arrived: (() => void) | undefined;
  let failed: unknown;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        if (batch.partition !== partition) {
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          return;
        }
        const corrupt = corruptBatchOf(batch);
        if (corrupt !== undefined) {
          failed = corrupt;
          arrived?.();
          return;
        }
        let fetched = batch.messages as unknown as AuditRecord[];
        if (options.aborted === true) fetched = withAborted(fetched, abortedRecordsOf(batch));
        const records = fetched.filter((m) => {
          const offset = Number(m.offset);
          return offset >= from && offset < to;
        });
        if (records.length === 0) return;
        const taken = new Promise<void>((resolve) => (handOver = { records, taken: resolve }));
        arrived?.();
        // Backpressure: the next fetch waits for the reader; the group still needs heartbeats.
        while (isRunning() && (await Promise.race([taken.then(() => true), sleep(3000, false)])) === false)
          await heartbeat();
      },
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      failed = payload.error;
      arrived?.();
    });
    for (;;) {
      if (failed !== undefined) throw failed;
      if (handOver === undefined) {
        const waited = new Promise<void>((resolve) => (arrived = resolve));
        const outcome = await Promise.race([
          waited.then(() => 'batch' as const),
          sleep(idleMs, 'idle' as const),
        ]);
        arrived = undefined;
        if (failed !== undefined) throw failed;
        if (outcome === 'idle' && handOver === undefined) return;
      }
      const current = handOver as unknown as { records: AuditRecord[]; taken: () => void };
      handOver = undefined;
      for (const record of current.records) yield record;
      current.taken();
      if (Number(current.records.at(-1)?.offset) >= to - 1) return;
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** Two offset-ordered lists merged, the records of aborted transactions marked. */
function withAborted(committed: readonly AuditRecord[], aborted: readonly unknown[]): AuditRecord[] {
  if (aborted.length === 0) return committed as AuditRecord[];
  const marked = (aborted as AuditRecord[]).map((r) => ({ ...r, aborted: true }));
  const merged: AuditRecord[] = [];
  let i = 0;
  for (const record of committed) {
    while (i < marked.length && Number((marked[i] as AuditRecord).offset) < Number(record.offset))
      merged.push(marked[i++] as AuditRecord);
    merged.push(record);
  }
  while (i < marked.length) merged.push(marked[i++] as AuditRecord);
  return merged;
}
