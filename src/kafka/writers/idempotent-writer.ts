// The at-least-once target writer with several produce requests in flight per partition
// (producer.maxInFlightPerPartition > 1). One request per partition per round trip caps a long
// link at about 1 MiB per partition per round trip; pipelining lifts that cap, and the broker's
// idempotence checks keep the order: each partition is written under a producer id of its own,
// every request carries the sequence number of its first record, and the target appends a request
// only right after the one before it, whatever is retried and whatever answer was lost.
import { setTimeout as sleep } from 'node:timers/promises';
import { TargetTopicMissingError, WriteRejectedError } from '../../errors.ts';
import { rootCause } from '../client.ts';
import { backoffMs } from '../../replication/backoff.ts';
import { ProduceAction, produceErrorOf, rejected, resendReason } from './produce-errors.ts';
import { chunkMessage } from '../../protocol/produce-request.ts';
import { sendProduce } from './send-produce.ts';
import { leaderOf, type RawBroker, type RawCluster } from '../raw-client.ts';
import { requestChunks, sliceChunk, type RecordChunk } from '../../protocol/record-chunk.ts';
import { codecOf, PendingRequests, type WriterOptions } from './target-writer.ts';

/** Kafka's code (kafkajs names it GROUP_LOAD_IN_PROGRESS). */
const COORDINATOR_LOAD_IN_PROGRESS = 14;

/** Kafka's sequence numbers are int32 and wrap to 0. */
const SEQUENCE_SPAN = 2 ** 31;

/**
 * After this long without an acknowledgement the broker may have expired the producer id
 * (`producer.id.expiration.ms`, 1 day by default) and would take any sequence number: the
 * partition sends one request at a time again until one is acknowledged.
 */
const RECONFIRM_AFTER_MS = 10 * 60_000;

/** A producer id of one partition; the broker knows it once one request under it was appended. */
interface Session {
  readonly producerId: string;
  readonly epoch: number;
  /** When the broker last acknowledged a request under this id (0: never). */
  acknowledgedAt: number;
  /** Attempts under this id whose answer is awaited. */
  inFlight: number;
}

interface Request {
  readonly chunk: RecordChunk;
  /** Sequence number of the chunk's first record; renumbered when the partition gets a new producer id. */
  sequence: number;
  /** The producer id of the attempt in flight, if one is. */
  sentIn: Session | undefined;
  /** The attempt in flight is built and queued on the connection: the next request may follow it. */
  handedOver: boolean;
}

interface Partition {
  readonly topic: string;
  readonly partition: number;
  session: Session | undefined;
  starting: Promise<Session> | undefined;
  /** Producer ids given up while requests under them were still in flight. */
  retired: Session[];
  /** Given up an id: renumber from 0 once nothing under the old one is in flight. */
  renumber: boolean;
  nextSequence: number;
  /** Requests not yet acknowledged, in sequence order. */
  readonly unacked: Request[];
  /** Set when a request failed for good: the requests after it can never be appended. */
  failed: Error | undefined;
  /** Resolves at the next acknowledgement, failure or renumbering. */
  changed: Promise<void>;
  wake: () => void;
}

/** Whether the broker surely has state for this id: it acknowledged a request under it lately. */
const known = (session: Session) => Date.now() - session.acknowledgedAt < RECONFIRM_AFTER_MS;

/** Why a request is not sent: a request before it in its partition failed for good. */
export class EarlierWriteFailedError extends Error {
  constructor(topic: string, partition: number, cause: Error) {
    super(`a write before this one to ${topic}/${partition} failed: ${cause.message}`, { cause });
    this.name = 'EarlierWriteFailedError';
  }
}

/** Failures that end a write before anything was sent, where retrying cannot help. */
const endsTheWrite = (error: unknown) =>
  error instanceof EarlierWriteFailedError ||
  error instanceof WriteRejectedError ||
  error instanceof TargetTopicMissingError;

/**
 * Writes records of target partitions, in order, acks=all, with up to `maxInFlightPerPartition`
 * requests per partition in flight, and resolves a write only once the target acknowledged every
 * record of it. The caller (the flow's queue) calls `write` for a partition in the order its
 * records must land: the sequence numbers are taken at the call, before anything is awaited.
 *
 * - A retried request keeps its sequence number: the broker appends it once (an answer lost to a
 *   timeout comes back as a duplicate, which is success), and never after a request that follows it.
 * - Under a new producer id the broker accepts any first sequence number, so until one request is
 *   acknowledged (and again after 10 minutes without an acknowledgement, when the broker may have
 *   expired the id) only the oldest unacknowledged request of the partition is sent.
 * - When the broker has lost its state for the id (answers like UNKNOWN_PRODUCER_ID, or
 *   OUT_OF_ORDER_SEQUENCE_NUMBER for the oldest request, whose predecessors are all acknowledged),
 *   the partition takes a new producer id once every request under the old one has been answered,
 *   and what is unacknowledged is renumbered from 0 and sent again in order. Records the broker had
 *   appended without a surviving answer are then written twice: a duplicate, never a reordering.
 * - Refusals and deleted topics fail the write as in TargetWriter (the partition halts), and every
 *   later write of the partition fails with EarlierWriteFailedError until none is left in flight.
 */
