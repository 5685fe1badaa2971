// A transaction's produce requests pipelined (src/kafka/writers/transactions.ts, issue 24): several
// in flight per partition within one transaction, against the model of a broker's sequence checks
// that the idempotent writer's test uses (model-broker.ts). Under one producer epoch a transaction
// may never hold a record twice or out of order, whatever is lost or refused on the way: a
// retried request keeps its sequence number, a request refused as out of order behind one that is
// not appended goes again behind it, and an answer that ends the epoch fails the transaction
// (the lane is then restored from its committed position) instead of being papered over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EarlierWriteFailedError,
  TargetTopicMissingError,
  TransactionFencedError,
} from '../../../../src/errors/index.ts';
import { PartitionTransaction } from '../../../../src/kafka/writers/transactions.ts';
import type { RecordChunk } from '../../../../src/protocol/record-chunk.ts';
import { mulberry32 } from '../../../support/random.ts';
import { bounded, chunks, ERROR, ModelBroker, modelCluster, totalOf } from './model-broker.ts';

function transaction(
  broker: ModelBroker,
  resent: string[] = [],
  options: {
    cluster?: ReturnType<typeof modelCluster>;
    topicExists?: (topic: string) => Promise<boolean>;
  } = {},
) {
  const abort = new AbortController();
  broker.initFailures = 0;
  const txn = new PartitionTransaction(options.cluster ?? modelCluster(broker), {
    topicExists: options.topicExists,
    transactionalId: 'kafka-mirror.flow/t/0',
    timeoutMs: 60_000,
    requestTimeoutMs: 1000,
    compression: 'none',
    signal: abort.signal,
    maxInFlight: 5,
    onResend: (reason) => resent.push(reason),
  });
  return { txn, abort };
}

/** Sends the chunks as the transactional writer does: in order, up to `window` unacknowledged at once. */
async function sendAll(txn: PartitionTransaction, all: readonly RecordChunk[], window = 5): Promise<void> {
  const running = new Set<Promise<void>>();
  for (const chunk of all) {
    while (running.size >= window) await Promise.race(running);
    const send = txn.send('t', 0, chunk).finally(() => running.delete(send));
    running.add(send);
  }
  await Promise.all(running);
}

const inOrderOnce = (log: readonly string[], total: number, seed: number) =>
  assert.deepEqual(
    log.map(Number),
    Array.from({ length: total }, (_, i) => i),
    `seed ${seed}: every record once, in order`,
  );

test(
  'with requests lost, answers lost and retriable refusals, a pipelined transaction holds every record once, in order',
  bounded,
  async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const next = mulberry32(seed);
      const broker = new ModelBroker(next, {
        lost: 0.08,
        unanswered: 0.08,
        refused: 0.04,
        lenient: false,
        connectionLoss: true,
      });
      const resent: string[] = [];
      const { txn, abort } = transaction(broker, resent);
      await txn.init();
      const all = chunks(60, next);
      await sendAll(txn, all);
      abort.abort();
      inOrderOnce(broker.log, totalOf(all), seed);
      assert.ok(broker.maxInFlight > 1, `seed ${seed}: requests were pipelined (${broker.maxInFlight})`);
      assert.equal(
        resent.length,
        broker.failures,
        `seed ${seed}: each failed attempt sent again once, counted`,
      );
    }
  },
);

test(
  'a request refused out of order behind one not yet appended goes again behind it, and is counted',
  bounded,
  async () => {
    const next = mulberry32(41);
    const broker = new ModelBroker(next, { lost: 0, unanswered: 0, refused: 0.15, lenient: false });
    const resent: string[] = [];
    const { txn, abort } = transaction(broker, resent);
    await txn.init();
    const all = chunks(80, next);
    await sendAll(txn, all);
    abort.abort();
    inOrderOnce(broker.log, totalOf(all), 41);
    const outOfOrder = broker.answers.get(ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER) ?? 0;
    assert.ok(outOfOrder > 0, 'the test reaches requests refused behind a lost one');
    assert.equal(resent.filter((r) => r === 'OUT_OF_ORDER_SEQUENCE_NUMBER').length, outOfOrder);
  },
);

test('under a new epoch only the oldest request goes until one is acknowledged', bounded, async () => {
  const broker = new ModelBroker(mulberry32(51), { lost: 0, unanswered: 0, refused: 0, lenient: true });
  const { txn, abort } = transaction(broker);
  await txn.init();
  const [first, ...rest] = chunks(6, mulberry32(52));
  const sends = [txn.send('t', 0, first as RecordChunk), ...rest.map((c) => txn.send('t', 0, c))];
  // The broker takes any sequence number from a producer it has no state for: a second request
  // sent beside the first could land first if the first were lost.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(broker.inFlight, 1, 'one request before the first acknowledgement');
  await Promise.all(sends);
  abort.abort();
  assert.equal(broker.log.length, totalOf([first as RecordChunk, ...rest]));
});

