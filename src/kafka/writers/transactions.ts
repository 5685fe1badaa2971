// Kafka transactions for one transactional id, built from the protocol requests themselves
// (FindCoordinator, InitProducerId, AddPartitionsToTxn, Produce, EndTxn) on a shared kafkajs
// cluster object. kafkajs's own transactional producer is not used: it needs a producer and its
// connections per transactional id, never retries AddPartitionsToTxn or EndTxn, and a failed EndTxn
// leaves it in a state it cannot leave (docs/design/exactly-once.md). Here the coordinator's
// answers are classified as Kafka's TransactionManager does (coordinator-errors.ts) and a
// produce's as its Sender does (produce-errors.ts): every retriable failure is retried with
// backoff, a produce is resent with the same sequence numbers (the broker drops what it already
// has), anything that says the epoch or its transaction is over is a TransactionFencedError (the
// partition is restored), and a refusal neither can fix is a TransactionRejectedError or a
// WriteRejectedError (the partition halts).
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetCompression } from '../../config/index.ts';
import {
  CoordinatorRetriableError,
  EarlierWriteFailedError,
  MetadataUnavailableError,
  ProduceUnacknowledgedError,
  TargetTopicMissingError,
  TransactionFencedError,
  TransactionRejectedError,
  WriteRejectedError,
} from '../../errors/index.ts';
import { chunkMessage } from '../../protocol/produce-request.ts';
import type { RecordChunk } from '../../protocol/record-chunk.ts';
import { backoffMs } from '../../replication/backoff.ts';
import { partitionKey } from '../../replication/ports.ts';
import { protocolErrorType, rootCause } from '../client.ts';
import { leaderOf, type RawBroker, type RawCluster } from '../raw-client.ts';
import { codecOf } from './codecs.ts';
import {
  addPartitionsError,
  CoordinatorAction,
  coordinatorErrorOf,
  rejectedTransaction,
  type CoordinatorError,
  type CoordinatorRequest,
} from './coordinator-errors.ts';
import { IdempotentPartition, type Request, type Session } from './idempotent-partition.ts';
import { missingTopic, ProduceStep, rejected, resendReason, triageProduce } from './produce-errors.ts';
import { sendProduce } from './send-produce.ts';

const require = createRequire(import.meta.url);

const TRANSACTION_COORDINATOR = 1;
const ADD_PARTITIONS_TO_TXN = 24;

/** What a request ends with, never retried: the partition halts or is restored. */
const decided = (error: unknown) =>
  error instanceof WriteRejectedError ||
  error instanceof TargetTopicMissingError ||
  error instanceof TransactionFencedError ||
  error instanceof TransactionRejectedError;

/** The parts of a kafkajs Broker that AddPartitionsToTxn is sent through (kafkajs/src/broker/index.js). */
interface BrokerInternals {
  lookupRequest(
    apiKey: number,
    definitions: unknown,
  ): (args: object) => { request: unknown; response: object };
  readonly connectionPool: { send(protocolRequest: object): Promise<unknown> };
  disconnect(): Promise<void>;
}

/** kafkajs's Broker.findGroupCoordinator: FindCoordinator, answered by that broker. */
interface CoordinatorLookup {
  findGroupCoordinator(request: {
    groupId: string;
    coordinatorType: number;
  }): Promise<{ coordinator: { nodeId: number } }>;
}

/** kafkajs's Cluster.getNodeIds: the brokers in the cluster's metadata. */
interface NodeIds {
  getNodeIds(): Array<string | number>;
}

/** AddPartitionsToTxn's answer as kafkajs decodes it (v0 and v1). */
interface AddPartitionsAnswer {
  errors: Array<{ topic: string; partitionErrors: Array<{ partition: number; errorCode: number }> }>;
}

