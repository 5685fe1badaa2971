// kafkajs helpers for tests: a quiet client, and bounded produce/consume of numbered records.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka as KafkaClient, KafkaConfig, Message } from 'kafkajs';
import { kafkajs, wireHeaders, type WireHeaders } from '../../src/kafka/kafkajs/index.ts';
import { waitForLeaders } from '../../src/kafka/topic-admin.ts';
import { kafkajsSecurity, securityOf } from './kafka/security.ts';
import type { KafkaCluster } from './kafka/types.ts';

const { Kafka, logLevel } = kafkajs;

export function client(
  bootstrapServers: readonly string[],
  options: { requestTimeout?: number; ssl?: KafkaConfig['ssl']; sasl?: KafkaConfig['sasl'] } = {},
): KafkaClient {
  return new Kafka({
    clientId: 'kafka-mirror-test',
    brokers: [...bootstrapServers],
    ssl: options.ssl,
    sasl: options.sasl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: options.requestTimeout ?? 10_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

/** A quiet test client of a cluster started with `security`, logged in as `user` (SCRAM-SHA-512). */
export function clientAs(cluster: KafkaCluster, user: string): KafkaClient {
  return client(cluster.bootstrapServers, kafkajsSecurity(securityOf(cluster), { user }));
}

export async function withAdmin<T>(kafka: KafkaClient, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(
  kafka: KafkaClient,
  topic: string,
  options: { partitions?: number; replicationFactor?: number; config?: Record<string, string> } = {},
): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    await admin.createTopics({
      waitForLeaders: false,
      topics: [
        {
          topic,
          numPartitions: options.partitions ?? 1,
          replicationFactor: options.replicationFactor ?? 1,
          configEntries: Object.entries(options.config ?? {}).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    // kafkajs's waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION from a broker whose KRaft
    // metadata is behind; the daemon's own wait handles it.
    await waitForLeaders(admin, topic, options.partitions ?? 1, 30_000);
  });
}

/** Messages `${prefix}-0` ... `${prefix}-(count-1)`, keyed by their number. */
export function numbered(prefix: string, from: number, count: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({ key: String(from + i), value: `${prefix}-${from + i}` }));
}

/** Messages keyed `k<n>` with values `v<n>`, n from `from` on, all to one partition. */
export function numberedIn(partition: number, from: number, count: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({ partition, key: `k${from + i}`, value: `v${from + i}` }));
}

/**
 * Sends each message in a request of its own (acks=all, not idempotent): one record batch per
 * record, in order, for tests that need the batches apart (a refused record among accepted ones).
 */
export async function produceEach(kafka: KafkaClient, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const m of messages) await producer.send({ topic, acks: -1, messages: [m] });
  } finally {
    await producer.disconnect();
  }
}

export async function produceAll(
  kafka: KafkaClient,
  topic: string,
  messages: Message[],
  chunk = 1000,
): Promise<void> {
  // Idempotent: a retried request (a slow broker under a loaded machine) must not write the
  // records twice, or a test's exact counts would measure the client instead of the code under test.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Consumed {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  keyBytes: Buffer | null;
  valueBytes: Buffer | null;
  headers: WireHeaders;
  timestamp: string;
}

/** The value of the last header named `name`, as a string. */
export function header(record: Consumed, name: string): string | undefined {
  for (let i = record.headers.length - 1; i >= 0; i--) {
    const entry = record.headers[i];
    if (entry?.[0] === name) return entry[1]?.toString();
  }
  return undefined;
}

/**
 * Reads a topic from the beginning up to the high watermarks it had when called, so the caller
 * gets exactly what was in the log, whatever the count. Fails if that takes longer than `timeoutMs`.
 */
export async function readTopic(
  kafka: KafkaClient,
  topic: string,
  /** How long the read may go without a record before it fails. */
  timeoutMs = 60_000,
  /** read_uncommitted: records of aborted and open transactions too. */
  uncommitted = false,
): Promise<Consumed[]> {
  const ends = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  const remaining = new Map(ends.filter((p) => p.high !== p.low).map((p) => [p.partition, BigInt(p.high)]));
  const records: Consumed[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({
    groupId: `test-reader-${topic}-${process.hrtime.bigint()}`,
    sessionTimeout: 10_000,
    readUncommitted: uncommitted,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const end = remaining.get(batch.partition);
        for (const m of batch.messages) {
          if (end === undefined || BigInt(m.offset) >= end) break;
          records.push({
            partition: batch.partition,
            offset: m.offset,
            key: m.key?.toString() ?? null,
            value: m.value?.toString() ?? null,
            keyBytes: m.key,
            valueBytes: m.value,
            headers: wireHeaders(m.headers),
            timestamp: m.timestamp,
          });
          if (BigInt(m.offset) + 1n >= end) remaining.delete(batch.partition);
        }
      },
    });
    // A transactional partition ends in a commit marker, which carries no record: kafkajs's batch
    // events carry the last offset of everything fetched, markers included.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const end = remaining.get(payload.partition);
      if (payload.topic === topic && end !== undefined && BigInt(payload.lastOffset) + 1n >= end)
        remaining.delete(payload.partition);
    });
    // The limit is on a stall, not on the whole read: a large topic on a loaded machine takes
    // longer than the limit to read, and a read that stopped moving fails just as soon.
    let progressAt = Date.now();
    const progress = () => `${records.length}/${remaining.size}`;
    let read = progress();
    while (remaining.size > 0 && Date.now() - progressAt < timeoutMs) {
      await sleep(50);
      if (progress() !== read) [read, progressAt] = [progress(), Date.now()];
    }
    if (remaining.size > 0) {
      throw new Error(
        `reading ${topic}: partitions ${[...remaining.keys()].join(', ')} not read to their end (no progress for ${timeoutMs} ms)`,
      );
    }
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** A group's committed offsets on `topic`, by partition (-1: none). */
export const committedOn = async (kafka: KafkaClient, group: string, topic: string) =>
  new Map(
    (await withAdmin(kafka, (a) => a.fetchOffsets({ groupId: group, topics: [topic] })))
      .flatMap((t) => t.partitions)
      .map((p) => [p.partition, Number(p.offset)]),
  );

/** Consumes `topic` as `group` from its committed offsets up to the current end of every partition. */
export async function consumeAsGroup(kafka: KafkaClient, group: string, topic: string): Promise<Consumed[]> {
  const ends = new Map(
    (await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic))).map((p) => [p.partition, Number(p.high)]),
  );
  const start = await committedOn(kafka, group, topic);
  const done = () => [...ends].every(([p, end]) => (start.get(p) ?? 0) >= end);
  const records: Consumed[] = [];
  if (done()) return records;
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finished: () => void = () => {};
    const all = new Promise<void>((resolve) => (finished = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          keyBytes: message.key,
          valueBytes: message.value,
          headers: message.headers as never,
          timestamp: message.timestamp,
        });
        start.set(partition, Number(message.offset) + 1);
        if (done()) finished();
      },
    });
    await Promise.race([
      all,
      sleep(60_000).then(() => {
        throw new Error(`group ${group} did not reach the end of ${topic} within 60 s`);
      }),
    ]);
  } finally {
    await consumer.disconnect();
  }
  return records;
}
