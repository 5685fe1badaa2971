// Not a patch: what the patched fetch decoder (decode-messages.ts) records of each fetched
// partition's record set, read from its batch headers, keyed by the array kafkajs decoded the
// partition's records into (which kafkajs's Batch keeps as `rawMessages`). The patched Batch
// (batch.ts), read_committed filtering (read-committed.ts), the fetch order (broker-fetch.ts) and
// the fetch sizer (../fetch-sizer.ts, through the source reader) read it.
import type * as KafkaJs from 'kafkajs';
import { readRecordSet, type InvalidBatch, type RecordBatchHeader } from '../../protocol/record-batches.ts';
import { decodedBatches } from './decode-budget.ts';

/** What a partition's record set in a fetch response held: its complete record batches. */
export interface FetchedRecordSet {
  /** Wire bytes of the complete batches (a trailing partial batch, cut by the size limit, is not counted). */
  readonly wireBytes: number;
  /** The offset after the last complete batch (its base offset + last offset delta + 1), or undefined if none. */
  readonly nextOffset: number | undefined;
  /** Compression codec (attributes & 7) of the first data batch (control batches are never compressed), or undefined if none. */
  readonly codec: number | undefined;
  /** The complete v2 batches, in offset order (before the first invalid one). */
  readonly batches: readonly RecordBatchHeader[];
  /** The first batch that failed its check: neither it nor anything after it was decoded. */
  readonly invalid: InvalidBatch | undefined;
}

const fetchedSets = new WeakMap<object, FetchedRecordSet>();

/** Records the record set the records of a fetched partition were decoded from. */
export function recordFetchedSet(records: object, set: FetchedRecordSet): void {
  fetchedSets.set(records, set);
}

/** The record set a fetched partition's decoded records came from (the array kafkajs decoded them into). */
export function fetchedRecordSet(records: object): FetchedRecordSet | undefined {
  return fetchedSets.get(records);
}

/**
 * The record set of one fetched partition batch: the wire size of its complete record batches
 * (compressed, as the broker sent them) and their codec; undefined if kafkajs did not decode it
 * through the recorded path.
 */
export function fetchedSet(batch: KafkaJs.Batch): FetchedRecordSet | undefined {
  const raw = (batch as unknown as { rawMessages?: object }).rawMessages;
  return raw === undefined ? undefined : fetchedSets.get(raw);
}

/**
 * The record set at `start` (its int32 size, then its batches), read from the batch headers and
 * checked (record-batches.ts). Compaction can empty a batch or remove its last records, but a
 * batch keeps its offset range, so this, not the decoded records, says where the next fetch starts.
 */
export function recordSetOf(buffer: Buffer, start: number): FetchedRecordSet & { end: number } {
  const size = buffer.length - start >= 4 ? buffer.readInt32BE(start) : 0;
  // Never past the buffer: a record set that claims more than arrived is what kafkajs skips too.
  const end = Math.min(buffer.length, start + 4 + Math.max(0, size));
  const set = readRecordSet(buffer, start + 4, end);
  const last = set.batches.at(-1);
  return {
    wireBytes: set.wireBytes,
    nextOffset: last === undefined ? undefined : Number(last.lastOffset) + 1,
    codec: set.batches.find((b) => !b.control)?.codec,
    batches: set.batches,
    invalid: set.invalid,
    end,
  };
}

/** The record set of a partition the decode budget cut short: the batches whose records were decoded (decode-budget.ts). */
export function cutShort(set: FetchedRecordSet, records: unknown[]): FetchedRecordSet {
  const last = (records.at(-1) as { offset?: string } | undefined)?.offset;
  const batches = decodedBatches(set.batches, last === undefined ? undefined : BigInt(last));
  const lastBatch = batches.at(-1);
  return {
    wireBytes: batches.reduce((n, b) => n + b.size, 0),
    nextOffset: lastBatch === undefined ? undefined : Number(lastBatch.lastOffset) + 1,
    codec: batches.find((b) => !b.control)?.codec,
    batches,
    // An invalid batch lies past the cut: the fetch that gets there finds it.
    invalid: undefined,
  };
}