export class IdempotentWriter {
  readonly delivery = 'at-least-once' as const;
  readonly #cluster: RawCluster;
  readonly #options: WriterOptions;
  readonly #abort = new AbortController();
  readonly #partitions = new Map<string, Partition>();
  /** Writes not yet acknowledged (retries included). */
  readonly #pending = new PendingRequests();
  /** Requests in flight per partition: a broker remembers an idempotent producer's last 5 batches per partition. */
  readonly #limit: number;
  /** First retry delay; doubled per attempt up to 30 s, with jitter. */
  readonly #backoffMs: number;

  /** `cluster`: a kafkajs cluster object of the target client (raw-client.ts clusterOf). */
  constructor(cluster: RawCluster, options: WriterOptions & { retryBackoffMs?: number }) {
    this.#cluster = cluster;
    this.#options = options;
    this.#backoffMs = options.retryBackoffMs ?? 200;
    this.#limit = Math.min(5, Math.max(1, options.maxInFlightPerPartition ?? 5));
  }

  async connect(): Promise<void> {
    await this.#cluster.connect();
  }

  /** Stops retrying (pending writes reject) and disconnects. */
  async close(): Promise<void> {
    this.#abort.abort();
    for (const state of this.#partitions.values()) state.wake();
    await this.#cluster.disconnect();
  }

  /** When the oldest write still waiting for the target began (undefined when none is). */
  pendingSince(): number | undefined {
    return this.#pending.oldest();
  }

  /**
   * Numbers the records now and writes them; `throttle` (the flow's bandwidth cap) is awaited
   * after the numbering and before the first request.
   */
  write(
    topic: string,
    partition: number,
    records: RecordChunk,
    _source?: unknown,
    throttle?: () => Promise<void>,
  ): Promise<void> {
    const state = this.#partition(topic, partition);
    if (state.failed !== undefined)
      return Promise.reject(new EarlierWriteFailedError(topic, partition, state.failed));
    const requests = [...requestChunks(records, this.#options.maxRequestBytes)].map((chunk) => {
      const request: Request = { chunk, sequence: state.nextSequence, sentIn: undefined, handedOver: false };
      state.nextSequence = (state.nextSequence + chunk.count) % SEQUENCE_SPAN;
      state.unacked.push(request);
      return request;
    });
    return (async () => {
      await throttle?.();
      await this.#pending.track(() => Promise.all(requests.map((request) => this.#deliver(state, request))));
    })();
  }

  #partition(topic: string, partition: number): Partition {
    const key = `${topic}\u0000${partition}`;
    let state = this.#partitions.get(key);
    // After a failure, once none of its requests is left, the partition starts over (a rebalance
    // or a restored topic may resume it): a new producer id, sequence numbers from 0.
    if (state !== undefined && state.failed !== undefined && state.unacked.length === 0) state = undefined;
    if (state === undefined) {
      state = {
        topic,
        partition,
        session: undefined,
        starting: undefined,
        retired: [],
        renumber: false,
        nextSequence: 0,
        unacked: [],
        failed: undefined,
        changed: Promise.resolve(),
        wake: () => {},
      };
      this.#rearm(state);
      this.#partitions.set(key, state);
    }
    return state;
  }

