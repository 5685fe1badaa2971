import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { LaneDroppedError, QueueClosedError } from '../errors/index.ts';

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
  /** Tasks of this lane in the executor (started or not). */
  running: number;
  /** Of those, tasks not started yet: each will take an entry when it starts. */
  starting: number;
  halted: boolean;
  /** Bumped by dropLane: an item taken before it belongs to an earlier assignment of the lane. */
  era: number;
}

interface Waiter<T> {
  readonly lane: string;
  readonly entry: Entry<T>;
  readonly admit: () => void;
  readonly reject: (error: Error) => void;
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
 * Writes run on a p-queue whose concurrency bounds produce requests in flight. A lane has at most
 * `perLane` items being written at once (default 1). The worker is called for a lane's items in
 * the order they were pushed, synchronously as each starts: with one item per lane a retried
 * write can never be overtaken by a later one; with more, the worker must keep the order itself
 * (the idempotent writer numbers each item when it is called). A lane re-enters the p-queue after
 * every item, which keeps busy partitions from starving others.
 *
 * When the worker fails for an item, the lane halts: everything queued behind the item is dropped
 * (and its budget released), later pushes to that lane are dropped, and `onHalt` is told once.
 * Items of the lane still being written finish (their own failures are not reported again).
 * Nothing of a halted lane is ever marked written past the failure, so nothing past it is committed.
 * `dropLane` (the partition reassigned) ends all of that: the lane starts afresh, not halted.
 */
export class BoundedQueue<T> {
  readonly #budget: QueueBudget;
  readonly #worker: (lane: string, item: T) => Promise<void>;
  readonly #onHalt: (lane: string, error: unknown) => void;
  readonly #executor: PQueue;
  readonly #perLane: number;
  readonly #lanes = new Map<string, Lane<T>>();
  #waiters: Waiter<T>[] = [];
  #records = 0;
  #bytes = 0;
  #closed = false;

  constructor(options: {
    budget: QueueBudget;
    concurrency: number;
    /** Items of one lane written at once (default 1). */
    perLane?: number;
    worker: (lane: string, item: T) => Promise<void>;
    onHalt: (lane: string, error: unknown) => void;
  }) {
    this.#budget = options.budget;
    this.#perLane = Math.max(1, options.perLane ?? 1);
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

  /**
   * push() for a reader that must stay alive while it waits: while the item waits for room (the
   * queue holds back the source fetch: backpressure), `keepAlive` is called every `everyMs`, so the
   * consumer group does not evict the reader. Resolves true once the item is admitted, false when
   * its lane was dropped meanwhile (the item is stale: not queued); rejects with QueueClosedError.
   */
  async offer(
    lane: string,
    item: T,
    records: number,
    bytes: number,
    keepAlive: () => Promise<void>,
    everyMs = 1000,
  ): Promise<boolean> {
    // A rejected push may have no listener left (a failed keepAlive ended the caller): the
    // rejection is handled here either way.
    const admitted = this.push(lane, item, records, bytes).then(
      () => true,
      (error: unknown) => {
        if (error instanceof LaneDroppedError) return false;
        throw error;
      },
    );
    let done = false;
    admitted.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await Promise.race([admitted, sleep(everyMs)]);
      if (!done) await keepAlive();
    }
    return admitted;
  }

  /**
   * Starts a lane afresh (its partition was reassigned and is read again from its committed
   * offset): what waits in it is dropped, pushes to it still waiting for room reject with
   * LaneDroppedError, and a halt is forgotten. Items being written complete; a failure of one of
   * them no longer halts the lane, which belongs to the new assignment. They still count against
   * `perLane`, so a new item never runs beside more of them than that.
   */
  dropLane(lane: string): void {
    // The lane's waiters go first: a release admits waiters, and one of this lane would be queued
    // into it and written ahead of the replay of everything dropped here.
    const waiting = this.#waiters.filter((w) => w.lane === lane);
    if (waiting.length > 0) {
      this.#waiters = this.#waiters.filter((w) => w.lane !== lane);
      for (const waiter of waiting) waiter.reject(new LaneDroppedError(lane));
    }
    const state = this.#lanes.get(lane);
    if (state !== undefined) {
      state.era++;
      state.halted = false;
      for (const entry of state.entries.splice(0)) this.#release(entry);
      if (state.running === 0) this.#lanes.delete(lane);
    }
    // A rejected waiter may have held back others that fit.
    this.#admit();
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
      lane = { entries: [], running: 0, starting: 0, halted: false, era: 0 };
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
    // Each task takes the lane's first entry when it starts: p-queue starts tasks in the order
    // they were added, so a lane's items reach the worker in order.
    while (!lane.halted && lane.running < this.#perLane && lane.entries.length > lane.starting) {
      lane.running++;
      lane.starting++;
      void this.#executor.add(() => this.#run(laneKey, lane));
    }
  }

  async #run(laneKey: string, lane: Lane<T>): Promise<void> {
    lane.starting--;
    const entry = lane.halted ? undefined : lane.entries.shift();
    if (entry === undefined) {
      lane.running--;
      this.#forget(laneKey, lane);
      return;
    }
    const era = lane.era;
    try {
      await this.#worker(laneKey, entry.item);
    } catch (error) {
      // An item taken before a dropLane: its lane has been started afresh since.
      if (lane.era !== era) return;
      const first = !lane.halted;
      lane.halted = true;
      for (const dropped of lane.entries.splice(0)) this.#release(dropped);
      if (first) {
        try {
          this.#onHalt(laneKey, error);
        } catch {
          // the halt is recorded in the lane; a failing observer must not break the queue
        }
      }
    } finally {
      this.#release(entry);
      lane.running--;
      this.#forget(laneKey, lane);
      this.#schedule(laneKey, lane);
    }
  }

  /** An idle, empty, healthy lane is removed (a halted one stays: later pushes to it are dropped). */
  #forget(laneKey: string, lane: Lane<T>): void {
    if (!lane.halted && lane.running === 0 && lane.entries.length === 0 && this.#lanes.get(laneKey) === lane)
      this.#lanes.delete(laneKey);
  }

  #release(entry: Entry<T>): void {
    this.#records -= entry.records;
    this.#bytes -= entry.bytes;
    this.#admit();
  }

  #admit(): void {
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
