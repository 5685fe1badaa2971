// The at-least-once target writer that sends one produce request per partition at a time
// (producer.maxInFlightPerPartition: 1), through a kafkajs producer.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import {
  ProduceUnacknowledgedError,
  TargetTopicMissingError,
  WriterClosedError,
} from '../../errors/index.ts';
import { chunkMessage } from '../../protocol/produce-request.ts';
import { requestChunks, type RecordChunk } from '../../protocol/record-chunk.ts';
import { backoffMs } from '../../replication/backoff.ts';
import type { FlowTarget } from '../../replication/ports.ts';
import { rootCause } from '../client.ts';
import { kafkajs } from '../kafkajs/index.ts';
import { codecOf } from './codecs.ts';
import { Lifecycle } from './lifecycle.ts';
import { PendingRequests } from './pending-requests.ts';
import {
  halvesOf,
  missingTopic,
  ProduceStep,
  rejected,
  resendReason,
  triageProduce,
} from './produce-errors.ts';
import type { WriterLifecycle, WriterOptions } from './writer.ts';

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
export class TargetWriter implements FlowTarget, WriterLifecycle {
  readonly delivery = 'at-least-once' as const;
  #producer: Producer;
  readonly #kafka: KafkaClient;
  readonly #options: WriterOptions;
  readonly #abort = new AbortController();
  readonly #lifecycle = new Lifecycle();
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
        // Connected while the writer closed: its disconnect may have come first.
        if (this.#abort.signal.aborted) await next.disconnect().catch(() => {});
      })();
    }
    await this.#replacing;
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
  }

  /** Stops retrying (writes waiting for a retry reject), then disconnects once the requests on the wire are answered. */
  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      this.#abort.abort();
      await this.#producer.disconnect();
    });
  }

  /** Every write not yet acknowledged rejects at once (WriterClosedError); then disconnects. */
  destroy(): Promise<void> {
    return this.#lifecycle.destroy(async () => {
      this.#abort.abort();
      this.#pending.destroy(new WriterClosedError());
      await this.#producer.disconnect();
    });
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
        throw new ProduceUnacknowledgedError(topic, partition);
      } catch (error) {
        if (this.#abort.signal.aborted) throw error;
        if (await this.#settled(topic, partition, records, error)) return;
        await this.#backoff(topic, partition, attempt, error);
        if (this.#abort.signal.aborted) throw error;
      }
    }
  }

  /**
   * What a failed attempt ends with (produce-errors.ts triageProduce): true once its records were
   * written in two halves; a rejection for a refusal or a deleted topic; false to retry it.
   */
  async #settled(topic: string, partition: number, records: RecordChunk, error: unknown): Promise<boolean> {
    const { step, answer } = triageProduce(error, { records: records.count });
    if (step === ProduceStep.SPLIT) {
      this.#options.logger.warn(
        { topic, partition, records: records.count, bytes: records.body.length, error: answer.name },
        'the target refused a request as too large; sending it in two halves',
      );
      this.#options.onResend?.(answer.name);
      for (const half of halvesOf(records)) await this.#send(topic, partition, half);
      return true;
    }
    if (step === ProduceStep.REJECT) throw rejected(topic, partition, answer, error);
    if (step === ProduceStep.CHECK_TOPIC) {
      const missing = await missingTopic(this.#options.topicExists, topic, partition, error);
      if (missing !== undefined) {
        await this.#forget(topic);
        throw missing;
      }
    }
    return false;
  }

  async #backoff(topic: string, partition: number, attempt: number, error: unknown): Promise<void> {
    this.#options.onRetry?.(error);
    this.#options.onResend?.(resendReason(error));
    const delay = backoffMs(attempt, 200, 30_000);
    this.#options.logger.warn(
      { topic, partition, attempt, err: rootCause(error), retryInMs: Math.round(delay) },
      'write to target failed; retrying',
    );
    await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => {});
  }
}
