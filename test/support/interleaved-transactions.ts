// A source whose partitions hold transactions of several producers interleaved, the one begun
// second aborted first (issue 19, defect 1): what kafkajs's own aborted-transaction filter let
// through as committed. Written with kafkajs's transactional producer against real brokers; every
// record's value says whether it must ever be seen by a read_committed consumer.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { RawClient } from '../../src/kafka/raw-client.ts';
import { ensureKafkaRuntime } from './kafka/index.ts';
import { javaArgs } from './kafka/perf-tools.ts';

export const ABORTED_PREFIX = 'aborted-';
export const COMMITTED_PREFIX = 'committed-';

export interface InterleavedOptions {
  readonly partitions: readonly number[];
  readonly rounds: number;
  /** Records per send (one batch per partition each). */
  readonly perSend?: number;
  /** Values padded to this many bytes, so that small fetches cut between batches. */
  readonly valueBytes?: number;
}

export interface InterleavedWrite {
  /** Per partition, the values of committed records in the order written. */
  readonly committed: ReadonlyMap<number, readonly string[]>;
  /** How many records were aborted, over all partitions. */
  readonly aborted: number;
}

/**
 * Per round and partition: A begins and writes; B begins and writes; C begins and writes; A
 * writes; a plain producer writes; B writes and aborts; C writes; A writes; C commits; A aborts.
 * Abort markers come in the order B, A while A's transaction began first, and a fetch that starts
 * at any of B's batches starts inside both. Ends, once every marker is written, with a plain record
 * per partition, so the last offset of every partition is a record a flow commits past.
 */
export async function writeInterleavedAborts(
  kafka: KafkaClient,
  topic: string,
  options: InterleavedOptions,
): Promise<InterleavedWrite> {
  const perSend = options.perSend ?? 2;
  const valueBytes = options.valueBytes ?? 0;
  const run = randomUUID().slice(0, 8);
  const transactional = (name: string) =>
    kafka.producer({
      transactionalId: `interleaved-${run}-${name}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  const [a, b, c] = [transactional('a'), transactional('b'), transactional('c')];
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const producers: Producer[] = [a, b, c, plain];
  await Promise.all(producers.map((p) => p.connect()));
  // Every record in the order it was appended (one send at a time), with its fate once known.
  type Entry = { partition: number; value: string; committed: boolean };
  const log: Entry[] = [];
  let aborted = 0;
  let sequence = 0;
  const messages = (kind: 'aborted' | 'committed', who: string) =>
    options.partitions.flatMap((partition) =>
      Array.from({ length: who === 'plain' ? 1 : perSend }, () => {
        const prefix = kind === 'aborted' ? ABORTED_PREFIX : COMMITTED_PREFIX;
        const value = `${prefix}${who}-${run}-${String(sequence++).padStart(9, '0')}-`;
        return { partition, value: value.padEnd(valueBytes, '.') };
      }),
    );
  const begin = async (producer: Producer) => {
    const txn = await producer.transaction();
    const entries: Entry[] = [];
    return {
      async send(values: ReturnType<typeof messages>) {
        await txn.send({ topic, acks: -1, messages: values });
        const sent = values.map((m) => ({ ...m, committed: false }));
        log.push(...sent);
        entries.push(...sent);
      },
      async end(commit: boolean) {
        if (commit) {
          await txn.commit();
          for (const entry of entries) entry.committed = true;
        } else {
          await txn.abort();
          aborted += entries.length;
        }
      },
    };
  };
  const sendPlain = async () => {
    const values = messages('committed', 'plain');
    await plain.send({ topic, acks: -1, messages: values });
    log.push(...values.map((m) => ({ ...m, committed: true })));
  };
  try {
    for (let round = 0; round < options.rounds; round++) {
      const txnA = await begin(a);
      await txnA.send(messages('aborted', 'a'));
      const txnB = await begin(b);
      await txnB.send(messages('aborted', 'b'));
      const txnC = await begin(c);
      await txnC.send(messages('committed', 'c'));
      await txnA.send(messages('aborted', 'a'));
      await sendPlain();
      await txnB.send(messages('aborted', 'b'));
      await txnB.end(false);
      await txnC.send(messages('committed', 'c'));
      await txnA.send(messages('aborted', 'a'));
      await txnC.end(true);
      await txnA.end(false);
    }
    await markersWritten(kafka, topic, options.partitions);
    await sendPlain();
  } finally {
    await Promise.allSettled(producers.map((p) => p.disconnect()));
  }
  const committed = new Map(
    options.partitions.map((p) => [
      p,
      log.filter((e) => e.partition === p && e.committed).map((e) => e.value),
    ]),
  );
  return { committed, aborted };
}

/**
 * Kafka's own console consumer (the Java client) reading a topic read_committed from the start:
 * the values it returns (without their padding), in partition order of arrival. An oracle independent of kafka-mirror's
 * fetch path. Stops after `timeoutMs` without a record.
 */
export async function javaReadCommitted(
  bootstrapServers: readonly string[],
  topic: string,
  timeoutMs = 15_000,
): Promise<string[]> {
  const runtime = await ensureKafkaRuntime();
  const { stdout } = await promisify(execFile)(
    'java',
    javaArgs(
      runtime,
      { heap: ['-Xmx256m'], profile: 'test' },
      'org.apache.kafka.tools.consumer.ConsoleConsumer',
      [
        '--bootstrap-server',
        bootstrapServers.join(','),
        '--topic',
        topic,
        '--from-beginning',
        '--isolation-level',
        'read_committed',
        '--timeout-ms',
        String(timeoutMs),
      ],
    ),
    { maxBuffer: 256 * 1024 * 1024 },
  ).catch((error: { stdout?: string; code?: number }) => {
    // It exits 1 when its timeout ends the read: what it printed until then is the answer.
    if (typeof error.stdout === 'string') return { stdout: error.stdout };
    throw error;
  });
  // Its own messages (the timeout, deprecations) share stdout with the values.
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(COMMITTED_PREFIX) || line.startsWith(ABORTED_PREFIX))
    .map(shortValue);
}

/** A value without its padding, for readable assertions. */
export const shortValue = (value: string): string => value.replace(/\.+$/, '');

/**
 * Waits until every partition's last stable offset reaches its high watermark: the coordinator
 * writes a transaction's markers after EndTxn returns, so a record sent right after an abort can
 * land before the abort marker.
 */
export async function markersWritten(
  kafka: KafkaClient,
  topic: string,
  partitions: readonly number[],
): Promise<void> {
  const raw = new RawClient(kafka);
  await raw.connect();
  try {
    for (const partition of partitions) {
      for (let attempt = 0; ; attempt++) {
        const { highWatermark, lastStableOffset } = await raw.read(topic, partition, 0);
        if (lastStableOffset >= highWatermark) break;
        if (attempt >= 600) throw new Error(`${topic}/${partition}: transactions still open after 60 s`);
        await sleep(100);
      }
    }
  } finally {
    await raw.close();
  }
}
