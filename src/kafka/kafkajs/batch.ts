// Replaces kafkajs/src/consumer/batch.js, the Batch of one fetched partition, which
// consumer/consumerGroup.js captures, with a subclass of it.
//
// Why: kafkajs's Batch lacks three things of Kafka's consumer. Aborted transactions are filtered
// per record batch (read-committed.ts). A fetch that moves the position without a record to copy
// (markers, aborted records, emptied batches) is handed on to eachBatch runners (isEmpty,
// lastOffset below; runner.ts). A batch that failed its check (record-batches.ts) is never passed
// over: its records and those after it are not decoded (decode-messages.ts), the batch is handed
// on even when nothing before the bad batch remains (so the reader learns of it, corruptBatchOf),
// and its last offset stops before the bad batch, so no position moves past it. And speed: the
// offset filter is in plain numbers while they are exact (kafkajs parsed a Long from every
// record's offset).
import type * as KafkaJs from 'kafkajs';
import { CorruptRecordBatchError } from '../../errors/index.ts';
import type { InvalidBatch } from '../../protocol/record-batches.ts';
import { kafkajsModule, replaceModule, type ModuleSwap } from './module-cache.ts';
import { splitCommitted, type BatchMessage, type WireAbortedTransaction } from './read-committed.ts';
import { fetchedSet } from './record-sets.ts';
import { handedToEachBatch } from './runner.ts';

export const swap: ModuleSwap = {
  module: 'consumer/batch.js',
  capturedBy: ['consumer/consumerGroup.js'],
};

/** A fetched partition as kafkajs's fetch response decoder hands it to Batch. */
interface BatchData {
  messages: BatchMessage[];
  abortedTransactions?: WireAbortedTransaction[];
}

/** kafkajs's Batch, as far as the patch uses it. */
interface KafkaJsBatch {
  topic: string;
  partition: number;
  fetchedOffset: string;
  isEmpty(): boolean;
  lastOffset(): string;
}
type BatchClass = new (topic: string, fetchedOffset: string, data: BatchData) => KafkaJsBatch;

const abortedOf = new WeakMap<object, BatchMessage[]>();

/** Whether a record is at or after the fetched offset: in numbers while they are exact. */
function atOrAfter(fetchedOffset: string): (m: BatchMessage) => boolean {
  const from = Number(fetchedOffset);
  if (from <= Number.MAX_SAFE_INTEGER) return (m) => Number(m.offset) >= from;
  const exact = BigInt(fetchedOffset);
  return (m) => BigInt(m.offset) >= exact;
}

const invalidOf = (batch: KafkaJsBatch): InvalidBatch | undefined =>
  fetchedSet(batch as unknown as KafkaJs.Batch)?.invalid;

/** Where the record set ends when that is past the fetched offset. */
function endOf(batch: KafkaJsBatch): number | undefined {
  const next = fetchedSet(batch as unknown as KafkaJs.Batch)?.nextOffset;
  return next !== undefined && next > Number(batch.fetchedOffset) ? next : undefined;
}

/**
 * The offset before where the record set ends (its last complete batch, emptied ones included),
 * or before a corrupt batch; kafkajs's `lastOffset` when it ends nowhere past the fetched offset.
 */
function lastOffsetOf(batch: KafkaJsBatch, kafkajsLastOffset: () => string): string {
  const invalid = invalidOf(batch);
  if (invalid === undefined) {
    const end = endOf(batch);
    return end === undefined ? kafkajsLastOffset() : String(end - 1);
  }
  const fetched = BigInt(batch.fetchedOffset);
  return String((invalid.baseOffset > fetched ? invalid.baseOffset : fetched) - 1n);
}

function patchedBatch(KafkaBatch: BatchClass): BatchClass {
  return class Batch extends KafkaBatch {
    constructor(topic: string, fetchedOffset: string, data: BatchData) {
      super(topic, fetchedOffset, { ...data, messages: [], abortedTransactions: [] });
      const within = atOrAfter(fetchedOffset);
      const { committed, aborted } = splitCommitted(data.messages, data.abortedTransactions);
      Object.assign(this, {
        rawMessages: data.messages,
        messagesWithinOffset: data.messages.filter(within),
        messages: committed.filter(within),
      });
      if (aborted.length > 0) abortedOf.set(this, aborted.filter(within));
    }

    /**
     * For an eachBatch runner, not empty either while its record set ends past the fetched offset
     * with nothing to return (transaction markers, aborted records, batches emptied by compaction):
     * kafkajs's runner hands only non-empty batches to eachBatch, so the reader could not move past
     * them. As Kafka's CompletedFetch.nextFetchedRecord and FetchCollector.fetchRecords, whose
     * position passes every fetched batch, also when nothing is returned. An eachMessage runner
     * keeps kafkajs's own path for them (it resolves lastOffset without handing anything on).
     */
    override isEmpty(): boolean {
      return (
        super.isEmpty() &&
        invalidOf(this) === undefined &&
        !(handedToEachBatch(this) && endOf(this) !== undefined)
      );
    }

    override lastOffset(): string {
      return lastOffsetOf(this, () => super.lastOffset());
    }
  };
}

export function installBatch(): void {
  replaceModule('batch.ts', swap, patchedBatch(kafkajsModule<BatchClass>(swap.module)));
}

/** The records of aborted transactions a fetched batch skipped (at or after its fetched offset), in offset order. */
export function abortedRecordsOf(batch: KafkaJs.Batch): readonly unknown[] {
  return abortedOf.get(batch) ?? [];
}

/** The batch of a fetched partition that failed its check (record-batches.ts), as the error that halts the partition. */
export function corruptBatchOf(batch: KafkaJs.Batch): CorruptRecordBatchError | undefined {
  const invalid = fetchedSet(batch)?.invalid;
  return invalid === undefined
    ? undefined
    : new CorruptRecordBatchError(batch.topic, batch.partition, Number(invalid.baseOffset), invalid.reason);
}
