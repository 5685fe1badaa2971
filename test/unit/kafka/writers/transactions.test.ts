// A transactional id's requests against crafted coordinator answers (issue 19): what Kafka's
// TransactionManager retries is retried, what ends the producer's epoch restores the partition
// (KM_TRANSACTION_FENCED), and what neither retrying nor a new epoch can fix (authorization, a
// transaction timeout above the brokers' maximum) rejects at once with KM_TRANSACTION_REJECTED and
// what to do, instead of being retried for ever. The brokers are kafkajs's own Broker objects:
// every request is built, and every answer decoded and parsed, by kafkajs's protocol code; only the
// bytes of the answers are crafted here. The same refusals on real brokers:
// test/integration/exactly-once-refusals.test.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test, type TestContext } from 'node:test';
import { PartitionTransaction } from '../../../../src/kafka/writers/transactions.ts';
import type { RawBroker, RawCluster } from '../../../../src/kafka/raw-client.ts';
import {
  TargetTopicMissingError,
  TransactionRejectedError,
  type KafkaMirrorError,
} from '../../../../src/errors/index.ts';

const require = createRequire(import.meta.url);
const Broker = require('kafkajs/src/broker') as new (options: object) => RawBroker & {
  lookupRequest: unknown;
  findGroupCoordinator(request: object): Promise<unknown>;
};
const { lookup } = require('kafkajs/src/protocol/requests') as { lookup: (versions: object) => unknown };
const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkajsEncoder;
const { KafkaJSGroupCoordinatorNotFound } = require('kafkajs/src/errors') as {
  KafkaJSGroupCoordinatorNotFound: new (message: string) => Error;
};

interface KafkajsEncoder {
  writeInt16(value: number): KafkajsEncoder;
  writeInt32(value: number): KafkajsEncoder;
  writeInt64(value: number): KafkajsEncoder;
  writeString(value: string | null): KafkajsEncoder;
  writeArray(array: readonly KafkajsEncoder[]): KafkajsEncoder;
  readonly buffer: Buffer;
}

const API = { FindCoordinator: 10, InitProducerId: 22, AddPartitionsToTxn: 24, EndTxn: 26 } as const;
type Api = keyof typeof API;
const VERSIONS = {
  [API.FindCoordinator]: { minVersion: 0, maxVersion: 1 },
  [API.InitProducerId]: { minVersion: 0, maxVersion: 1 },
  [API.AddPartitionsToTxn]: { minVersion: 0, maxVersion: 1 },
  [API.EndTxn]: { minVersion: 0, maxVersion: 1 },
};

const PARTITIONS = [
  { topic: 'orders', partition: 3 },
  { topic: 'kafka-mirror.positions.flow', partition: 11 },
];

/** One partition's answer to AddPartitionsToTxn: [topic, partition, error code]. */
type PartitionAnswer = readonly [string, number, number];
/** What the coordinator answers a request with: an error code, or AddPartitionsToTxn's per partition. */
type Answer = number | readonly PartitionAnswer[];

/** Response bodies (after the correlation id) as the broker writes them, version 1 of each. */
function responseBytes(api: Api, answer: Answer): Buffer {
  const e = new Encoder().writeInt32(0); // throttle_time_ms
  switch (api) {
    case 'FindCoordinator':
      return e
        .writeInt16(answer as number)
        .writeString(null)
        .writeInt32(0)
        .writeString('127.0.0.1')
        .writeInt32(9092).buffer;
    case 'InitProducerId':
      return e
        .writeInt16(answer as number)
        .writeInt64(answer === 0 ? 4000 : -1)
        .writeInt16(answer === 0 ? 3 : -1).buffer;
    case 'EndTxn':
      return e.writeInt16(answer as number).buffer;
    case 'AddPartitionsToTxn': {
      // A code for all: every partition of the transaction gets it.
      const rows: readonly PartitionAnswer[] =
        typeof answer === 'number'
          ? PARTITIONS.map(({ topic, partition }) => [topic, partition, answer] as const)
          : answer;
      const topics = [...new Set(rows.map(([topic]) => topic))];
      return e.writeArray(
        topics.map((topic) =>
          new Encoder()
            .writeString(topic)
            .writeArray(
              rows
                .filter(([t]) => t === topic)
                .map(([, partition, code]) => new Encoder().writeInt32(partition).writeInt16(code)),
            ),
        ),
      ).buffer;
    }
  }
}

/**
 * A transaction coordinator: kafkajs's Broker over a connection that answers each request from the
 * script (per API, in order; success once a script is used up) and records what was sent.
 */
