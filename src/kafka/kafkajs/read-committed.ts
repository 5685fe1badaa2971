// Not a patch: read_committed filtering over a fetched partition's decoded records, as Kafka's
// consumer does it (aborted-transactions.ts), used by the patched Batch (batch.ts) and by
// raw-client's reads. It takes the place of kafkajs's own filter (consumer/filterAbortedMessages.js),
// which steps into the aborted transactions in the order they are listed, while a broker lists
// them in the order of their markers: with transactions interleaved it returned aborted records
// (test/unit/kafka/kafkajs/read-committed.test.ts).
import { KafkaJsPatchError } from '../../errors/index.ts';
import { abortedBatches } from '../../protocol/aborted-transactions.ts';
import { fetchedRecordSet } from './record-sets.ts';

/** A decoded record as far as filtering needs it. */
export interface BatchMessage {
  offset: string;
  isControlRecord?: boolean;
  /** The record's batch (the patched decoder's batchContext); legacy message sets have none. */
  batchContext?: { firstOffset?: string };
}

/** An aborted transaction as kafkajs decodes it from a fetch response. */
export interface WireAbortedTransaction {
  producerId: string;
  firstOffset: string;
}

/**
 * A fetched partition's decoded records as Kafka's read_committed consumer reads them
 * (aborted-transactions.ts): the data records it returns, and those of aborted transactions it
 * skips. Control records are in neither. `records` is the array the fetch decoded them into (its
 * record set says where each batch ends).
 */
export function splitCommitted<M extends BatchMessage>(
  records: M[],
  abortedTransactions: readonly WireAbortedTransaction[] | null | undefined,
): { committed: M[]; aborted: M[] } {
  const data = (m: M) => m.isControlRecord !== true;
  if (abortedTransactions === null || abortedTransactions === undefined || abortedTransactions.length === 0)
    return { committed: records.filter(data), aborted: [] };
  const set = fetchedRecordSet(records);
  if (set === undefined)
    throw new KafkaJsPatchError(
      'decode-messages.ts',
      'records of a fetch with aborted transactions were not decoded through the patched decoder',
    );
  const transactions = abortedTransactions.map((a) => ({
    producerId: BigInt(a.producerId),
    firstOffset: BigInt(a.firstOffset),
  }));
  // Each record names its batch by the batch's base offset (kafkajs's batchContext.firstOffset).
  const skipped = new Set(abortedBatches(set.batches, transactions).map((b) => String(b.baseOffset)));
  if (skipped.size === 0) return { committed: records.filter(data), aborted: [] };
  const committed: M[] = [];
  const aborted: M[] = [];
  for (const m of records) {
    if (!data(m)) continue;
    const base = m.batchContext?.firstOffset;
    (base !== undefined && skipped.has(base) ? aborted : committed).push(m);
  }
  return { committed, aborted };
}
