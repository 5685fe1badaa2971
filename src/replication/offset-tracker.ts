/** One batch of one partition, from `begin()` to `complete()`. */
export interface Ticket {
  readonly partition: string;
  /** The offset after the batch's last record: where a restart resumes once this batch is done. */
  readonly nextOffset: number;
  /** Source timestamp (epoch ms) of the batch's first record, for the age of what is pending. */
  readonly timestamp: number;
  done: boolean;
}

interface TrackedTicket extends Ticket {
  readonly state: PartitionState;
}

interface PartitionState {
  readonly tickets: TrackedTicket[];
  head: number;
  /** Highest offset below which every record is written or skipped on purpose. */
  watermark: number | undefined;
  committed: number | undefined;
}

/**
 * Per source partition, the watermark that may be committed: the `nextOffset` of the last batch
 * of the longest prefix of completed batches, in the order they were begun. Batches may complete
 * in any order; a batch still in flight holds the watermark below it, so a crash replays it and
 * nothing after it is lost. Offsets that carry no record to copy (transaction markers, records of
 * aborted transactions, ranges emptied by compaction) are passed with `skip`, or by a batch whose
 * `nextOffset` is past them.
 */
export class OffsetTracker {
  readonly #partitions = new Map<string, PartitionState>();

  begin(partition: string, nextOffset: number, timestamp = Number.NaN): Ticket {
    let state = this.#partitions.get(partition);
    if (state === undefined) {
      state = { tickets: [], head: 0, watermark: undefined, committed: undefined };
      this.#partitions.set(partition, state);
    }
    const ticket: TrackedTicket = { partition, nextOffset, timestamp, done: false, state };
    state.tickets.push(ticket);
    return ticket;
  }

  complete(ticket: Ticket): void {
    ticket.done = true;
    const state = (ticket as TrackedTicket).state;
    if (this.#partitions.get(ticket.partition) !== state) return; // dropped meanwhile (revoked)
    while (state.head < state.tickets.length && state.tickets[state.head]?.done === true) {
      state.watermark = state.tickets[state.head]?.nextOffset;
      state.head++;
    }
    if (state.head > 1024 && state.head * 2 > state.tickets.length) {
      state.tickets.splice(0, state.head);
      state.head = 0;
    }
  }

  /**
   * Offsets up to `nextOffset` that hold nothing to copy: a ticket done from the start. The
   * watermark moves past them once every batch begun before is complete, never earlier, as Kafka's
   * consumer moves its position past control batches and aborted records
   * (clients/.../consumer/internals/CompletedFetch.java, nextFetchedRecord).
   */
  skip(partition: string, nextOffset: number): void {
    const state = this.#partitions.get(partition);
    // Not past the last batch begun: nothing to pass, and the watermark never moves back.
    const reached = state?.tickets.at(-1)?.nextOffset ?? state?.watermark;
    if (reached !== undefined && nextOffset <= reached) return;
    this.complete(this.begin(partition, nextOffset));
  }

  watermark(partition: string): number | undefined {
    return this.#partitions.get(partition)?.watermark;
  }

  /** Batches begun and not yet completed. */
  inFlight(partition: string): number {
    const state = this.#partitions.get(partition);
    if (state === undefined) return 0;
    let pending = 0;
    for (let i = state.head; i < state.tickets.length; i++) if (state.tickets[i]?.done === false) pending++;
    return pending;
  }

  /**
   * The source timestamp of the oldest batch not yet completed, over every partition (each
   * partition's oldest is the one its watermark waits for); undefined when nothing is pending.
   */
  oldestPending(): number | undefined {
    let oldest: number | undefined;
    for (const state of this.#partitions.values()) {
      const head = state.tickets[state.head];
      if (head !== undefined && !head.done && !Number.isNaN(head.timestamp))
        oldest = Math.min(oldest ?? head.timestamp, head.timestamp);
    }
    return oldest;
  }

  /** Watermarks that moved since they were last marked committed. */
  uncommitted(): Array<[partition: string, offset: number]> {
    const out: Array<[string, number]> = [];
    for (const [partition, state] of this.#partitions) {
      if (state.watermark !== undefined && state.watermark !== state.committed)
        out.push([partition, state.watermark]);
    }
    return out;
  }

  markCommitted(partition: string, offset: number): void {
    const state = this.#partitions.get(partition);
    if (state !== undefined) state.committed = offset;
  }

  /** Forgets a partition (revoked): its pending batches can no longer move any watermark. */
  drop(partition: string): void {
    this.#partitions.delete(partition);
  }

  partitions(): string[] {
    return [...this.#partitions.keys()];
  }
}