function coordinator(
  t: TestContext,
  script: Partial<Record<Api, Answer[]>>,
  options: { topicExists?: (topic: string) => Promise<boolean> } = {},
) {
  const sent: Api[] = [];
  const names = new Map<number, Api>(Object.entries(API).map(([name, key]) => [key, name as Api]));
  const connectionPool = {
    host: '127.0.0.1',
    port: 9092,
    connectionTimeout: 1000,
    async send(protocolRequest: {
      request: { apiKey: number; encode(): Promise<unknown> } & Record<string, unknown>;
      response: { decode(buffer: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
    }) {
      const api = names.get(protocolRequest.request.apiKey);
      if (api === undefined) throw new Error(`unexpected request ${protocolRequest.request.apiKey}`);
      sent.push(api);
      const answer = script[api]?.shift() ?? 0;
      const { response } = protocolRequest;
      return response.parse(await response.decode(responseBytes(api, answer)));
    },
  };
  const broker = new Broker({
    connectionPool,
    logger: { namespace: () => ({ debug() {}, info() {}, warn() {}, error() {} }) },
    nodeId: 0,
    versions: VERSIONS,
  });
  broker.lookupRequest = lookup(VERSIONS);
  const cluster = {
    async connect() {},
    async disconnect() {},
    async addTargetTopic() {},
    async refreshMetadata() {},
    findLeaderForPartitions: () => ({ 0: [0] }),
    getNodeIds: () => [0],
    async findBroker() {
      return broker;
    },
    // As kafkajs's Cluster.findGroupCoordinator: every broker is asked in turn (BrokerPool.withBroker),
    // an answer it does not retry is swallowed, and what is left is that no coordinator was found.
    async findGroupCoordinator(group: { groupId: string; coordinatorType?: number }) {
      try {
        await broker.findGroupCoordinator(group);
      } catch {
        throw new KafkaJSGroupCoordinatorNotFound('Failed to find group coordinator');
      }
      return broker;
    },
  } as unknown as RawCluster;
  const abort = new AbortController();
  t.after(() => abort.abort());
  const retried: string[] = [];
  const txn = new PartitionTransaction(cluster, {
    transactionalId: 'kafka-mirror.flow/orders/3',
    timeoutMs: 60_000,
    requestTimeoutMs: 1000,
    compression: 'none',
    signal: abort.signal,
    onRetry: (_error, what) => retried.push(what),
    ...options,
  });
  return { txn, sent, retried };
}

async function rejection(promise: Promise<unknown>): Promise<KafkaMirrorError & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as KafkaMirrorError & Record<string, unknown>;
  }
  assert.fail('resolved');
}

test('InitProducerId answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED rejects once with KM_TRANSACTION_REJECTED and the ACL to grant', async (t) => {
  const { txn, sent } = coordinator(t, { InitProducerId: [53, 53, 53] });
  const error = await rejection(txn.init());
  assert.ok(error instanceof TransactionRejectedError, String(error));
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED');
  assert.equal(error.request, 'InitProducerId');
  assert.equal(error.kafkaError, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  assert.equal(error.transactionalId, 'kafka-mirror.flow/orders/3');
  assert.match(error.remedy, /WRITE and DESCRIBE on TransactionalId/);
  assert.match(error.remedy, /prefix(ed)? "kafka-mirror\.flow\/"/);
  assert.deepEqual(
    sent.filter((s) => s === 'InitProducerId'),
    ['InitProducerId'],
    'not retried',
  );
});

test('FindCoordinator answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED (no DESCRIBE on the id) rejects with KM_TRANSACTION_REJECTED, not "no coordinator found"', async (t) => {
  const { txn, sent } = coordinator(t, { FindCoordinator: [53, 53, 53] });
  const error = await rejection(txn.init());
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['request'], 'FindCoordinator');
  assert.equal(error['kafkaError'], 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
  assert.deepEqual(sent, ['FindCoordinator']);
});

test('InitProducerId answered INVALID_TRANSACTION_TIMEOUT rejects with KM_TRANSACTION_REJECTED naming transaction.max.timeout.ms', async (t) => {
  const { txn } = coordinator(t, { InitProducerId: [50] });
  const error = await rejection(txn.init());
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['kafkaError'], 'INVALID_TRANSACTION_TIMEOUT');
  assert.match(String(error['remedy']), /transaction\.timeoutMs \(60000\)/);
  assert.match(String(error['remedy']), /transaction\.max\.timeout\.ms/);
});

test('InitProducerId answered CLUSTER_AUTHORIZATION_FAILED rejects with KM_TRANSACTION_REJECTED', async (t) => {
  const { txn } = coordinator(t, { InitProducerId: [31] });
  const error = await rejection(txn.init());
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['kafkaError'], 'CLUSTER_AUTHORIZATION_FAILED');
  assert.match(String(error['remedy']), /IDEMPOTENT_WRITE/);
});

test('retriable coordinator answers are retried: COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR (after a new lookup), CONCURRENT_TRANSACTIONS', async (t) => {
  const { txn, sent, retried } = coordinator(t, {
    InitProducerId: [14, 16],
    AddPartitionsToTxn: [51],
  });
  await txn.init();
  await txn.begin(PARTITIONS);
  assert.deepEqual(sent, [
    'FindCoordinator',
    'InitProducerId',
    'InitProducerId',
    'FindCoordinator', // NOT_COORDINATOR: looked up again
    'InitProducerId',
    'AddPartitionsToTxn',
    'AddPartitionsToTxn',
  ]);
  assert.deepEqual(retried, ['InitProducerId', 'InitProducerId', 'AddPartitionsToTxn']);
});