  #rearm(state: Partition): void {
    state.changed = new Promise((resolve) => {
      state.wake = () => {
        this.#rearm(state);
        resolve();
      };
    });
  }

  /** Sends one request until it is acknowledged, or fails it for good; either way it leaves `unacked`. */
  async #deliver(state: Partition, request: Request): Promise<void> {
    try {
      await this.#attempts(state, request);
    } finally {
      const at = state.unacked.indexOf(request);
      if (at >= 0) state.unacked.splice(at, 1);
      state.wake();
    }
  }

  async #attempts(state: Partition, request: Request): Promise<void> {
    const { topic, partition } = state;
    for (let attempt = 0; ; attempt++) {
      let session: Session | undefined;
      let error: unknown;
      try {
        const turn = await this.#turn(state, request);
        session = turn.session;
        // Nothing is awaited from the turn to the send: a partition's requests go out in order.
        session.inFlight++;
        request.sentIn = session;
        request.handedOver = false;
        await this.#produce(turn.broker, state, session, request);
      } catch (failure) {
        error = failure;
      } finally {
        if (session !== undefined) {
          session.inFlight--;
          request.sentIn = undefined;
          state.wake(); // a request waiting for this one's id to retire, or to be resent first
        }
      }
      // Every answer is classified as Kafka's producer would (produce-errors.ts).
      const answer = error === undefined ? undefined : produceErrorOf(error);
      if (error === undefined || answer?.action === ProduceAction.DONE) {
        // DONE: a duplicate, an earlier attempt was appended and its answer lost.
        if (session !== undefined) session.acknowledgedAt = Date.now();
        return;
      }
      if (this.#abort.signal.aborted || (session === undefined && endsTheWrite(error))) throw error;
      if (answer?.action === ProduceAction.SPLIT && request.chunk.count > 1) {
        this.#options.onResend?.(answer.name);
        await this.#split(state, request, answer.name);
        return;
      }
      if (answer?.action === ProduceAction.HALT || answer?.action === ProduceAction.SPLIT)
        throw this.#fail(state, rejected(topic, partition, answer, error));
      if (answer?.name === 'UNKNOWN_TOPIC_OR_PARTITION' && this.#options.topicExists !== undefined) {
        if (!(await this.#options.topicExists(topic).catch(() => true))) {
          // Every metadata refresh of the shared cluster would fail on it from now on.
          (this.#cluster as unknown as { targetTopics?: Set<string> }).targetTopics?.delete(topic);
          throw this.#fail(state, new TargetTopicMissingError(topic, partition, rootCause(error)));
        }
      }
      if (state.failed !== undefined) throw new EarlierWriteFailedError(topic, partition, state.failed);
      // Sent and failed: it goes again (a failure before the send is no resend).
      if (session !== undefined) this.#options.onResend?.(resendReason(error));
      // Refused because a request before it is not appended (that one is retried): this one goes
      // again right behind it, without a backoff of its own, as TransactionManager.canRetry retries
      // an out-of-order batch that is not the next one. Routine, and handled here: debug.
      if (answer?.name === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && state.unacked[0] !== request) {
        this.#options.logger.debug(
          { topic, partition, sequence: request.sequence, error: answer.name },
          'a request behind an unacknowledged one was refused; resending it behind that one',
        );
        continue;
      }
      if (session !== undefined && answer?.action === ProduceAction.RESEQUENCE)
        this.#renumber(state, session, answer.name);
      else if (answer?.staleMetadata === true) await this.#cluster.refreshMetadata().catch(() => {});
      this.#options.onRetry?.(error);
      const delay = backoffMs(attempt, this.#backoffMs, 30_000);
      this.#options.logger.warn(
        { topic, partition, attempt, err: rootCause(error), retryInMs: Math.round(delay) },
        'write to target failed; retrying',
      );
      await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => {});
      if (this.#abort.signal.aborted) throw error;
    }
  }

  /**
   * Waits until the request may be sent, and gives the producer id to send it under and the
   * partition's leader:
   * - every request before it must be in flight under the same id and queued on the connection
   *   already (so the broker gets them in order: sendProduce), at most `maxInFlightPerPartition`
   *   of them (a request resent after a lost answer is then still among the 5 batches the broker
   *   checks for duplicates);
   * - no request under an earlier id may still be in flight;
   * - under an id the broker may not know (no recent acknowledgement), only the oldest
   *   unacknowledged request goes: the broker would take any sequence number first.
   */
  async #turn(state: Partition, request: Request): Promise<{ session: Session; broker: RawBroker }> {
    for (;;) {
      // Taken before anything is awaited: a change while this waits below is not missed.
      const changed = state.changed;
      if (this.#abort.signal.aborted) throw new Error('the writer is closed');
      if (state.failed !== undefined)
        throw new EarlierWriteFailedError(state.topic, state.partition, state.failed);
      state.retired = state.retired.filter((old) => old.inFlight > 0);
      if (state.renumber && state.retired.length === 0) this.#renumbered(state);
      const session = state.session ?? (await this.#session(state));
      const broker = await leaderOf(this.#cluster, state.topic, state.partition);
      const at = state.unacked.indexOf(request);
      const before = state.unacked.slice(0, Math.max(0, at));
      if (
        state.session === session &&
        state.retired.length === 0 &&
        !state.renumber &&
        (at === 0 ||
          (known(session) && at < this.#limit && before.every((r) => r.sentIn === session && r.handedOver)))
      )
        return { session, broker };
      await changed;
    }
  }

  /** The partition's producer id, taken with InitProducerId (retried until it is given). */
  async #session(state: Partition): Promise<Session> {
    state.starting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const broker = await leaderOf(this.#cluster, state.topic, state.partition);
          const answer = await broker.initProducerId({ transactionalId: null, transactionTimeout: 60_000 });
          return {
            producerId: answer.producerId,
            epoch: answer.producerEpoch,
            acknowledgedAt: 0,
            inFlight: 0,
          };
        } catch (error) {
          const answer = produceErrorOf(error);
          if (this.#abort.signal.aborted) throw error;
          // Not allowed to write idempotently (IDEMPOTENT_WRITE, brokers before Kafka 3.0): halts as
          // a produce refused for authorization does.
          if (answer !== undefined && /AUTHORIZATION/.test(answer.name))
            throw this.#fail(state, rejected(state.topic, state.partition, answer, error));
          this.#options.onRetry?.(error);
          const delay = backoffMs(attempt, this.#backoffMs, 30_000);
          // A broker that just started answers that it is still loading, briefly: not worth a warning.
          const starting = answer?.code === COORDINATOR_LOAD_IN_PROGRESS && attempt < 5;
          this.#options.logger[starting ? 'debug' : 'warn'](
            { topic: state.topic, partition: state.partition, attempt, err: rootCause(error) },
            'could not get a producer id from the target; retrying',
          );
          await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => {});
        }
      }
    })();
    try {
      const session = await state.starting;
      state.session ??= session;
      return state.session;
    } finally {
      state.starting = undefined;
    }
  }

  /** The broker lost this producer id's state: a new id, and the unacknowledged requests renumbered from 0. */
  #renumber(state: Partition, session: Session, type: string): void {
    if (state.session !== session) return; // done already by another request of the partition
    state.session = undefined;
    state.retired.push(session);
    state.renumber = true;
    this.#options.logger.warn(
      { topic: state.topic, partition: state.partition, error: type, unacknowledged: state.unacked.length },
      'the target lost this partition’s producer state; resending what is unacknowledged under a new producer id',
    );
    state.wake();
  }

  /**
   * Numbers what is unacknowledged from 0, for a new producer id. Done only once every request
   * under the old id is answered: one of them may still have been appended, and is then no longer
   * among what needs a number.
   */
  #renumbered(state: Partition): void {
    let sequence = 0;
    for (const request of state.unacked) {
      request.sequence = sequence;
      sequence = (sequence + request.chunk.count) % SEQUENCE_SPAN;
    }
    state.nextSequence = sequence;
    state.renumber = false;
  }

  /** A request the broker found too large is replaced by its two halves, in its place in the order. */
  async #split(state: Partition, request: Request, type: string): Promise<void> {
    const half = Math.ceil(request.chunk.count / 2);
    this.#options.logger.warn(
      {
        topic: state.topic,
        partition: state.partition,
        records: request.chunk.count,
        bytes: request.chunk.body.length,
        error: type,
      },
      'the target refused a request as too large; sending it in two halves',
    );
    const halves: Request[] = [
      {
        chunk: sliceChunk(request.chunk, 0, half),
        sequence: request.sequence,
        sentIn: undefined,
        handedOver: false,
      },
      {
        chunk: sliceChunk(request.chunk, half, request.chunk.count),
        sequence: (request.sequence + half) % SEQUENCE_SPAN,
        sentIn: undefined,
        handedOver: false,
      },
    ];
    state.unacked.splice(state.unacked.indexOf(request), 1, ...halves);
    await Promise.all(halves.map((next) => this.#deliver(state, next)));
  }

  #fail(state: Partition, error: Error): Error {
    state.failed ??= error;
    state.session = undefined;
    state.wake();
    return error;
  }

  /** Sends the request (before anything is awaited); the partition's next request may follow once it is handed over. */
  async #produce(broker: RawBroker, state: Partition, session: Session, request: Request): Promise<void> {
    const { topic, partition } = state;
    const handedOver = () => {
      request.handedOver = true;
      state.wake();
    };
    const response = (await sendProduce(
      broker,
      {
        transactionalId: null,
        producerId: session.producerId,
        producerEpoch: session.epoch,
        acks: -1,
        timeout: this.#options.requestTimeoutMs,
        compression: codecOf(this.#options.compression, request.chunk),
        topicData: [
          {
            topic,
            partitions: [
              { partition, firstSequence: request.sequence, messages: [chunkMessage(request.chunk)] },
            ],
          },
        ],
      },
      handedOver,
    )) as {
      topics?: Array<{ topicName: string; partitions: Array<{ partition: number; errorCode: number }> }>;
    };
    const acknowledged = response.topics?.some(
      (t) =>
        t.topicName === topic && t.partitions.some((p) => p.partition === partition && p.errorCode === 0),
    );
    if (acknowledged !== true)
      throw new Error(`produce response for ${topic}/${partition} did not acknowledge the partition`);
  }
}
