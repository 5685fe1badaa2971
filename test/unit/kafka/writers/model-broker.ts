// A model of one partition leader's idempotence checks behind kafkajs's Broker and Connection, for
// the pipelined writers' tests (idempotent-writer.test.ts, transactions-pipelined.test.ts): it
// appends a batch only right after the one before it, answers a resend of one of the producer's
// last 5 batches as a duplicate, and loses requests and answers at random.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHUNK, frameRequest, type ChunkMessage } from '../../../../src/protocol/produce-request.ts';
import type { RawBroker, RawCluster } from '../../../../src/kafka/raw-client.ts';
import { decodeChunk, encodeChunk, type RecordChunk } from '../../../../src/protocol/record-chunk.ts';
import { createLogger } from '../../../../src/observability/logger.ts';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error;
};
const { KafkaJSRequestTimeoutError, KafkaJSConnectionError } = require('kafkajs/src/errors') as {
  KafkaJSRequestTimeoutError: new (message: string) => Error;
  KafkaJSConnectionError: new (message: string) => Error;
};
const { requests } = require('kafkajs/src/protocol/requests') as {
  requests: { Produce: ProduceDefinitions };
};

export interface ProtocolRequest {
  request: { encode(): Promise<{ buffer: Buffer }>; apiKey: number; apiVersion: number };
  response: unknown;
}
export interface ProduceDefinitions {
  protocol(version: { version: number }): (args: object) => ProtocolRequest;
}

export const ERROR = {
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  NOT_LEADER_OR_FOLLOWER: 6,
  UNKNOWN_PRODUCER_ID: 59,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  MESSAGE_TOO_LARGE: 10,
};

export interface Faults {
  /** Share of requests lost before the broker sees them (nothing appended, the client sees a connection error). */
  lost: number;
  /** Share whose answer is lost after the broker handled them (the client sees a timeout). */
  unanswered: number;
  /** Share refused with a retriable error (nothing appended). */
  refused: number;
  /** Kafka's leniency: a producer id the broker has no state for may start at any sequence number. */
  lenient: boolean;
  /**
   * A lost request takes the requests queued behind it on its connection with it, as a broken TCP
   * connection does (kafkajs rejects every request in flight on it). Off: each is lost alone.
   */
  connectionLoss?: boolean;
  /** Records larger than this are refused as MESSAGE_TOO_LARGE (whole request bytes). */
  maxRequestBytes?: number;
}

interface ProducerState {
  lastSequence: number;
  /** First sequence numbers of its last 5 batches. */
  recent: number[];
}

/**
 * One partition leader reached over one connection, with kafkajs's Broker and Connection in front
 * of it: a request is built first (encoded and compressed, kafka-mirror's real encoder) and queued
 * for the socket once built, as kafkajs's Connection.send does. The broker handles requests in the
 * order they were queued, each after a random delay; answers come back in that order.
 */
export class ModelBroker implements RawBroker {
  /** Record values in log order (every append, duplicates included). */
  readonly log: string[] = [];
  readonly producers = new Map<string, ProducerState>();
  /** Error answers given, by Kafka error code. */
  readonly answers = new Map<number, number>();
  /** Failed produce attempts as the client sees them (lost, unanswered, refused), duplicates aside. */
  failures = 0;
  /** Error answers kafkajs's Connection.send would have logged (at error: a warning in our log). */
  loggedByClient = 0;
  /** Produce requests queued and not yet answered, and the most there were at once. */
  inFlight = 0;
  maxInFlight = 0;
  #nextProducerId = 1000;
  #correlationId = 0;
  /** With connectionLoss: requests queued up to this correlation id are lost with the one lost. */
  #lostUpTo = -1;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #args = new WeakMap<object, object>();
  readonly #random: () => number;
  readonly #faults: Faults;
  initFailures = 1;

  constructor(random: () => number, faults: Faults) {
    this.#random = random;
    this.#faults = faults;
  }