test(
  'an acknowledgement on one partition does not let another pipeline before its own first',
  bounded,
  async () => {
    // A lane's transaction writes its data partition and its positions partition under one
    // producer id; the broker keeps sequence state per partition, so an answer from the positions
    // partition's leader says nothing about the data partition's.
    const data = new ModelBroker(mulberry32(53), { lost: 0, unanswered: 0, refused: 0, lenient: true });
    const positions = new ModelBroker(mulberry32(54), { lost: 0, unanswered: 0, refused: 0, lenient: true });
    const cluster = {
      ...modelCluster(data),
      findLeaderForPartitions: (_topic: string, partitions: number[]) => ({
        [partitions[0] === 1 ? '2' : '1']: partitions,
      }),
      findBroker: async ({ nodeId }: { nodeId: string }) => (nodeId === '2' ? positions : data),
    };
    const { txn, abort } = transaction(data, [], { cluster });
    await txn.init();
    const [position, ...records] = chunks(7, mulberry32(55));
    await txn.send('t', 1, position as RecordChunk);
    const sends = records.map((c) => txn.send('t', 0, c));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(data.inFlight, 1, 'one request on the data partition before its first acknowledgement');
    await Promise.all(sends);
    abort.abort();
    assert.equal(data.log.length, totalOf(records));
  },
);
test(
  'a request too large is split in its place while later ones are in flight; every record once, in order',
  bounded,
  async () => {
    const next = mulberry32(61);
    const broker = new ModelBroker(next, {
      lost: 0,
      unanswered: 0,
      refused: 0,
      lenient: false,
      maxRequestBytes: 150,
    });
    const resent: string[] = [];
    const { txn, abort } = transaction(broker, resent);
    await txn.init();
    const all = chunks(40, next);
    await sendAll(txn, all);
    abort.abort();
    inOrderOnce(broker.log, totalOf(all), 61);
    assert.ok(resent.includes('MESSAGE_TOO_LARGE'));
  },
);

test(
  'an answer that ends the epoch fails the transaction: KM_TRANSACTION_FENCED, later sends of the partition KM_EARLIER_WRITE_FAILED, nothing of them appended',
  bounded,
  async () => {
    const next = mulberry32(71);
    const broker = new ModelBroker(next, { lost: 0, unanswered: 0, refused: 0, lenient: false });
    const { txn, abort } = transaction(broker);
    await txn.init();
    const before = chunks(5, next);
    await sendAll(txn, before);
    const appended = broker.log.length;
    // The broker no longer knows the producer (UNKNOWN_PRODUCER_ID for the oldest request): in a
    // transaction that ends it, as TransactionManager makes it abortable.
    broker.producers.clear();
    const after = chunks(6, next);
    const results = await Promise.allSettled(after.map((chunk) => txn.send('t', 0, chunk)));
    abort.abort();
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
    assert.ok(reasons[0] instanceof TransactionFencedError, String(reasons[0]));
    assert.ok(
      reasons
        .slice(1)
        .every((r) => r instanceof EarlierWriteFailedError || r instanceof TransactionFencedError),
      reasons.map(String).join('; '),
    );
    assert.equal(broker.log.length, appended, 'nothing was appended after the refusal');
    // Those in flight beside the oldest are refused too; none is sent again, and the sixth never goes.
    const refused = broker.answers.get(ERROR.UNKNOWN_PRODUCER_ID) ?? 0;
    assert.ok(refused >= 1 && refused <= 5, `${refused} refusals`);
  },
);

test(
  'a topic deleted on the target fails the send with TargetTopicMissingError when even its leader lookup fails',
  bounded,
  async () => {
    const broker = new ModelBroker(mulberry32(7), { lost: 0, unanswered: 0, refused: 0, lenient: false });
    let lookups = 0;
    const cluster = {
      ...modelCluster(broker),
      // kafkajs's metadata of a deleted topic: the lookup itself fails, no produce is ever answered.
      addTargetTopic: async () => {
        lookups++;
        throw Object.assign(new Error('This server does not host this topic-partition'), {
          type: 'UNKNOWN_TOPIC_OR_PARTITION',
          retriable: true,
        });
      },
    };
    const { txn, abort } = transaction(broker, [], { cluster, topicExists: async () => false });
    try {
      await txn.init();
      await assert.rejects(
        txn.send('t', 0, chunks(1, mulberry32(1))[0] as RecordChunk),
        TargetTopicMissingError,
      );
      assert.equal(lookups, 1, 'asked once, not retried into a topic that is gone');
      assert.equal(broker.log.length, 0, 'nothing written');
    } finally {
      abort.abort();
    }
  },
);
