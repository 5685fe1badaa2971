// The at-least-once target writer with several produce requests in flight per partition
// (producer.maxInFlightPerPartition > 1). One request per partition per round trip caps a long
// link at about 1 MiB per partition per round trip; pipelining lifts that cap, and the broker's
// idempotence checks keep the order: each partition is written under a producer id of its own,
// every request carries the sequence number of its first record, and the target appends a request
// only right after the one before it, whatever is retried and whatever answer was lost.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EarlierWriteFailedError,
  ProduceUnacknowledgedError,
  TargetTopicMissingError,
  WriteRejectedError,
  WriterClosedError,
} from '../../errors/index.ts';
import { chunkMessage } from '../../protocol/produce-request.ts';
import { requestChunks, type RecordChunk } from '../../protocol/record-chunk.ts';
import { backoffMs } from '../../replication/backoff.ts';
import { partitionKey, type FlowTarget } from '../../replication/ports.ts';
import { rootCause } from '../client.ts';
import { leaderOf, type RawBroker, type RawCluster } from '../raw-client.ts';
import { codecOf } from './codecs.ts';
import { Lifecycle } from './lifecycle.ts';
import { PendingRequests } from './pending-requests.ts';
import {
  missingTopic,
  ProduceStep,
  produceErrorOf,
  rejected,
  resendReason,
  triageProduce,
  type ProduceTriage,
} from './produce-errors.ts';
import { IdempotentPartition, type Request, type Session } from './idempotent-partition.ts';
import { sendProduce } from './send-produce.ts';
import type { WriterLifecycle, WriterOptions } from './writer.ts';

/** Kafka's code (kafkajs names it GROUP_LOAD_IN_PROGRESS). */
const COORDINATOR_LOAD_IN_PROGRESS = 14;

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
export class IdempotentWriter implements FlowTarget, WriterLifecycle {
  readonly delivery = 'at-least-once' as const;
  readonly #cluster: RawCluster;
  readonly #options: WriterOptions;
  readonly #abort = new AbortController();
  readonly #lifecycle = new Lifecycle();
  readonly #partitions = new Map<string, IdempotentPartition>();
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

  /** Stops retrying (writes waiting for a retry or a turn reject), then disconnects once the requests on the wire are answered. */
  close(): Promise<void> {
    return this.#lifecycle.close(() => this.#stop());
  }

