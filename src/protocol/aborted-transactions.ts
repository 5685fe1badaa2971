// Which record batches of a read_committed fetch belong to aborted transactions. A broker answers a
// read_committed fetch with every batch up to the last stable offset and the list of aborted
// transactions that overlap them: (producer id, first offset) pairs, in the order of their abort
// markers, not of their first offsets; and a fetch can start inside several of them. kafkajs's
// filterAbortedMessages assumed first-offset order and entered one transaction per record, so
// records of aborted transactions came through as committed (issue 19). This is Kafka's own
// consumer instead. Pure: imports no client, so it can move to a protocol layer.
import { ControlRecordType } from './record-batches.ts';

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** What the filter reads of a batch (record-batches.ts's RecordBatchHeader has it). */
export interface TransactionalBatch {
  readonly lastOffset: bigint;
  /** -1: no producer id. */
  readonly producerId: bigint;
  readonly transactional: boolean;
  readonly control: boolean;
  readonly controlType: number | undefined;
}

/**
 * The data batches a read_committed consumer skips, in order, as Kafka's CompletedFetch
 * (clients/src/main/java/org/apache/kafka/clients/consumer/internals/CompletedFetch.java,
 * nextFetchedRecord): the aborted transactions are taken in order of first offset (its priority
 * queue); on reaching a batch with a producer id, every aborted transaction that began at or
 * before the batch's last offset puts its producer id in the aborted set
 * (consumeAbortedTransactionsUpTo); a transactional data batch of a producer in the set is
 * skipped (isBatchAborted), and that producer's ABORT marker takes it out of the set again
 * (containsAbortMarker). Control batches are never returned and are not listed here.
 */
export function abortedBatches<B extends TransactionalBatch>(
  batches: readonly B[],
  abortedTransactions: readonly AbortedTransaction[],
): B[] {
  if (abortedTransactions.length === 0) return [];
  const pending = [...abortedTransactions].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  let next = 0;
  const abortedProducers = new Set<bigint>();
  const skipped: B[] = [];
  for (const batch of batches) {
    if (batch.producerId < 0n) continue; // RecordBatch.hasProducerId
    for (
      ;
      next < pending.length && (pending[next] as AbortedTransaction).firstOffset <= batch.lastOffset;
      next++
    )
      abortedProducers.add((pending[next] as AbortedTransaction).producerId);
    if (batch.control) {
      if (batch.controlType === ControlRecordType.ABORT) abortedProducers.delete(batch.producerId);
    } else if (batch.transactional && abortedProducers.has(batch.producerId)) {
      skipped.push(batch);
    }
  }
  return skipped;
}
