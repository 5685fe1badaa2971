// A flow's lifecycle verbs over fakes: close() drains (or fails with KM_DRAIN_TIMEOUT), destroy()
// stops at once, both idempotent; and a flow refuses a target of another delivery than its config's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DrainTimeoutError, InvalidArgumentError, QueueClosedError } from '../../../src/errors/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { RecordChunk } from '../../../src/protocol/record-chunk.ts';
import { Flow } from '../../../src/replication/flow.ts';
import type { FlowTarget } from '../../../src/replication/ports.ts';
import type { TopicCatalog } from '../../../src/replication/topic-sync.ts';
import { flowConfig } from '../../support/flow-config.ts';
import {
  FakeSource,
  FakeTransactionalTarget,
  TOPIC,
  catalogOf,
  fetched,
  keepAlive,
  quietFlow,
  settings,
  settle,
} from './fixtures/flow-fakes.ts';

/** An at-least-once target whose writes of `held` partitions never finish. */
function targetHolding(...held: number[]): FlowTarget & { written: number[] } {
  const written: number[] = [];
  return {
    delivery: 'at-least-once',
    written,
    write: (_topic: string, partition: number, records: RecordChunk) => {
      if (held.includes(partition)) return new Promise<void>(() => {});
      written.push(records.count);
      return Promise.resolve();
    },
  };
}

function flowOver(target: FlowTarget, catalog: TopicCatalog = catalogOf({ [TOPIC]: 2 })) {
  const source = new FakeSource();
  const flow = quietFlow(source, target, catalog);
  return { flow, source };
}

test('destroy() stops at once: nothing drained or committed, later batches refused with KM_QUEUE_CLOSED; idempotent, and close() after it resolves', async () => {
  const target = targetHolding(1);
  const { flow, source } = flowOver(target);
  await flow.start();
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  assert.equal(await flow.onBatch(fetched(0, 0, 9), keepAlive), true);
  assert.equal(await flow.onBatch(fetched(1, 0, 9), keepAlive), true);
  await settle();
  assert.deepEqual(target.written, [10], 'partition 0 written, partition 1 held');
  assert.equal(flow.acknowledged(TOPIC, 0), 10);

  flow.destroy();
  assert.equal(flow.state, 'stopped');
  await assert.rejects(flow.onBatch(fetched(0, 10, 19), keepAlive), (error: unknown) => {
    assert.ok(error instanceof QueueClosedError);
    assert.equal(error.code, 'KM_QUEUE_CLOSED');
    return true;
  });
  flow.destroy();
  await flow.close(1000);
  assert.deepEqual(source.commits, [], 'nothing committed: the next run replays it');
});

test('destroy() while the flow starts: it never starts its timers or runs', async () => {
  let listed!: () => void;
  const listing = new Promise<void>((resolve) => (listed = resolve));
  const slow: TopicCatalog = {
    ...catalogOf({ [TOPIC]: 2 }),
    partitionCounts: async () => {
      await listing;
      return new Map([[TOPIC, 2]]);
    },
  };
  const { flow } = flowOver(targetHolding(), slow);
  const started = flow.start();
  await settle();
  flow.destroy();
  listed();
  await started;
  assert.equal(flow.state, 'stopped');
});

test('close() that cannot drain in time rejects with KM_DRAIN_TIMEOUT, naming the flow', async () => {
  const { flow } = flowOver(targetHolding(0));
  await flow.start();
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await assert.rejects(flow.close(50), (error: unknown) => {
    assert.ok(error instanceof DrainTimeoutError);
    assert.equal(error.code, 'KM_DRAIN_TIMEOUT');
    assert.equal(error.flow, 'us->asia');
    assert.equal(error.timeoutMs, 50);
    return true;
  });
  assert.equal(flow.state, 'stopped');
  await flow.close(50); // idempotent: stopped already
});

test('a flow given a target of another delivery than its config is refused with KM_INVALID_ARGUMENT', () => {
  assert.throws(
    () =>
      new Flow({
        config: flowConfig({ delivery: 'at-least-once' }),
        settings,
        source: new FakeSource(),
        target: new FakeTransactionalTarget(),
        catalogs: { source: catalogOf(), target: catalogOf() },
        logger: createLogger({ level: 'silent', destination: { write: () => {} } }),
      }),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.code, 'KM_INVALID_ARGUMENT');
      assert.match(error.message, /a flow of at-least-once delivery needs a target of the same delivery/);
      return true;
    },
  );
});
