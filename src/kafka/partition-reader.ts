// Reads one partition's records in [from, to) as an async stream, for `kafka-mirror verify`. A
// kafkajs consumer in a throwaway group (it never commits) fetches only this partition from its
// log start (records before `from` are skipped; verify's ranges start at the log start, and
// kafkajs cannot seek before its group is joined); each batch waits until the reader has taken
// it, so memory holds one batch whatever the partition's size. It reads read_committed through
// the patched fetch path (kafkajs.ts), so records of aborted transactions are told apart as
// Kafka's consumer does, and a corrupt batch fails the read.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka as KafkaClient } from 'kafkajs';
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
  const { topic, from, to } = range;
  if (from >= to) return;
  const consumer = kafka.consumer({
    groupId: `kafka-mirror-verify-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1024 * 1024,
    readUncommitted: false,
  });
  const slot = new BatchSlot();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: handBatchesOver(consumer, range, options, slot) });
    consumer.on(consumer.events.CRASH, ({ payload }) => slot.fail(payload.error));
    for (;;) {
      const current = await slot.next(idleMs);
      if (current === undefined) return;
      for (const record of current.records) yield record;
      current.taken();
      if (Number(current.records.at(-1)?.offset) >= to - 1) return;
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** A batch's records in the range, waiting for the reader to take them. */
interface HandOver {
  readonly records: AuditRecord[];
  readonly taken: () => void;
}

/** Passes one batch at a time from kafkajs's eachBatch to the reader, or the read's first failure. */
class BatchSlot {
  #handOver: HandOver | undefined;
  #arrived: (() => void) | undefined;
  #failed: unknown;

  fail(error: unknown): void {
    this.#failed = error;
    this.#arrived?.();
  }

  /** Resolves when the reader has taken the records. */
  offer(records: AuditRecord[]): Promise<void> {
    const taken = new Promise<void>((resolve) => (this.#handOver = { records, taken: resolve }));
    this.#arrived?.();
    return taken;
  }

  /** The next batch; undefined after `idleMs` without one. Throws the read's failure. */
  async next(idleMs: number): Promise<HandOver | undefined> {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#handOver === undefined) {
      const waited = new Promise<void>((resolve) => (this.#arrived = resolve));
      const outcome = await Promise.race([
        waited.then(() => 'batch' as const),
        sleep(idleMs, 'idle' as const),
      ]);
      this.#arrived = undefined;
      if (this.#failed !== undefined) throw this.#failed;
      if (outcome === 'idle' && this.#handOver === undefined) return undefined;
    }
    const current = this.#handOver as unknown as HandOver;
    this.#handOver = undefined;
    return current;
  }
}

/** The eachBatch handler: the range's records of each batch offered to the reader, one batch at a time. */
function handBatchesOver(
  consumer: Consumer,
  { topic, partition, from, to }: PartitionRange,
  options: { aborted?: boolean },
  slot: BatchSlot,
): (payload: EachBatchPayload) => Promise<void> {
  return async ({ batch, heartbeat, isRunning }) => {
    if (batch.partition !== partition) {
      consumer.pause([{ topic, partitions: [batch.partition] }]);
      return;
    }
    const corrupt = corruptBatchOf(batch);
    if (corrupt !== undefined) {
      slot.fail(corrupt);
      return;
    }
    let fetched = batch.messages as unknown as AuditRecord[];
    if (options.aborted === true) fetched = withAborted(fetched, abortedRecordsOf(batch));
    const records = fetched.filter((m) => {
      const offset = Number(m.offset);
      return offset >= from && offset < to;
    });
    if (records.length === 0) return;
    const taken = slot.offer(records);
    // Backpressure: the next fetch waits for the reader; the group still needs heartbeats.
    while (isRunning() && (await Promise.race([taken.then(() => true), sleep(3000, false)])) === false)
      await heartbeat();
  };
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
