import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import type { Compression, TargetCompression } from '../../config/index.ts';
import { TargetTopicMissingError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import { rootCause } from '../client.ts';
import { backoffMs } from '../../replication/backoff.ts';
import { kafkajs } from '../kafkajs/index.ts';
import { ProduceAction, produceErrorOf, rejected, resendReason } from './produce-errors.ts';
import { chunkMessage } from '../../protocol/produce-request.ts';
import { requestChunks, sliceChunk, type RecordChunk } from '../../protocol/record-chunk.ts';

const { CompressionTypes } = kafkajs;
export const COMPRESSION: Record<Compression, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The codec a chunk is written with: the configured one, or with `source` the one its records had there. */
export const codecOf = (setting: TargetCompression, chunk: RecordChunk): number =>
  COMPRESSION[setting === 'source' ? (chunk.compression ?? 'none') : setting];

/**
 * Requests waiting for the target, for the writers' `pendingSince()`: a target that is down or
 * blackholed shows as a request pending for long, before any timeout fires.
 */
export class PendingRequests {
  readonly #pending = new Set<{ since: number }>();

  async track<T>(request: () => Promise<T>): Promise<T> {
    const pending = { since: Date.now() };
    this.#pending.add(pending);
    try {
      return await request();
    } finally {
      this.#pending.delete(pending);
    }
  }

  /** When the oldest request still waiting began (undefined when none is). */
  oldest(): number | undefined {
    let oldest: number | undefined;
    for (const { since } of this.#pending) oldest = Math.min(oldest ?? since, since);
    return oldest;
  }
}

export interface WriterOptions {
  compression: TargetCompression;
  /** Record bytes per produce request for one partition; larger writes are split. */
  maxRequestBytes: number;
  requestTimeoutMs: number;
  /** Produce requests in flight per partition (IdempotentWriter; TargetWriter sends one at a time). */
  maxInFlightPerPartition?: number;
  logger: Logger;
  /** Called for every failed produce attempt that will be retried. */
  onRetry?: (error: unknown) => void;
  /**
   * Called for every produce request sent again (after a backoff, right behind an earlier one, or
   * split in halves), with why: kafka_mirror_produce_retries_total's `reason` (produce-errors.ts resendReason).
   */
  onResend?: (reason: string) => void;
  /**
   * Asked when the target answers UNKNOWN_TOPIC_OR_PARTITION: false means the topic was deleted,
   * and the write rejects with TargetTopicMissingError instead of retrying forever.
   */
  topicExists?: (topic: string) => Promise<boolean>;
}

/**
 * Writes the records of one target partition, in order, with acks=all, and resolves only when
 * the target acknowledged every one of them.
 *
 * Each produce request carries one partition. kafkajs keeps the retry state of a multi-partition
 * send per broker and can resolve without a partition whose leader moved to a broker that had
 * already answered (found by the launcher's SIGKILL test), so a partition's acknowledgement is
 * also checked in the response. Every answer is classified as Kafka's producer would
 * (produce-errors.ts): retriable failures are retried with capped exponential backoff for as long
 * as it takes (an unreachable target makes the flow wait, never skip); a refusal Kafka marks not
 * retriable (too large, a timestamp the topic does not take, not authorized) rejects with
 * WriteRejectedError; a too-large request of several records is split first, so only a record
 * that is too large on its own halts.
 * A write to a topic deleted from the target rejects with TargetTopicMissingError.
 */
export class TargetWriter {
  readonly delivery = 'at-least-once' as const;
  #producer: Producer;
  readonly #kafka: KafkaClient;
  readonly #options: WriterOptions;
  readonly #abort = new AbortController();
  /** Produce requests not yet acknowledged (retries included). */
  readonly #pending = new PendingRequests();
  /** Topics confirmed deleted from the target; writes to them reject without a request. */
  readonly #deleted = new Set<string>();
  #replacing: Promise<void> | undefined;

  constructor(kafka: KafkaClient, options: WriterOptions) {
    this.#kafka = kafka;
    this.#options = options;
    this.#producer = this.#newProducer();
  }

  #newProducer(): Producer {
    // Every message names its partition; the default partitioner is only set to silence kafkajs's
    // start-up notice about its v2 partitioner change. kafkajs drops (without an error) messages
    // for a partition its metadata does not know yet, such as one just added to a topic; the ack
    // check turns that into a retry, and a short metadata age makes the retry see the partition.
    // kafkajs's own retries are off: this writer retries every failure itself, with its backoff,
    // so each one is logged and counted (kafka_mirror_retries_total, kafka_mirror_errors_total).
    // kafkajs still refreshes its metadata on a stale-leader error before it rethrows.
    return this.#kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: 0 },
      metadataMaxAge: 5000,
      idempotent: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
  }

  /**
   * A kafkajs producer refreshes the metadata of every topic it ever wrote, and one deleted topic
   * fails that refresh for all of them: writes to every other topic would retry forever. So the
   * topic is marked deleted and the producer replaced by one that has never seen it.
   */
  async #forget(topic: string): Promise<void> {
    if (!this.#deleted.has(topic)) {
      this.#deleted.add(topic);
      const old = this.#producer;
      this.#producer = this.#newProducer();
      const next = this.#producer;
      this.#replacing = (async () => {
        await old.disconnect().catch(() => {});
        // Until it connects (the target may be unreachable too) or the writer closes.
        while (
          !(await next.connect().then(
            () => true,
            () => false,
          )) &&
          !this.#abort.signal.aborted
        ) {
          await sleep(1000, undefined, { signal: this.#abort.signal }).catch(() => {});
        }
      })();
    }
    await this.#replacing;
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
  }

  /** Stops retrying (pending writes reject) and disconnects. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#producer.disconnect();
  }

  async write(
    topic: string,
    partition: number,
    records: RecordChunk,
    _source?: unknown,
    throttle?: () => Promise<void>,
  ): Promise<void> {
    await throttle?.();
    // Recreated by an operator since? Then it is written again (after a restart or rebalance).
    if (this.#deleted.has(topic) && (await this.#options.topicExists?.(topic).catch(() => false)) === true) {
      this.#deleted.delete(topic);
    }
    for (const chunk of requestChunks(records, this.#options.maxRequestBytes))
      await this.#send(topic, partition, chunk);
  }

  /**
   * When the oldest write still waiting for the target began (undefined when none is): a target
   * that is down or blackholed shows as a write pending for long, before any timeout fires.
   */
  pendingSince(): number | undefined {
    return this.#pending.oldest();
  }

  async #send(topic: string, partition: number, records: RecordChunk): Promise<void> {
    await this.#pending.track(() => this.#attempt(topic, partition, records));
  }

  async #attempt(topic: string, partition: number, records: RecordChunk): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#deleted.has(topic)) throw new TargetTopicMissingError(topic, partition);
      try {
        await this.#replacing;
        const results = await this.#producer.send({
          topic,
          acks: -1,
          timeout: this.#options.requestTimeoutMs,
          compression: codecOf(this.#options.compression, records),
          // One message that carries the encoded chunk: its body becomes the batch (produce-request.ts).
          messages: [{ partition, ...chunkMessage(records) }],
        });
        if (results.some((r) => r.topicName === topic && r.partition === partition && r.errorCode === 0))
          return;
        throw new Error(`produce response for ${topic}/${partition} did not acknowledge the partition`);
      } catch (error) {
        if (this.#abort.signal.aborted) throw error;
        const answer = produceErrorOf(error);
        if (answer?.action === ProduceAction.SPLIT && records.count > 1) {
          const half = Math.ceil(records.count / 2);
          this.#options.logger.warn(
            { topic, partition, records: records.count, bytes: records.body.length, error: answer.name },
            'the target refused a request as too large; sending it in two halves',
          );
          this.#options.onResend?.(answer.name);
          await this.#send(topic, partition, sliceChunk(records, 0, half));
          await this.#send(topic, partition, sliceChunk(records, half, records.count));
          return;
        }
        if (answer?.action === ProduceAction.HALT || answer?.action === ProduceAction.SPLIT)
          throw rejected(topic, partition, answer, error);
        // A leader whose metadata is behind answers this briefly for a new topic; a deleted topic
        // answers it for good. The target's topic list tells them apart (a failed check retries).
        if (answer?.name === 'UNKNOWN_TOPIC_OR_PARTITION' && this.#options.topicExists !== undefined) {
          const exists = await this.#options.topicExists(topic).catch(() => true);
          if (!exists) {
            await this.#forget(topic);
            throw new TargetTopicMissingError(topic, partition, rootCause(error));
          }
        }
        this.#options.onRetry?.(error);
        this.#options.onResend?.(resendReason(error));
        const delay = backoffMs(attempt, 200, 30_000);
        this.#options.logger.warn(
          { topic, partition, attempt, err: rootCause(error), retryInMs: Math.round(delay) },
          'write to target failed; retrying',
        );
        await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => {});
        if (this.#abort.signal.aborted) throw error;
      }
    }
  }
}
