// Sizes the source fetches by what they decode to, not by what they weigh on the wire.
//
// Kafka limits a fetch in wire bytes, which for compressed topics are compressed bytes; the
// reader holds a fetch decoded (record objects, keys, values, headers) until the queue admits it.
// A 4 MiB fetch of records that compress 10:1 decoded to about 40 MiB of payload and several
// times that in objects, whatever the queue budget said. The sizer watches how much memory each
// fetched partition batch takes per wire byte and asks for fewer wire bytes accordingly, so that
// `consumer.maxBytes` and `consumer.maxBytesPerPartition` bound the memory of one fetch. The
// estimate comes from batches already decoded and a limit never goes below 32 KiB or one batch,
// so the decoding of each fetch is bounded as well: its compressed batches decompress into at most
// `consumer.maxBytes` and one batch (decode-budget.ts).

export interface FetchLimits {
  /** Wire bytes of one fetch response (Kafka's fetch.max.bytes). */
  readonly maxBytes: number;
  /** Wire bytes per partition in one fetch (Kafka's max.partition.fetch.bytes). */
  readonly maxBytesPerPartition: number;
}

/** Below this the estimate is noise (a few records); such batches do not move it. */
const MIN_SAMPLE_WIRE_BYTES = 8 * 1024;
/** Never ask for less than this: a broker returns at least one record batch anyway. */
export const MIN_FETCH_BYTES = 32 * 1024;
/**
 * The first fetches assume this much memory per wire byte (uncompressed records of about 1 KiB),
 * until batches say otherwise; a compressed topic's first fetch may overshoot by its ratio once.
 */
const INITIAL_RATIO = 1.5;
/** How fast the estimate falls when batches expand less than assumed (it rises at once). */
const DECAY = 0.5;

export class FetchSizer {
  readonly #budget: FetchLimits;
  #ratio = INITIAL_RATIO;

  /** `budget`: the memory one fetch, and one partition of it, may bring in. */
  constructor(budget: FetchLimits) {
    this.#budget = budget;
  }

  /** Memory per wire byte, as estimated from the batches seen so far. */
  get ratio(): number {
    return this.#ratio;
  }

  /**
   * One fetched partition batch: its records' wire size and their memory once decoded (queue
   * charge: payload plus the objects that hold it). A batch that expands more than estimated
   * raises the estimate at once; one that expands less lowers it gradually.
   */
  observe(wireBytes: number, memoryBytes: number): void {
    if (wireBytes < MIN_SAMPLE_WIRE_BYTES) return;
    const sample = Math.max(1, memoryBytes / wireBytes);
    this.#ratio = sample > this.#ratio ? sample : this.#ratio + (sample - this.#ratio) * DECAY;
  }

  /**
   * The wire limits to ask the broker for (the memory budget divided by the expansion), and the
   * bytes the fetch's compressed batches may decompress into (the memory budget).
   */
  limits(): FetchLimits & { readonly decodedBytes: number } {
    const scale = (budget: number) =>
      Math.min(budget, Math.max(MIN_FETCH_BYTES, Math.floor(budget / this.#ratio)));
    return {
      maxBytes: scale(this.#budget.maxBytes),
      maxBytesPerPartition: scale(this.#budget.maxBytesPerPartition),
      decodedBytes: this.#budget.maxBytes,
    };
  }
}
