// The writers' public surface: one factory that picks a flow's writer from its delivery guarantee
// and the producer settings, and the Writer contract the caller knows it by.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../../config/index.ts';
import type { Logger } from '../../observability/logger.ts';
import { clusterOf } from '../raw-client.ts';
import type { TopicAdmin } from '../topic-admin.ts';
import { IdempotentWriter } from './idempotent-writer.ts';
import { TargetWriter } from './target-writer.ts';
import { TransactionalWriter, type TransactionResult } from './transactional-writer.ts';
import type { Writer } from './writer.ts';

export interface WriterSettings {
  readonly producer: Config['producer'];
  /** The flow's delivery, group, transaction settings and replication factor. */
  readonly flow: FlowConfig;
  /** The target's admin: whether a topic exists, and the positions topic of exactly-once flows. */
  readonly admin: TopicAdmin;
  readonly logger: Logger;
  /** Called for every failed request that will be retried. */
  readonly onRetry: (error: unknown) => void;
  /** Called for every produce request sent again, with why (kafka_mirror_produce_retries_total). */
  readonly onResend: (reason: string) => void;
  /** Called as each exactly-once transaction ends. */
  readonly onTransaction: (result: TransactionResult) => void;
}

/**
 * The writer of a flow's target: exactly-once flows get the transactional writer; at-least-once
 * flows the pipelined idempotent writer when `producer.maxInFlightPerPartition` is above 1, and
 * the one-request-at-a-time writer otherwise.
 */
export function createWriter(client: KafkaClient, settings: WriterSettings): Writer {
  const { producer, flow, admin, logger, onRetry, onResend, onTransaction } = settings;
  const topicExists = (topic: string) => admin.topicExists(topic);
  if (flow.delivery === 'exactly-once')
    return new TransactionalWriter(client, {
      ...producer,
      group: flow.group,
      positionsTopic: flow.transaction.positionsTopic,
      transaction: flow.transaction,
      replicationFactor: flow.replicationFactor,
      admin,
      logger,
      onRetry,
      onResend,
      onTransaction,
      topicExists,
    });
  const options = { ...producer, logger, onRetry, onResend, topicExists };
  return producer.maxInFlightPerPartition > 1
    ? new IdempotentWriter(clusterOf(client), options)
    : new TargetWriter(client, options);
}

export type { Writer, TransactionResult };