/**
 * AddPartitionsToTxn with every partition's answer. kafkajs's Broker.addPartitionsToTxn throws the
 * error of the first failed partition in the answer, and a broker that refuses one partition
 * answers OPERATION_NOT_ATTEMPTED for the others (KafkaApis.handleAddPartitionsToTxnRequest), so
 * the refusal itself (which topic may not be written) could be lost. As kafkajs's Broker does, but
 * with the answer parsed as AddPartitionsToTxnHandler reads it (coordinator-errors.ts).
 */
async function addPartitionsToTxn(
  broker: RawBroker,
  args: object,
): Promise<Array<{ topic: string; partition: number; code: number }>> {
  const kafkajsBroker = broker as unknown as BrokerInternals;
  const { requests } = require('kafkajs/src/protocol/requests') as {
    requests: { AddPartitionsToTxn: unknown };
  };
  const protocolRequest = kafkajsBroker.lookupRequest(
    ADD_PARTITIONS_TO_TXN,
    requests.AddPartitionsToTxn,
  )(args);
  let answer: AddPartitionsAnswer;
  try {
    answer = (await kafkajsBroker.connectionPool.send({
      ...protocolRequest,
      response: { ...protocolRequest.response, parse: async (data: unknown) => data },
    })) as AddPartitionsAnswer;
  } catch (error) {
    // As Broker's sendRequest: a closed connection is dropped so that the next request reconnects.
    if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError')
      await kafkajsBroker.disconnect();
    throw error;
  }
  return answer.errors.flatMap(({ topic, partitionErrors }) =>
    partitionErrors.map(({ partition, errorCode }) => ({ topic, partition, code: errorCode })),
  );
}

export interface TransactionOptions {
  readonly transactionalId: string;
  /** The coordinator aborts a transaction open longer than this. */
  readonly timeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly compression: TargetCompression;
  readonly signal: AbortSignal;
  /** Called for every failed request that will be retried. */
  readonly onRetry?: (error: unknown, what: string) => void;
  /** Called for every produce request sent again, with why (produce-errors.ts resendReason). */
  readonly onResend?: (reason: string) => void;
  /**
   * Asked when the target answers UNKNOWN_TOPIC_OR_PARTITION (to a produce, or to AddPartitionsToTxn
   * for a topic of the transaction): false means the topic was deleted, and the send or begin
   * rejects with TargetTopicMissingError instead of retrying.
   */
  readonly topicExists?: (topic: string) => Promise<boolean>;
  /** Produce requests in flight at once per partition (1 to 5; default 5). */
  readonly maxInFlight?: number;
}

/** What one attempt of a produce request came to. */
const Attempt = {
  /** Acknowledged (or the broker had it already). */
  DONE: 'done',
  /** Refused as out of order behind an earlier request that is not appended yet: goes again behind it. */
  BEHIND: 'behind',
} as const;
type Attempt = (typeof Attempt)[keyof typeof Attempt];

/** A partition written in a transaction. */
interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

/**
 * The producer of one transactional id: `init()` takes the id over (fencing every earlier owner
 * and completing its open transaction), then `begin`, `send`, `commit` or `abort`, one
 * transaction at a time. Calls must not overlap (the caller serialises them).
 */
export class PartitionTransaction {
  readonly #cluster: RawCluster;
  readonly #options: TransactionOptions;
  #producerId = '-1';
  #epoch = -1;
  /** The epoch's partitions: sequence numbers and the requests not yet acknowledged (pipelining). */
  #partitions = new Map<string, IdempotentPartition>();
  /** The epoch as the partitions' requests are sent under it. */
  #session: Session | undefined;
  #coordinator: RawBroker | undefined;
  #open = false;
  #openedAt = 0;

  constructor(cluster: RawCluster, options: TransactionOptions) {
    this.#cluster = cluster;
    this.#options = options;
  }

  get transactionalId(): string {
    return this.#options.transactionalId;
  }