test('AddPartitionsToTxn: TOPIC_AUTHORIZATION_FAILED on the positions topic, OPERATION_NOT_ATTEMPTED on the other partition, rejects with KM_TRANSACTION_REJECTED naming the positions topic', async (t) => {
  // The broker answers every partition: the refused ones and OPERATION_NOT_ATTEMPTED for the rest
  // (listed first here, as kafkajs throws the first partition's error it finds).
  const { txn, sent } = coordinator(t, {
    AddPartitionsToTxn: [
      [
        ['orders', 3, 55],
        ['kafka-mirror.positions.flow', 11, 29],
      ],
    ],
  });
  await txn.init();
  const error = await rejection(txn.begin(PARTITIONS));
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['request'], 'AddPartitionsToTxn');
  assert.equal(error['kafkaError'], 'TOPIC_AUTHORIZATION_FAILED');
  assert.match(String(error['remedy']), /WRITE and DESCRIBE on kafka-mirror\.positions\.flow/);
  assert.doesNotMatch(String(error['remedy']), /orders/, 'the authorized topic is not blamed');
  assert.equal(sent.filter((s) => s === 'AddPartitionsToTxn').length, 1, 'not retried');
});

test('AddPartitionsToTxn answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED rejects with KM_TRANSACTION_REJECTED', async (t) => {
  const { txn } = coordinator(t, { AddPartitionsToTxn: [53] });
  await txn.init();
  const error = await rejection(txn.begin(PARTITIONS));
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['kafkaError'], 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
});

test('answers that end the epoch or the transaction restore the partition (KM_TRANSACTION_FENCED): PRODUCER_FENCED, TRANSACTION_ABORTABLE, UNKNOWN_PRODUCER_ID', async (t) => {
  for (const [api, code] of [
    ['AddPartitionsToTxn', 90],
    ['AddPartitionsToTxn', 120],
    ['AddPartitionsToTxn', 59],
    ['EndTxn', 90],
    ['EndTxn', 47],
    ['EndTxn', 120],
  ] as const) {
    const { txn } = coordinator(t, { [api]: [code] });
    await txn.init();
    const outcome = api === 'EndTxn' ? txn.begin(PARTITIONS).then(() => txn.commit()) : txn.begin(PARTITIONS);
    const error = await rejection(outcome);
    assert.equal(error.code, 'KM_TRANSACTION_FENCED', `${api} ${code}: ${String(error)}`);
  }
});

test('EndTxn answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED (the ACL was revoked) rejects with KM_TRANSACTION_REJECTED', async (t) => {
  const { txn, sent } = coordinator(t, { EndTxn: [53] });
  await txn.init();
  await txn.begin(PARTITIONS);
  const error = await rejection(txn.commit());
  assert.equal(error.code, 'KM_TRANSACTION_REJECTED', String(error));
  assert.equal(error['request'], 'EndTxn');
  assert.equal(sent.filter((s) => s === 'EndTxn').length, 1, 'not retried');
});

test('AddPartitionsToTxn answered UNKNOWN_TOPIC_OR_PARTITION for a topic deleted on the target rejects with KM_TARGET_TOPIC_MISSING, not retried for ever', async (t) => {
  // What the broker answers when the lane's target topic is gone (KafkaApis
  // handleAddPartitionsToTxnRequest): UNKNOWN_TOPIC_OR_PARTITION for it, OPERATION_NOT_ATTEMPTED for
  // the positions partition. A lane whose transaction begins after the deletion only ever sees this.
  const deleted: PartitionAnswer[] = [
    ['orders', 3, 3],
    ['kafka-mirror.positions.flow', 11, 55],
  ];
  const asked: string[] = [];
  const { txn, sent } = coordinator(
    t,
    { AddPartitionsToTxn: Array.from({ length: 8 }, () => deleted) },
    { topicExists: async (topic) => (asked.push(topic), topic !== 'orders') },
  );
  await txn.init();
  const error = await rejection(txn.begin(PARTITIONS));
  assert.ok(error instanceof TargetTopicMissingError, String(error));
  assert.equal(error.code, 'KM_TARGET_TOPIC_MISSING');
  assert.equal(error.topic, 'orders');
  assert.equal(error.partition, 3);
  assert.deepEqual(asked, ['orders'], 'only the topic answered unknown is looked up');
  assert.equal(sent.filter((s) => s === 'AddPartitionsToTxn').length, 1, 'not retried');
});

test('AddPartitionsToTxn answered UNKNOWN_TOPIC_OR_PARTITION for a topic that exists (a broker whose metadata is behind) is retried', async (t) => {
  const behind: PartitionAnswer[] = [
    ['orders', 3, 3],
    ['kafka-mirror.positions.flow', 11, 55],
  ];
  const { txn, sent, retried } = coordinator(
    t,
    { AddPartitionsToTxn: [behind, behind] },
    { topicExists: async () => true },
  );
  await txn.init();
  await txn.begin(PARTITIONS);
  assert.equal(sent.filter((s) => s === 'AddPartitionsToTxn').length, 3);
  assert.deepEqual(retried, ['AddPartitionsToTxn', 'AddPartitionsToTxn']);
});
