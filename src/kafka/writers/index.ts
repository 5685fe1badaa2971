// The writers' public surface: the one writer a flow's delivery and the producer settings call for,
// known to the daemon only as a Writer (writer.ts).
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../../config/index.ts';
import type { Logger } from '../../observability/logger.ts';
import type { FlowTarget } from '../../replication/ports.ts';
import { clusterOf } from '../raw-client.ts';
import type { TopicAdmin } from '../topic-admin.ts';
import { IdempotentWriter } from './idempotent-writer.ts';
import { TargetWriter } from './target-writer.ts';
import { TransactionalWriter, type TransactionResult } from './transactional-writer.ts';
import type { Writer } from './writer.ts';

export type { Writer } from './writer.ts';

export interface WriterSettings {
  readonly producer: Config['producer'];
  readonly flow: FlowConfig;
  /** The target's admin: topic existence, and the exactly-once positions topic. */
  readonly admin: TopicAdmin;
  readonly logger: Logger;
  readonly onRetry: (error: unknown) => void;
  readonly onResend: (reason: string) => void;
  readonly onTransaction: (result: TransactionResult) => void;
}

/**
 * Exactly-once delivery: the transactional writer; at least once: the pipelined idempotent writer
 * when more than one request may be in flight per partition, else the one-at-a-time writer.
 */
export function createWriter(client: KafkaClient, settings: WriterSettings): Writer {
  const { producer, flow, admin, logger, onRetry, onResend, onTransaction } = settings;
  const topicExists = (topic: string) => admin.topicExists(topic);
  if (flow.delivery === 'exactly-once') {
    const writer = new TransactionalWriter(client, {
      ...producer,
      group: flow.group,
      positionsTopic: flow.transaction.positionsTopic,
      transaction: flow.transaction,
      replicationFactor: flow.replicationFactor,
      logger,
      onRetry,
      onResend,
      onTransaction,
      topicExists,
    });
    return {
      delivery: writer.delivery,
      write: (topic, partition, records, source) => writer.write(topic, partition, records, source),
      acquire: (topic, partition) => writer.acquire(topic, partition),
      release: (topic, partition) => writer.release(topic, partition),
      flush: () => writer.flush(),
      connect: () => writer.connect(admin),
      pendingSince: () => writer.pendingSince(),
      close: () => writer.close(),
      destroy: () => writer.close(),
    };
  }
  const options = { ...producer, logger, onRetry, onResend, topicExists };
  const writer =
    producer.maxInFlightPerPartition > 1
      ? new IdempotentWriter(clusterOf(client), options)
      : new TargetWriter(client, options);
  return {
    delivery: writer.delivery,
    write: (...args: Parameters<FlowTarget['write']>) => writer.write(...args),
    connect: () => writer.connect(),
    pendingSince: () => writer.pendingSince(),
    close: () => writer.close(),
    destroy: () => writer.close(),
  };
}
