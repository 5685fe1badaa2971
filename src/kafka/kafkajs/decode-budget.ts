// The memory one fetch may decompress into (issue 19, defect 10). Not a patch: the budget that
// three patches share, the fetch decoder (decode-messages.ts), the codecs (codecs.ts) and each
// group's fetch (group-fetch-limits.ts).
//
// Kafka limits a fetch in wire bytes, and compressed batches decode to many times that. The
// reader holds a fetch's records until its last partition is queued: copying a backlog of log
// lines that zstd had compressed 26:1 (test/integration/memory.test.ts) peaked at 310-322 MiB RSS
// for a 64 MiB queue, gzip 330-342; with more compressible data a heap snapshot showed the fetch
// being queued holding 554 decoded batches, 208 MiB. The fetch sizer (../fetch-sizer.ts) narrows the
// wire limits once it has seen how the data expands, but it learns from batches already decoded,
// and a wire limit cannot be below 32 KiB or one batch. So the decoding itself is bounded too:
// each consumer fetch carries a budget (consumer.maxBytes) of what its compressed batches decode
// to, counted as the queue counts a decoded record (its bytes and 512 for its objects); once it is
// spent, the remaining compressed batches of the response are left undecoded, as if the response
// had ended there (kafkajs's treatment of a batch cut by the size limit), and their partitions
// fetch them again from the same offset, first in the next fetch (fetch-order.ts). The first
// compressed batch of a fetch is always decoded, so every fetch makes progress (as a broker
// returns at least one whole batch, KIP-74), and a fetch overshoots its budget by one batch at most.
import { AsyncLocalStorage } from 'node:async_hooks';
import { RECORD_OVERHEAD_BYTES } from '../../protocol/records.ts';
import type { RecordBatchHeader } from '../../protocol/record-batches.ts';

export class DecodeBudget {
  #remaining: number;
  #refused = 0;

  constructor(bytes: number) {
    this.#remaining = bytes;
  }

  /** Whether another compressed batch may be decoded; counts a refusal when not. */
  admit(): boolean {
    if (this.#remaining > 0) return true;
    this.#refused++;
    return false;
  }

  /** A batch decompressed into `records` (its records, v2 format): their bytes and their objects once decoded. */
  charge(records: Uint8Array): void {
    this.#remaining -= records.length + RECORD_OVERHEAD_BYTES * recordCount(records);
  }

  /** Batches refused so far: a record set decoded while this grew was cut short. */
  get refused(): number {
    return this.#refused;
  }
}

const current = new AsyncLocalStorage<DecodeBudget>();

/** Runs one fetch (its request, response and decoding) with a budget of `bytes` decompressed bytes. */
export function withDecodeBudget<T>(bytes: number, fetch: () => Promise<T>): Promise<T> {
  return current.run(new DecodeBudget(bytes), fetch);
}

/** The budget of the fetch being decoded, if it has one (the consumer's fetches; not raw-client's reads). */
export function decodeBudget(): DecodeBudget | undefined {
  return current.getStore();
}

/**
 * The batches of a record set whose records were decoded before the budget cut it: those up to
 * the one holding the last decoded record (`lastOffset`; undefined when none was decoded).
 */
export function decodedBatches(
  batches: readonly RecordBatchHeader[],
  lastOffset: bigint | undefined,
): RecordBatchHeader[] {
  if (lastOffset === undefined) return [];
  return batches.filter((b) => b.baseOffset <= lastOffset);
}

/**
 * How many records a decompressed v2 batch holds: each starts with its length as a zigzag varint.
 * A length that makes no sense (a legacy message set) ends the count.
 */
export function recordCount(records: Uint8Array): number {
  let count = 0;
  for (let at = 0; at < records.length; count++) {
    let length = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = records[at++] ?? 0;
      length += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80 && at < records.length && scale < 2 ** 35);
    length = length % 2 === 0 ? length / 2 : -(length + 1) / 2;
    if (length <= 0) break;
    at += length;
  }
  return count;
}
