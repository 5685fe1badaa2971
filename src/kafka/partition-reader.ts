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
import { ReadStalledError } from '../errors/index.ts';
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
 * once the reader is idle (the range ends in transaction markers or compacted records): `idleMs`
 * without a batch of the partition AND at least IDLE_FETCHES fetches completed in that time, with
 * the clock started when the reader's group is joined. Idleness is measured in fetches, not only
 * in time, so a slow join or a broker slow to answer (a loaded machine) is never taken for the end
 * of the range, which verify would report as missing records. A group not joined within
 * JOIN_TIMEOUT_MS fails the read. With `aborted`, the records of aborted transactions are in the
 * stream too, marked `aborted` (verify's source side: a target record copied from one of them is a
 * leak).
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
  const slot = new BatchSlot(range);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, () => slot.progress());
    consumer.on(consumer.events.FETCH, () => slot.fetched());
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

/** Fetches without a batch of the partition, besides `idleMs`, before a read counts as idle. */
export const IDLE_FETCHES = 2;
/** How long the reader's throwaway group may take to join before the read fails. */
export const JOIN_TIMEOUT_MS = 120_000;
/** How often a waiting reader checks whether it is idle. */
const IDLE_CHECK_MS = 250;

/** Passes one batch at a time from kafkajs's eachBatch to the reader, or the read's first failure. */
class BatchSlot {
  #handOver: HandOver | undefined;
  #arrived: (() => void) | undefined;
  #failed: unknown;
  readonly #createdAt = Date.now();
  readonly range: PartitionRange;

  constructor(range: PartitionRange) {
    this.range = range;
  }
  /** When the group was joined or the partition last gave a batch (undefined: not joined yet). */
  #progressAt: number | undefined;
  #fetchesSinceProgress = 0;

  fail(error: unknown): void {
    this.#failed = error;
    this.#arrived?.();
  }

  /** The group joined, or a batch of the partition arrived (records in the range or before it). */
  progress(): void {
    this.#progressAt = Date.now();
    this.#fetchesSinceProgress = 0;
  }

  fetched(): void {
    this.#fetchesSinceProgress++;
  }

  /** Resolves when the reader has taken the records. */
  offer(records: AuditRecord[]): Promise<void> {
    const taken = new Promise<void>((resolve) => (this.#handOver = { records, taken: resolve }));
    this.#arrived?.();
    return taken;
  }

  /** The next batch; undefined once idle (see readPartition). Throws the read's failure. */
  async next(idleMs: number): Promise<HandOver | undefined> {
    while (this.#handOver === undefined) {
      if (this.#failed !== undefined) throw this.#failed;
      if (this.#idle(idleMs)) return undefined;
      const waited = new Promise<void>((resolve) => (this.#arrived = resolve));
      await Promise.race([waited, sleep(IDLE_CHECK_MS)]);
      this.#arrived = undefined;
    }
    if (this.#failed !== undefined) throw this.#failed;
    const current = this.#handOver;
    this.#handOver = undefined;
    return current;
  }

  #idle(idleMs: number): boolean {
    const now = Date.now();
    if (this.#progressAt === undefined) {
      if (now - this.#createdAt > JOIN_TIMEOUT_MS)
        throw new ReadStalledError(this.range.topic, this.range.partition, JOIN_TIMEOUT_MS);
      return false;
    }
    return now - this.#progressAt >= idleMs && this.#fetchesSinceProgress >= IDLE_FETCHES;
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
    slot.progress();
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