  /** Every write not yet acknowledged rejects at once (WriterClosedError); then disconnects. */
  destroy(): Promise<void> {
    return this.#lifecycle.destroy(() => {
      this.#pending.destroy(new WriterClosedError());
      return this.#stop();
    });
  }

  async #stop(): Promise<void> {
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
    if (this.#abort.signal.aborted) return Promise.reject(new WriterClosedError());
    const state = this.#partition(topic, partition);
    if (state.failed !== undefined)
      return Promise.reject(new EarlierWriteFailedError(topic, partition, state.failed));
    const requests = state.number(requestChunks(records, this.#options.maxRequestBytes));
    return (async () => {
      await throttle?.();
      await this.#pending.track(() => Promise.all(requests.map((request) => this.#deliver(state, request))));
    })();
  }

  #partition(topic: string, partition: number): IdempotentPartition {
    const key = partitionKey(topic, partition);
    let state = this.#partitions.get(key);
    // After a failure, once none of its requests is left, the partition starts over (a rebalance
    // or a restored topic may resume it): a new producer id, sequence numbers from 0.
    if (state === undefined || (state.failed !== undefined && state.unacked.length === 0)) {
      state = new IdempotentPartition(topic, partition);
      this.#partitions.set(key, state);
    }
    return state;
  }

  /** Sends one request until it is acknowledged, or fails it for good; either way it leaves `unacked`. */
  async #deliver(state: IdempotentPartition, request: Request): Promise<void> {
    try {
      await this.#attempts(state, request);
    } finally {
      state.remove(request);
    }
  }

  async #attempts(state: IdempotentPartition, request: Request): Promise<void> {
    const { topic, partition } = state;
    for (let attempt = 0; ; attempt++) {
      const { session, error } = await this.#attempt(state, request);
      // Every answer is triaged as Kafka's producer would (produce-errors.ts); DONE: a duplicate,
      // an earlier attempt was appended and its answer lost.
      const triage = error === undefined ? undefined : triageProduce(error, { records: request.chunk.count });
      if (triage === undefined || triage.step === ProduceStep.DONE) {
        if (session !== undefined) state.acknowledged(session);
        return;
      }
      if (this.#abort.signal.aborted || (session === undefined && endsTheWrite(error))) throw error;
      if (await this.#settled(state, request, triage, error)) return;
      if (state.failed !== undefined) throw new EarlierWriteFailedError(topic, partition, state.failed);
      // Sent and failed: it goes again (a failure before the send is no resend).
      if (session !== undefined) this.#options.onResend?.(resendReason(error));
      // Refused because a request before it is not appended (that one is retried): this one goes
      // again right behind it, without a backoff of its own, as TransactionManager.canRetry retries
      // an out-of-order batch that is not the next one. Routine, and handled here: debug.
      if (triage.answer?.name === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && state.unacked[0] !== request) {
        this.#options.logger.debug(
          { topic, partition, sequence: request.sequence, error: triage.answer.name },
          'a request behind an unacknowledged one was refused; resending it behind that one',
        );
        continue;
      }
      if (session !== undefined && triage.step === ProduceStep.RESEQUENCE)
        this.#renumber(state, session, triage.answer.name);
      else if (triage.answer?.staleMetadata === true) await this.#cluster.refreshMetadata().catch(() => {});
      await this.#backoff(state, attempt, error);
      if (this.#abort.signal.aborted) throw error;
    }
  }

  /** One attempt, sent when its turn comes: what failed, if anything, and under which producer id it was sent. */
  async #attempt(
    state: IdempotentPartition,
    request: Request,
  ): Promise<{ session?: Session; error?: unknown }> {
    let session: Session | undefined;
    try {
      const turn = await this.#turn(state, request);
      session = turn.session;
      // Nothing is awaited from the turn to the send: a partition's requests go out in order.
      session.inFlight++;
      request.sentIn = session;
      request.handedOver = false;
      await this.#produce(turn.broker, state, session, request);
      return { session };
    } catch (error) {
      return { session, error };
    } finally {
      if (session !== undefined) {
        session.inFlight--;
        request.sentIn = undefined;
        state.wake(); // a request waiting for this one's id to retire, or to be resent first
      }
    }
  }

  /**
   * Ends a failed request the triage does not retry: too large, it is replaced by its halves (true
   * once they are delivered); refused, or its topic deleted, the partition fails (throws). False:
   * it is sent again.
   */
  async #settled(
    state: IdempotentPartition,
    request: Request,
    triage: ProduceTriage,
    error: unknown,
  ): Promise<boolean> {
    const { topic, partition } = state;
    const { step, answer } = triage;
    if (step === ProduceStep.SPLIT) {
      this.#options.onResend?.(answer.name);
      await this.#split(state, request, answer.name);
      return true;
    }
    if (step === ProduceStep.REJECT) throw state.fail(rejected(topic, partition, answer, error));
    if (step === ProduceStep.CHECK_TOPIC) {
      const missing = await missingTopic(this.#options.topicExists, topic, partition, error);
      if (missing !== undefined) {
        // Every metadata refresh of the shared cluster would fail on it from now on.
        (this.#cluster as unknown as { targetTopics?: Set<string> }).targetTopics?.delete(topic);
        throw state.fail(missing);
      }
    }
    return false;
  }

  async #backoff(state: IdempotentPartition, attempt: number, error: unknown): Promise<void> {
    this.#options.onRetry?.(error);
    const delay = backoffMs(attempt, this.#backoffMs, 30_000);
    this.#options.logger.warn(
      {
        topic: state.topic,
        partition: state.partition,
        attempt,
        err: rootCause(error),
        retryInMs: Math.round(delay),
      },
      'write to target failed; retrying',
    );
    await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => {});
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
  async #turn(
    state: IdempotentPartition,
    request: Request,
  ): Promise<{ session: Session; broker: RawBroker }> {
    for (;;) {
      // Taken before anything is awaited: a change while this waits below is not missed.
      const changed = state.changed;
      if (this.#abort.signal.aborted) throw new WriterClosedError();
      if (state.failed !== undefined)
        throw new EarlierWriteFailedError(state.topic, state.partition, state.failed);
      state.settleRetired();
      const session = state.session ?? (await this.#session(state));
      const broker = await leaderOf(this.#cluster, state.topic, state.partition);
      if (state.mayGo(request, session, this.#limit)) return { session, broker };
      await changed;
    }
  }

  /** The partition's producer id, taken with InitProducerId (retried until it is given). */
  async #session(state: IdempotentPartition): Promise<Session> {
    state.starting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const broker = await leaderOf(this.#cluster, state.topic, state.partition);
          const answer = await broker.initProducerId({ transactionalId: null, transactionTimeout: 60_000 });
          return {
            producerId: answer.producerId,
            epoch: answer.producerEpoch,
            inFlight: 0,
          };
        } catch (error) {
          const answer = produceErrorOf(error);
          if (this.#abort.signal.aborted) throw error;
          // Not allowed to write idempotently (IDEMPOTENT_WRITE, brokers before Kafka 3.0): halts as
          // a produce refused for authorization does.
          if (answer !== undefined && /AUTHORIZATION/.test(answer.name))
            throw state.fail(rejected(state.topic, state.partition, answer, error));
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
  #renumber(state: IdempotentPartition, session: Session, type: string): void {
    if (!state.retire(session)) return;
    this.#options.logger.warn(
      { topic: state.topic, partition: state.partition, error: type, unacknowledged: state.unacked.length },
      'the target lost this partition’s producer state; resending what is unacknowledged under a new producer id',
    );
  }

  /** A request the broker found too large is replaced by its two halves, in its place in the order. */
  async #split(state: IdempotentPartition, request: Request, type: string): Promise<void> {
    const { chunk } = request;
    this.#options.logger.warn(
      {
        topic: state.topic,
        partition: state.partition,
        records: chunk.count,
        bytes: chunk.body.length,
        error: type,
      },
      'the target refused a request as too large; sending it in two halves',
    );
    await Promise.all(state.split(request).map((half) => this.#deliver(state, half)));
  }

  /** Sends the request (before anything is awaited); the partition's next request may follow once it is handed over. */
  async #produce(
    broker: RawBroker,
    state: IdempotentPartition,
    session: Session,
    request: Request,
  ): Promise<void> {
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
    if (acknowledged !== true) throw new ProduceUnacknowledgedError(topic, partition);
  }
}
