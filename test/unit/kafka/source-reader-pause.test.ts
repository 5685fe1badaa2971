// The reader's pauses over kafkajs's own SubscriptionState (what its fetch loop consults): a
// flow-wide pause (an operator's, POST /control/) holds every partition, also across a join that
// starts kafkajs's state afresh, and pauses of single partitions (halts, exactly-once restores)
// made meanwhile neither lift it nor get lost when it ends.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test, type TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import '../../../src/kafka/kafkajs/index.ts';
import { SourceReader, type BatchHandler } from '../../../src/kafka/source-reader.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const require = createRequire(import.meta.url);
const SubscriptionState = require('kafkajs/src/consumer/subscriptionState.js') as new () => {
  assign(tps: Array<{ topic: string; partitions: number[] }>): void;
  pause(tps: Array<{ topic: string; partitions?: number[] }>): void;
  resume(tps: Array<{ topic: string; partitions?: number[] }>): void;
  isPaused(topic: string, partition: number): boolean;
};

const ASSIGNMENT = { a: [0, 1], b: [0] };

/** A kafkajs consumer as far as the reader uses it, its pauses kept by kafkajs's SubscriptionState. */
function fakeKafka() {
  const handlers = new Map<string, (event: { payload: unknown }) => void>();
  const consumer = {
    state: new SubscriptionState(),
    events: { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', CRASH: 'crash', COMMIT_OFFSETS: 'commit' },
    on(event: string, fn: (event: { payload: unknown }) => void) {
      handlers.set(event, fn);
      return () => handlers.delete(event);
    },
    pause(tps: Array<{ topic: string; partitions?: number[] }>) {
      consumer.state.pause(tps);
    },
    resume(tps: Array<{ topic: string; partitions?: number[] }>) {
      consumer.state.resume(tps);
    },
    subscribe: async () => {},
    run: async () => {},
    stop: async () => {},
    connect: async () => {},
    disconnect: async () => {},
  };
  /** A group join; `fresh`: kafkajs made a new consumer group (after a restart), without pauses. */
  const join = (fresh = false) => {
    if (fresh) consumer.state = new SubscriptionState();
    consumer.state.assign(Object.entries(ASSIGNMENT).map(([topic, partitions]) => ({ topic, partitions })));
    handlers.get('join')?.({ payload: { memberAssignment: ASSIGNMENT } });
  };
  const paused = () =>
    Object.entries(ASSIGNMENT).flatMap(([topic, partitions]) =>
      partitions.filter((p) => consumer.state.isPaused(topic, p)).map((p) => `${topic}-${p}`),
    );
  return { kafka: { consumer: () => consumer } as unknown as Kafka, join, paused };
}

async function setup(t: TestContext) {
  const { kafka, join, paused } = fakeKafka();
  const handler: BatchHandler = {
    onBatch: async () => true,
    onAssignment: () => {},
    onRebalancing: () => {},
    onCrash: () => {},
    onCorruptBatch: () => {},
  };
  const reader = new SourceReader(
    kafka,
    {
      group: `g-${Math.random()}`,
      startFrom: 'earliest',
      consumer: {
        maxBytes: 2 ** 20,
        maxBytesPerPartition: 2 ** 19,
        maxWaitMs: 500,
        sessionTimeoutMs: 10_000,
      },
      logger: createLogger({ level: 'silent', destination: { write: () => {} } }),
    },
    handler,
  );
  t.after(() => reader.destroy());
  await reader.setTopics(['a', 'b']);
  join();
  return { reader, join, paused };
}

test('pauseAll holds every partition; single pauses and resumes meanwhile are kept for resumeAll', async (t) => {
  const { reader, paused } = await setup(t);
  reader.pause('a', 1); // halted
  assert.deepEqual(paused(), ['a-1']);
  reader.pauseAll();
  assert.deepEqual(paused(), ['a-0', 'a-1', 'b-0']);
  // kafkajs's pause of one partition lifts its topic's pause: not while held.
  reader.pause('b', 0);
  reader.resume('a', 1);
  assert.deepEqual(paused(), ['a-0', 'a-1', 'b-0']);
  reader.resumeAll();
  assert.deepEqual(paused(), ['b-0'], 'only the partition still paused on its own');
});

test('a held reader stays held across a join, also one that starts kafkajs afresh', async (t) => {
  const { reader, join, paused } = await setup(t);
  reader.pauseAll();
  join();
  assert.deepEqual(paused(), ['a-0', 'a-1', 'b-0']);
  join(true);
  assert.deepEqual(paused(), ['a-0', 'a-1', 'b-0'], 'paused again before the first fetch');
  reader.resumeAll();
  assert.deepEqual(paused(), []);
  join(true);
  assert.deepEqual(paused(), [], 'not held once resumed');
});
