// One target partition as the idempotent writer (idempotent-writer.ts) writes it: its producer id,
// the sequence numbers of its requests, and the requests the broker has not acknowledged yet.
import type { RecordChunk } from '../../protocol/record-chunk.ts';
import { halvesOf } from './produce-errors.ts';

/** Kafka's sequence numbers are int32 and wrap to 0. */
const SEQUENCE_SPAN = 2 ** 31;

/**
 * After this long without an acknowledgement the broker may have expired the producer id
 * (`producer.id.expiration.ms`, 1 day by default) and would take any sequence number: the
 * partition sends one request at a time again until one is acknowledged.
 */
const RECONFIRM_AFTER_MS = 10 * 60_000;

/**
 * A producer id (and epoch) requests are sent under: one partition's (the idempotent writer), or a
 * transaction's partitions' (one transactional id). The broker keeps sequence state per partition,
 * so whether it knows the id is the partition's to say (IdempotentPartition.acknowledged).
 */
export interface Session {
  readonly producerId: string;
  readonly epoch: number;
  /** Attempts under this id whose answer is awaited. */
  inFlight: number;
}

export interface Request {
  readonly chunk: RecordChunk;
  /** Sequence number of the chunk's first record; renumbered when the partition gets a new producer id. */
  sequence: number;
  /** The producer id of the attempt in flight, if one is. */
  sentIn: Session | undefined;
  /** The attempt in flight is built and queued on the connection: the next request may follow it. */
  handedOver: boolean;
}

const requestOf = (chunk: RecordChunk, sequence: number): Request => ({
  chunk,
  sequence,
  sentIn: undefined,
  handedOver: false,
});

export class IdempotentPartition {
  readonly topic: string;
  readonly partition: number;
  session: Session | undefined;
  starting: Promise<Session> | undefined;
  /** Producer ids given up while requests under them were still in flight. */
  retired: Session[] = [];
  /** Given up an id: renumber from 0 once nothing under the old one is in flight. */
  renumber = false;
  nextSequence = 0;
  /** Requests not yet acknowledged, in sequence order. */
  readonly unacked: Request[] = [];
  /** Set when a request failed for good: the requests after it can never be appended. */
  failed: Error | undefined;
  /** Resolves at the next acknowledgement, failure or renumbering. */
  changed: Promise<void> = Promise.resolve();
  #changed: () => void = () => {};
  /** The id the partition's leader last acknowledged a request under, and when. */
  #acknowledged: { session: Session; at: number } | undefined;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
    this.#rearm();
  }

  /** The partition's leader acknowledged a request under `session` (or had it already). */
  acknowledged(session: Session): void {
    this.#acknowledged = { session, at: Date.now() };
  }

  /**
   * Whether the partition's leader surely has state for this id: it acknowledged a request of this
   * partition under it lately. An acknowledgement on another partition of the same id says nothing
   * of this one: without state the broker takes any first sequence number.
   */
  #known(session: Session): boolean {
    const last = this.#acknowledged;
    return last !== undefined && last.session === session && Date.now() - last.at < RECONFIRM_AFTER_MS;
  }

  /** Wakes whatever waits for `changed`. */
  wake(): void {
    const resolve = this.#changed;
    this.#rearm();
    resolve();
  }

  #rearm(): void {
    this.changed = new Promise((resolve) => (this.#changed = resolve));
  }

  /** Numbers the chunks after what is numbered already: the partition's next requests, in order. */
  number(chunks: Iterable<RecordChunk>): Request[] {
    return Array.from(chunks, (chunk) => {
      const request = requestOf(chunk, this.nextSequence);
      this.nextSequence = (this.nextSequence + chunk.count) % SEQUENCE_SPAN;
      this.unacked.push(request);
      return request;
    });
  }

  /** A request left: acknowledged, or failed for good. */
  remove(request: Request): void {
    const at = this.unacked.indexOf(request);
    if (at >= 0) this.unacked.splice(at, 1);
    this.wake();
  }

  /**
   * Whether `request` may go now under `session`: every request before it is in flight under the
   * same id and queued on the connection already, at most `limit` of them; nothing under an
   * earlier id is in flight; and under an id the broker may not know, only the oldest goes.
   */
  mayGo(request: Request, session: Session, limit: number): boolean {
    const at = this.unacked.indexOf(request);
    const before = this.unacked.slice(0, Math.max(0, at));
    return (
      this.session === session &&
      this.retired.length === 0 &&
      !this.renumber &&
      (at === 0 ||
        (this.#known(session) && at < limit && before.every((r) => r.sentIn === session && r.handedOver)))
    );
  }

  /** Forgets retired ids with nothing left in flight, and renumbers once none is left. */
  settleRetired(): void {
    this.retired = this.retired.filter((old) => old.inFlight > 0);
    if (this.renumber && this.retired.length === 0) this.#renumbered();
  }

  /** The broker lost this id's state: a new id, what is unacknowledged renumbered. False if done already. */
  retire(session: Session): boolean {
    if (this.session !== session) return false; // done already by another request of the partition
    this.session = undefined;
    this.retired.push(session);
    this.renumber = true;
    this.wake();
    return true;
  }

  /**
   * Numbers what is unacknowledged from 0, for a new producer id. Done only once every request
   * under the old id is answered: one of them may still have been appended, and is then no longer
   * among what needs a number.
   */
  #renumbered(): void {
    let sequence = 0;
    for (const request of this.unacked) {
      request.sequence = sequence;
      sequence = (sequence + request.chunk.count) % SEQUENCE_SPAN;
    }
    this.nextSequence = sequence;
    this.renumber = false;
  }

  /** A request the broker found too large is replaced by its two halves, in its place in the order. */
  split(request: Request): Request[] {
    const [first, second] = halvesOf(request.chunk);
    const halves = [
      requestOf(first, request.sequence),
      requestOf(second, (request.sequence + first.count) % SEQUENCE_SPAN),
    ];
    this.unacked.splice(this.unacked.indexOf(request), 1, ...halves);
    return halves;
  }

  /** A request failed for good: the requests after it are never sent. Returns `error`. */
  fail(error: Error): Error {
    this.failed ??= error;
    this.session = undefined;
    this.wake();
    return error;
  }
}