  /**
   * InitProducerId: returns once every earlier owner is fenced and its transaction completed.
   * Rejects with TransactionRejectedError when the coordinator refuses the id for good (not
   * authorized, a timeout above the brokers' maximum).
   */
  async init(): Promise<void> {
    const { transactionalId, timeoutMs } = this.#options;
    const answer = await this.#coordinated('InitProducerId', (broker) =>
      broker.initProducerId({ transactionalId, transactionTimeout: timeoutMs }),
    );
    this.#producerId = answer.producerId;
    this.#epoch = answer.producerEpoch;
    this.#session = {
      producerId: answer.producerId,
      epoch: answer.producerEpoch,
      inFlight: 0,
    };
    this.#partitions = new Map();
    this.#open = false;
  }

  /**
   * Starts a transaction over these partitions (AddPartitionsToTxn). Rejects with
   * TargetTopicMissingError when one of their topics was deleted on the target.
   */
  async begin(partitions: readonly TxnPartition[]): Promise<void> {
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions)
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    await this.#coordinated('AddPartitionsToTxn', async (broker) => {
      const answers = await addPartitionsToTxn(broker, {
        ...this.#identity(),
        topics: [...topics].map(([topic, list]) => ({ topic, partitions: list })),
      });
      const refused = addPartitionsError(answers);
      if (refused !== undefined) {
        const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
          createErrorFromCode(code: number): Error;
        };
        const cause = createErrorFromCode(refused.code);
        // A lane whose transaction begins after its target topic was deleted gets only this
        // answer, never a produce's: as send(), retried only while the topic exists.
        if (refused.name === 'UNKNOWN_TOPIC_OR_PARTITION') {
          for (const topic of refused.topics) {
            const missing = await this.#deleted(topic, topics.get(topic)?.[0], cause);
            if (missing !== undefined) throw missing;
          }
        }
        throw this.#verdict('AddPartitionsToTxn', refused, cause);
      }
    });
    this.#open = true;
    this.#openedAt = Date.now();
  }

  /**
   * Writes records to one partition in the open transaction, acks=all, and resolves once the
   * broker acknowledged them. Several sends of a partition may be in flight at once (up to
   * `maxInFlight`), as Kafka's transactional producer pipelines its batches: the sequence number is
   * taken at the call, before anything is awaited, so the caller's order of calls is the order on
   * the wire and in the log; `onHandedOver` is called once the request is queued on the connection
   * (or failed before that), after which the partition's next send may follow it. The turn rules
   * are the idempotent writer's (idempotent-partition.ts): each request goes only behind every
   * earlier one of its partition, in flight and handed over; under an epoch the broker has not yet
   * acknowledged anything for, only the oldest goes.
   *
   * Answers are classified as Kafka's transactional producer would (produce-errors.ts): a
   * retriable failure is resent with the same sequence number, so the broker keeps each record
   * once; a request refused as out of order behind an earlier one that is not appended yet goes
   * again behind it (TransactionManager.canRetry); a request too large for the broker is replaced
   * by its two halves in its place; a refusal retrying cannot fix rejects with WriteRejectedError
   * (the partition halts); an answer that ends the transaction rejects with
   * TransactionFencedError. After a failure the partition's later sends of the epoch reject with
   * EarlierWriteFailedError: the transaction is to be aborted.
   */
  send(topic: string, partition: number, records: RecordChunk, onHandedOver?: () => void): Promise<void> {
    const state = this.#partitionOf(topic, partition);
    if (state.failed !== undefined) {
      onHandedOver?.();
      return Promise.reject(new EarlierWriteFailedError(topic, partition, state.failed));
    }
    const [request] = state.number([records]);
    return this.#deliver(state, request as Request, onHandedOver);
  }

  #partitionOf(topic: string, partition: number): IdempotentPartition {
    const key = partitionKey(topic, partition);
    let state = this.#partitions.get(key);
    if (state === undefined) {
      state = new IdempotentPartition(topic, partition);
      state.session = this.#session;
      this.#partitions.set(key, state);
    }
    return state;
  }

  /** Sends one request until it is acknowledged, or fails the partition's epoch; either way it leaves `unacked`. */
  async #deliver(state: IdempotentPartition, request: Request, onHandedOver?: () => void): Promise<void> {
    const { topic, partition } = state;
    let handed = false;
    const handOver = () => {
      if (!handed) onHandedOver?.();
      handed = true;
    };
    // The failure of the last attempt that reached the broker: the next attempt is a resend.
    const last: { failed?: unknown } = {};
    try {
      for (;;) {
        const attempt = await this.#retrying(`Produce ${topic}/${partition}`, () =>
          this.#attempt(state, request, handOver, last),
        );
        if (attempt === Attempt.DONE) return;
      }
    } catch (error) {
      // Too large: its halves take its place and its sequence numbers.
      const triage =
        error instanceof WriteRejectedError
          ? triageProduce(error, { records: request.chunk.count, transactional: true })
          : undefined;
      if (triage?.step === ProduceStep.SPLIT && state.failed === undefined) {
        this.#options.onResend?.(triage.answer.name);
        const halves = state.split(request);
        handOver();
        await Promise.all(halves.map((half) => this.#deliver(state, half)));
        return;
      }
      state.fail(error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      handOver();
      state.remove(request);
    }
  }

  /** One attempt of a request, sent when its turn comes. */
  async #attempt(
    state: IdempotentPartition,
    request: Request,
    handOver: () => void,
    last: { failed?: unknown },
  ): Promise<Attempt> {
    const { topic, partition } = state;
    const { broker, session } = await this.#turn(state, request);
    if (last.failed !== undefined) this.#options.onResend?.(resendReason(last.failed));
    last.failed = undefined;
    // Nothing is awaited from the turn to the send: a partition's requests go out in order.
    session.inFlight++;
    request.sentIn = session;
    request.handedOver = false;
    try {
      const response = (await sendProduce(
        broker,
        {
          ...this.#identity(),
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
        () => {
          request.handedOver = true;
          state.wake();
          handOver();
        },
      )) as {
        topics?: Array<{ topicName: string; partitions: Array<{ partition: number; errorCode: number }> }>;
      };
      const acknowledged = response.topics?.some(
        (t) =>
          t.topicName === topic && t.partitions.some((p) => p.partition === partition && p.errorCode === 0),
      );
      if (acknowledged !== true) throw new ProduceUnacknowledgedError(topic, partition);
      state.acknowledged(session);
      return Attempt.DONE;
    } catch (error) {
      return await this.#failedAttempt(state, request, session, error, last);
    } finally {
      session.inFlight--;
      request.sentIn = undefined;
      state.wake();
    }
  }

  /** What follows a failed attempt: the request counts as done, goes again behind the one before it, or fails (thrown; retriable ones are retried). */
  async #failedAttempt(
    state: IdempotentPartition,
    request: Request,
    session: Session,
    error: unknown,
    last: { failed?: unknown },
  ): Promise<Attempt> {
    const { topic, partition } = state;
    // Every answer is triaged as Kafka's transactional producer would (produce-errors.ts).
    const { step, answer } = triageProduce(error, { records: request.chunk.count, transactional: true });
    // The broker has this batch already (an earlier attempt's answer was lost).
    if (step === ProduceStep.DONE) {
      state.acknowledged(session);
      return Attempt.DONE;
    }
    // Refused because a request before it is not appended (that one is retried): this one goes
    // again right behind it, as TransactionManager.canRetry retries an out-of-order batch that is
    // not the next one. Only for the oldest unacknowledged request does the answer end the
    // transaction.
    if (answer?.name === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && state.unacked[0] !== request) {
      last.failed = error;
      return Attempt.BEHIND;
    }
    // Too large (the caller splits it), or refused for good.
    if (step === ProduceStep.SPLIT || step === ProduceStep.REJECT)
      throw rejected(topic, partition, answer, error);
    // TransactionManager: the transaction is abortable (or the producer fenced): it is aborted
    // and the partition restored from its committed position.
    if (step === ProduceStep.ABORT) throw new TransactionFencedError(this.transactionalId, rootCause(error));
    if (step === ProduceStep.CHECK_TOPIC) {
      const missing = await this.#deleted(topic, partition, error);
      if (missing !== undefined) throw missing;
    }
    last.failed = error;
    throw error;
  }

  /** Waits until the request may go (idempotent-partition.ts mayGo) and gives the leader to send it to. */
  async #turn(
    state: IdempotentPartition,
    request: Request,
  ): Promise<{ broker: RawBroker; session: Session }> {
    const limit = Math.min(5, Math.max(1, this.#options.maxInFlight ?? 5));
    for (;;) {
      // Taken before anything is awaited: a change while this waits below is not missed.
      const changed = state.changed;
      if (state.failed !== undefined)
        throw new EarlierWriteFailedError(state.topic, state.partition, state.failed);
      const session = this.#session;
      if (session === undefined || state.session !== session)
        throw new TransactionFencedError(this.transactionalId, 'no producer epoch for this send');
      // A topic deleted on the target is missing from its metadata: the lookup fails before any
      // produce could be answered UNKNOWN_TOPIC_OR_PARTITION, so it is asked here too (else retried
      // forever, the partition stuck without a word).
      const broker = await leaderOf(this.#cluster, state.topic, state.partition).catch(
        async (error: unknown) => {
          throw (await this.#deleted(state.topic, state.partition, error)) ?? error;
        },
      );
      if (state.mayGo(request, session, limit)) return { broker, session };
      // Woken by every acknowledgement, failure and hand-over of the partition; the timer only ends
      // the wait of a writer that closed meanwhile.
      await Promise.race([changed, sleep(1000, undefined, { signal: this.#options.signal }).catch(() => {})]);
      if (this.#options.signal.aborted) throw new TransactionFencedError(this.transactionalId, 'closed');
    }
  }

  async commit(): Promise<void> {
    await this.#end(true);
  }

  async abort(): Promise<void> {
    await this.#end(false);
  }

  async #end(commit: boolean): Promise<void> {
    if (!this.#open) return;
    // A retried EndTxn of a transaction the coordinator already completed answers success.
    await this.#coordinated('EndTxn', (broker) =>
      broker.endTxn({ ...this.#identity(), transactionResult: commit }),
    );
    this.#open = false;
  }

  /**
   * After an UNKNOWN_TOPIC_OR_PARTITION answer: the error to fail with when the topic is gone from
   * the target, undefined when it exists (a broker whose metadata is behind answers this briefly)
   * or nobody can tell (retried).
   */
  async #deleted(
    topic: string,
    partition: number | undefined,
    cause: unknown,
  ): Promise<TargetTopicMissingError | undefined> {
    const missing = await missingTopic(this.#options.topicExists, topic, partition, cause);
    // Every metadata refresh of the shared cluster would fail on it from now on.
    if (missing !== undefined)
      (this.#cluster as unknown as { targetTopics?: Set<string> }).targetTopics?.delete(topic);
    return missing;
  }

  #identity() {
    return {
      transactionalId: this.#options.transactionalId,
      producerId: this.#producerId,
      producerEpoch: this.#epoch,
    };
  }

  /** A request to the id's transaction coordinator, found again after it moved. */
  async #coordinated<T>(
    what: Exclude<CoordinatorRequest, 'FindCoordinator'>,
    request: (broker: RawBroker) => Promise<T>,
  ): Promise<T> {
    return this.#retrying(what, async () => {
      const coordinator =
        this.#coordinator ?? (await this.#answered('FindCoordinator', () => this.#findCoordinator()));
      this.#coordinator = coordinator;
      return this.#answered(what, () => request(coordinator));
    });
  }

  /**
   * The id's coordinator, asked of any broker. As TransactionManager's FindCoordinatorHandler, the
   * lookup's own answer counts: kafkajs's Cluster.findGroupCoordinator asks the brokers in turn and
   * swallows each answer, so TRANSACTIONAL_ID_AUTHORIZATION_FAILED (no DESCRIBE on the id) came
   * back as "no coordinator found", retried for ever.
   */
  async #findCoordinator(): Promise<RawBroker> {
    const nodeIds = (this.#cluster as RawCluster & NodeIds).getNodeIds();
    const nodeId = nodeIds[Math.floor(Math.random() * nodeIds.length)];
    if (nodeId === undefined) {
      await this.#cluster.refreshMetadata();
      throw new MetadataUnavailableError('no broker of the target known');
    }
    const broker = (await this.#cluster.findBroker({ nodeId: String(nodeId) })) as RawBroker &
      CoordinatorLookup;
    const { coordinator } = await broker.findGroupCoordinator({
      groupId: this.#options.transactionalId,
      coordinatorType: TRANSACTION_COORDINATOR,
    });
    return this.#cluster.findBroker({ nodeId: String(coordinator.nodeId) });
  }

  /**
   * Runs a request of the coordinator and turns a failure into what follows from it
   * (coordinator-errors.ts): a retriable error for #retrying, TransactionFencedError (the partition
   * is restored) or TransactionRejectedError (it halts).
   */
  async #answered<T>(what: CoordinatorRequest, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      // Already decided (its cause is the answer, which would be classified again as retriable).
      if (decided(error)) throw error;
      throw this.#verdict(what, coordinatorErrorOf(error), error);
    }
  }

  /**
   * What a failed request of the coordinator (`error`, whose answer is `answer`) fails with. The
   * same again for what it returns: AddPartitionsToTxn's answer, read per partition, is judged
   * where it is read, and judged again here as the retriable error or decided one it became.
   */
  #verdict(what: CoordinatorRequest, answer: CoordinatorError | undefined, error: unknown): unknown {
    // Not an answer (the connection failed): found again, as TxnRequestHandler after a disconnect.
    if (answer === undefined || answer.findCoordinator) this.#coordinator = undefined;
    if (answer === undefined) return error;
    if (answer.action === CoordinatorAction.RESTORE)
      return new TransactionFencedError(this.transactionalId, rootCause(error));
    if (answer.action === CoordinatorAction.HALT)
      return rejectedTransaction(what, answer, this.#options, error);
    // Kafka's verdict, also for codes kafkajs does not know (it marks those not retriable).
    if ((error as { retriable?: unknown }).retriable === true) return error;
    return new CoordinatorRetriableError(what, answer.name, error);
  }

  /**
   * Retries retriable failures with capped exponential backoff until the writer closes, or, in a
   * transaction, until the transaction is older than its timeout (the coordinator has aborted it:
   * TransactionFencedError, and the partition is restored).
   */
  async #retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let attempts = 0; ; attempts++) {
      try {
        return await attempt();
      } catch (error) {
        if (decided(error)) throw error;
        const type = protocolErrorType(error);
        // The coordinator has aborted a transaction open this long: stop retrying into it.
        if (this.#open && Date.now() - this.#openedAt > this.#options.timeoutMs)
          throw new TransactionFencedError(this.transactionalId, error);
        const root = rootCause(error) as { retriable?: boolean };
        // kafkajs marks connection errors, timeouts and retriable protocol errors (stale leader,
        // coordinator moving or loading, CONCURRENT_TRANSACTIONS, not enough replicas).
        const retriable = (error as { retriable?: boolean }).retriable === true || root?.retriable === true;
        if (!retriable || this.#options.signal.aborted) throw error;
        if (type !== undefined && /LEADER|UNKNOWN_TOPIC/.test(type))
          await this.#cluster.refreshMetadata().catch(() => {});
        this.#options.onRetry?.(error, what);
        // CONCURRENT_TRANSACTIONS (markers of the previous transaction still being written) clears in milliseconds.
        const base = type === 'CONCURRENT_TRANSACTIONS' ? 20 : 100;
        const delay = backoffMs(attempts, base, 5000);
        await sleep(delay, undefined, { signal: this.#options.signal }).catch(() => {});
        if (this.#options.signal.aborted) throw error;
      }
    }
  }
}