  async initProducerId(): Promise<{ producerId: string; producerEpoch: number }> {
    await sleep(1);
    if (this.initFailures-- > 0) throw createErrorFromCode(ERROR.COORDINATOR_LOAD_IN_PROGRESS);
    return { producerId: String(this.#nextProducerId++), producerEpoch: 0 };
  }

  /** kafkajs's Broker.lookupRequest once connected: Produce v7, as the brokers of the tests answer. */
  lookupRequest(_apiKey: number, definitions: ProduceDefinitions): (args: object) => ProtocolRequest {
    const build = definitions.protocol({ version: 7 });
    return (args) => {
      const built = build(args);
      this.#args.set(built.request, args);
      return built;
    };
  }

  readonly connectionPool = {
    send: (protocolRequest: ProtocolRequest & { logResponseError?: boolean }) => this.#send(protocolRequest),
  };

  async disconnect(): Promise<void> {}

  /** As kafkajs's Broker.findGroupCoordinator: this broker coordinates every group and transactional id. */
  async findGroupCoordinator(): Promise<{ coordinator: { nodeId: number } }> {
    return { coordinator: { nodeId: 1 } };
  }

  /** As kafkajs's Broker.produce. */
  produce(args: object): Promise<unknown> {
    return this.connectionPool.send(this.lookupRequest(0, requests.Produce)(args));
  }

  /** kafkajs's Connection.send: the request is built (createRequest), then queued for the socket. */
  async #send(protocolRequest: ProtocolRequest & { logResponseError?: boolean }): Promise<unknown> {
    const { request } = protocolRequest;
    const { topicData } = this.#args.get(request) as {
      topicData: Array<{ partitions: Array<{ messages: ChunkMessage[] }> }>;
    };
    const chunk = (topicData[0]?.partitions[0]?.messages[0] as ChunkMessage)[CHUNK];
    const correlationId = this.#correlationId++;
    const framed = await frameRequest({ request, correlationId, clientId: 'model' });
    // What the broker reads: the producer id and the sequence number in the batch header.
    const { producerId, firstSequence } = batchHeader(framed.buffer);
    const roll = this.#random();
    const delay = Math.floor(this.#random() * 3);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    // Handled in the order queued, like one connection's requests on a broker.
    const handled = this.#queue.then(async () => {
      await sleep(delay);
      if (this.#faults.connectionLoss === true && correlationId <= this.#lostUpTo)
        throw new KafkaJSConnectionError('connection lost (model)');
      if (roll < this.#faults.lost) {
        this.#lostUpTo = this.#correlationId - 1;
        throw new KafkaJSConnectionError('connection lost (model)');
      }
      if (roll < this.#faults.lost + this.#faults.refused)
        throw createErrorFromCode(ERROR.NOT_LEADER_OR_FOLLOWER);
      const error = this.#append(producerId, firstSequence, chunk);
      if (roll < this.#faults.lost + this.#faults.refused + this.#faults.unanswered)
        throw new KafkaJSRequestTimeoutError('answer lost (model)');
      if (error !== undefined) {
        this.answers.set(error, (this.answers.get(error) ?? 0) + 1);
        if (protocolRequest.logResponseError !== false) this.loggedByClient++;
        throw createErrorFromCode(error);
      }
      return { topics: [{ topicName: 't', partitions: [{ partition: 0, errorCode: 0 }] }] };
    });
    void handled.then(
      () => this.inFlight--,
      () => this.inFlight--,
    );
    this.#queue = handled.catch((error: unknown) => {
      if ((error as { type?: string }).type !== 'DUPLICATE_SEQUENCE_NUMBER') this.failures++;
    });
    return handled;
  }

  /** The broker's checks (ProducerStateManager): an error code, or undefined once appended. */
  #append(producerId: string, firstSequence: number, chunk: RecordChunk): number | undefined {
    if (this.#faults.maxRequestBytes !== undefined && chunk.body.length > this.#faults.maxRequestBytes)
      return ERROR.MESSAGE_TOO_LARGE;
    const state = this.producers.get(producerId);
    if (state === undefined) {
      if (firstSequence !== 0 && !this.#faults.lenient) return ERROR.UNKNOWN_PRODUCER_ID;
    } else if (state.recent.includes(firstSequence)) {
      return ERROR.DUPLICATE_SEQUENCE_NUMBER;
    } else if (firstSequence !== state.lastSequence + 1) {
      return ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    for (const record of decodeChunk(chunk)) this.log.push(String(record.value));
    const recent = [...(state?.recent ?? []), firstSequence].slice(-5);
    this.producers.set(producerId, { lastSequence: firstSequence + chunk.count - 1, recent });
    return undefined;
  }

  fetch(): never {
    throw new Error('not used');
  }
  offsetCommit(): never {
    throw new Error('not used');
  }
  addPartitionsToTxn(): never {
    throw new Error('not used');
  }
  endTxn(): never {
    throw new Error('not used');
  }
}

/** Producer id and first sequence number of a framed produce request of one batch (v3 to v7). */
export function batchHeader(frame: Buffer): { producerId: string; firstSequence: number } {
  let at = 4 + 2 + 2 + 4; // size, api key and version, correlation id
  at += 2 + frame.readInt16BE(at); // client id
  const transactionalId = frame.readInt16BE(at);
  at += 2 + Math.max(0, transactionalId) + 2 + 4 + 4; // transactional id, acks, timeout, topic count
  at += 2 + frame.readInt16BE(at) + 4 + 4 + 4; // topic, partition count, partition, batch size
  return {
    producerId: frame.readBigInt64BE(at + 43).toString(),
    firstSequence: frame.readInt32BE(at + 53),
  };
}

export function modelCluster(broker: ModelBroker): RawCluster {
  const cluster = {
    connect: async () => {},
    disconnect: async () => {},
    addTargetTopic: async () => {},
    refreshMetadata: async () => {},
    findLeaderForPartitions: (_topic: string, partitions: number[]) => ({ '1': partitions }),
    getNodeIds: () => [1],
    findBroker: async () => broker,
    findGroupCoordinator: async () => broker,
  };
  return cluster;
}

export const quiet = createLogger({ level: 'fatal', destination: { write: () => {} } });

/** Every value once at least, first occurrences in order 0, 1, 2, ... */
export function assertOrderedOnce(log: readonly string[], total: number, seed: number): void {
  const seen = new Set<number>();
  const firsts: number[] = [];
  for (const value of log.map(Number)) {
    if (!seen.has(value)) firsts.push(value);
    seen.add(value);
  }
  assert.deepEqual(
    firsts,
    Array.from({ length: total }, (_, i) => i),
    `seed ${seed}: records lost or reordered`,
  );
}

/** A writer that stops making progress fails the test instead of hanging the run. */
export const bounded = { timeout: 60_000 };

export const totalOf = (all: readonly RecordChunk[]) => all.reduce((sum, c) => sum + c.count, 0);

/** Chunks of 1 to 6 records whose values count up from 0 across chunks. */
export function chunks(count: number, next: () => number): RecordChunk[] {
  let value = 0;
  return Array.from({ length: count }, () =>
    encodeChunk(
      Array.from({ length: 1 + Math.floor(next() * 6) }, () => ({
        key: null,
        value: Buffer.from(String(value++).padStart(40, '0')),
        timestamp: '1700000000000',
        headers: [],
      })),
    ),
  );
}
