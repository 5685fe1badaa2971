import PQueue from 'p-queue';

export interface QueueBudget {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

interface Entry<T> {
  readonly item: T;
  readonly records: number;
  readonly bytes: number;
}

interface Lane<T> {
  readonly entries: Entry<T>[];
  scheduled: boolean;
  halted: boolean;
}

interface Waiter<T> {
  readonly lane: string;
  readonly entry: Entry<T>;
  readonly admit: () => void;
  readonly reject: (error: Error) => void;
}

export class QueueClosedError extends Error {
  constructor() {
    super('the queue is closed');
    this.name = 'QueueClosedError';
  }
}

/**
 * The bounded queue between a flow's reader and its writer.
 *
 * Items (batches of one source partition) are grouped in lanes, one per target partition. The
 * queue holds at most `maxRecords` records and `maxBytes` bytes, counting items waiting and items
 * being written; `push()` does not resolve until an item fits, and the reader awaits it, so a full
 * queue stops the source fetch instead of growing memory (one item larger than the whole budget
 * is admitted alone, so it cannot wedge the flow).
 *
 * Writes run on a p-queue whose concurrency bounds produce requests in flight. A lane never has
 * more than one item being written: its next item is scheduled only after the previous one
 * finished, so a retried write can never be overtaken by a later one (order per partition). A lane
 * re-enters the p-queue after every item, which keeps busy partitions from starving others.
 *
 * When the worker fails for an item, the lane halts: the item and everything queued behind it are
 * dropped (and their budget released), later pushes to that lane are dropped, and `onHalt` is
 * told. Nothing of a halted lane is ever marked written, so nothing past the failure is committed.
 */
export class BoundedQueue<T> {
  readonly #budget: QueueBudget;
  readonly #worker: (lane: string, item: T) => Promise<void>;
  readonly #onHalt: (lane: string, error: unknown) => void;
  readonly #executor: PQueue;
  readonly #lanes = new Map<string, Lane<T>>();
  readonly #waiters: Waiter<T>[] = [];
  #records = 0;
  #bytes = 0;
  #closed = false;

  constructor(options: {
    budget: QueueBudget;
    concurrency: number;
    worker: (lane: string, item: T) => Promise<void>;
    onHalt: (lane: string, error: unknown) => void;
  }) {
    this.#budget = options.budget;
    this.#worker = options.worker;
    this.#onHalt = options.onHalt;
    this.#executor = new PQueue({ concurrency: options.concurrency });
  }

  /** Records held (waiting or being written). */
  get records(): number {
    return this.#records;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** True when a push of this size would have to wait. */
  isFull(records = 1, bytes = 0): boolean {
    return !this.#fits(records, bytes);
  }

  isHalted(lane: string): boolean {
    return this.#lanes.get(lane)?.halted === true;
  }

  /** Resolves once the item is admitted; rejects with QueueClosedError once the queue is closed. */
  async push(lane: string, item: T, records: number, bytes: number): Promise<void> {
    if (this.#closed) throw new QueueClosedError();
    const entry: Entry<T> = { item, records, bytes };
    if (this.#waiters.length > 0 || !this.#fits(records, bytes)) {
      // #release reserves the budget and enqueues the entry in the same step as it admits the
      // waiter, so a push made in between cannot overtake it in its lane.
      await new Promise<void>((admit, reject) => this.#waiters.push({ lane, entry, admit, reject }));
      return;
    }
    this.#reserve(records, bytes);
    this.#enqueue(lane, entry);
  }

  /** Drops what waits in a lane (a revoked partition); an item being written completes. */
  dropLane(lane: string): void {
    const state = this.#lanes.get(lane);
    if (state === undefined) return;
    for (const entry of state.entries.splice(0)) this.#release(entry);
    if (!state.scheduled) this.#lanes.delete(lane);
  }

  /** Resolves when every admitted item has been written (or dropped). */
  async onIdle(): Promise<void> {
    await this.#executor.onIdle();
  }

  /** Stops admitting: pending and future pushes reject. Admitted items are still written. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(new QueueClosedError());
  }

  #fits(records: number, bytes: number): boolean {
    if (this.#records === 0) return true;
    return this.#records + records <= this.#budget.maxRecords && this.#bytes + bytes <= this.#budget.maxBytes;
  }

  #reserve(records: number, bytes: number): void {
    this.#records += records;
    this.#bytes += bytes;
  }

  #enqueue(laneKey: string, entry: Entry<T>): void {
    let lane = this.#lanes.get(laneKey);
    if (lane === undefined) {
      lane = { entries: [], scheduled: false, halted: false };
      this.#lanes.set(laneKey, lane);
    }
    if (lane.halted) {
      this.#release(entry);
      return;
    }
    lane.entries.push(entry);
    this.#schedule(laneKey, lane);
  }

  #schedule(laneKey: string, lane: Lane<T>): void {
    if (lane.scheduled || lane.entries.length === 0) return;
    lane.scheduled = true;
    void this.#executor.add(async () => {
      const entry = lane.entries.shift();
      if (entry === undefined) {
        lane.scheduled = false;
        return;
      }
      try {
        await this.#worker(laneKey, entry.item);
      } catch (error) {
        lane.halted = true;
        for (const dropped of lane.entries.splice(0)) this.#release(dropped);
        try {
          this.#onHalt(laneKey, error);
        } catch {
          // the halt is recorded in the lane; a failing observer must not break the queue
        }
      } finally {
        this.#release(entry);
        lane.scheduled = false;
        if (!lane.halted && lane.entries.length === 0 && this.#lanes.get(laneKey) === lane)
          this.#lanes.delete(laneKey);
        this.#schedule(laneKey, lane);
      }
    });
  }

  #release(entry: Entry<T>): void {
    this.#records -= entry.records;
    this.#bytes -= entry.bytes;
    // Wake waiters in arrival order while they fit; the first one that does not fit keeps its place.
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0];
      if (next === undefined || !this.#fits(next.entry.records, next.entry.bytes)) break;
      this.#waiters.shift();
      this.#reserve(next.entry.records, next.entry.bytes);
      this.#enqueue(next.lane, next.entry);
      next.admit();
    }
  }
}
