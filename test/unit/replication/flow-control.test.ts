// An operator's control of a flow over fakes (POST /control/: daemon/control.ts): pause and resume
// of fetching, and halted partitions resumed without a rebalance, from their last acknowledged
// offset. The Kafka side is test/integration/control.test.ts.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ControlConflictError, ControlNotFoundError, WriteRejectedError } from '../../../src/errors/index.ts';
import { decodeChunk, type RecordChunk } from '../../../src/protocol/record-chunk.ts';
import type { TargetRecord } from '../../../src/protocol/records.ts';
import type { FlowTarget } from '../../../src/replication/ports.ts';
import { flowConfig } from '../../support/flow-config.ts';
import {
  FakeSource,
  FakeTransactionalTarget,
  TOPIC,
  catalogOf,
  fetched,
  keepAlive,
  offsetsOf,
  quietFlow,
  restored,
  settle,
} from './fixtures/flow-fakes.ts';

/** Acknowledges every write, except while `refuse` names its partition. */
class Target implements FlowTarget {
  readonly delivery = 'at-least-once' as const;
  readonly refuse = new Set<number>();
  readonly written: TargetRecord[] = [];
  async write(_topic: string, partition: number, chunk: RecordChunk): Promise<void> {
    if (this.refuse.has(partition))
      throw new WriteRejectedError(TOPIC, partition, 'MESSAGE_TOO_LARGE', new Error('too large'));
    this.written.push(...decodeChunk(chunk));
  }
}

async function setup(t: TestContext) {
  const source = new FakeSource();
  const target = new Target();
  const catalog = catalogOf({ [TOPIC]: 2 });
  const flow = quietFlow(source, target, catalog);
  t.after(() => flow.destroy());
  await flow.start();
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  return { flow, source, target };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await settle();
  assert.ok(condition(), what);
}

test('pause holds fetching of the whole flow and resume lets it go on; each applies only once', async (t) => {
  const { flow, source } = await setup(t);
  assert.throws(() => flow.resume(), ControlConflictError, 'a running flow is not resumed');
  flow.pause();
  assert.equal(flow.state, 'paused');
  assert.equal(flow.exportedState, 'paused');
  assert.throws(() => flow.pause(), ControlConflictError);
  flow.resume();
  assert.equal(flow.state, 'running');
  assert.deepEqual(
    source.calls.filter((c) => c.endsWith('All')),
    ['pauseAll', 'resumeAll'],
  );
});

test('a paused flow still writes and commits what it had queued', async (t) => {
  const { flow, source, target } = await setup(t);
  assert.equal(await flow.onBatch(fetched(0, 0, 9), keepAlive), true);
  flow.pause();
  await until(() => target.written.length === 10, 'the queued records written');
  await flow.commit();
  assert.deepEqual(source.commits, [{ partition: 0, offset: 10 }]);
});

test('a halted partition resumed by an operator is read again from its last acknowledged offset, no record skipped', async (t) => {
  const { flow, source, target } = await setup(t);
  await flow.onBatch(fetched(0, 0, 4), keepAlive);
  await until(() => target.written.length === 5, 'records 0-4 written');
  target.refuse.add(0);
  await flow.onBatch(fetched(0, 5, 9), keepAlive);
  await until(() => flow.stats.halted.size === 1, 'the halt');
  // Fetched past the halted record: passed over (kafkajs's position moves past it).
  assert.equal(await flow.onBatch(fetched(0, 10, 14), keepAlive), true);

  target.refuse.clear();
  const resumed = await flow.resumeHalted();
  assert.deepEqual(resumed, [{ topic: TOPIC, partition: 0, from: 5 }]);
  assert.equal(flow.stats.halted.size, 0);
  assert.deepEqual(source.commits, [{ partition: 0, offset: 5 }], 'what was acknowledged is committed first');
  assert.deepEqual(source.calls.slice(-2), ['seek 0 5', 'resume 0']);
  await flow.onBatch(fetched(0, 5, 14), keepAlive);
  await until(() => target.written.length === 15, 'records 5-14 written');
  assert.deepEqual(
    offsetsOf(target.written),
    Array.from({ length: 15 }, (_, i) => i),
  );
  await flow.commit();
  assert.equal(source.commits.at(-1)?.offset, 15);
});

test('a partition resumed while the target still refuses halts again, and waits for the next resume', async (t) => {
  const { flow, target } = await setup(t);
  target.refuse.add(1);
  await flow.onBatch(fetched(1, 0, 4), keepAlive);
  await until(() => flow.stats.halted.size === 1, 'the halt');
  assert.deepEqual(await flow.resumeHalted({ topic: TOPIC, partition: 1 }), [
    { topic: TOPIC, partition: 1, from: 0 },
  ]);
  await flow.onBatch(fetched(1, 0, 4), keepAlive);
  await until(() => flow.stats.halted.size === 1, 'halted again');
  assert.equal(target.written.length, 0);
});

test('resuming a partition that is not halted, or when none is, is refused', async (t) => {
  const { flow } = await setup(t);
  await assert.rejects(flow.resumeHalted(), ControlConflictError);
  const { flow: other, target } = await setup(t);
  target.refuse.add(0);
  await other.onBatch(fetched(0, 0, 0), keepAlive);
  await until(() => other.stats.halted.size === 1, 'the halt');
  await assert.rejects(other.resumeHalted({ topic: TOPIC, partition: 1 }), ControlNotFoundError);
  assert.equal(other.stats.halted.size, 1, 'nothing resumed');
  assert.equal(flow.state, 'running');
});

test('a flow that is not running cannot be paused', async (t) => {
  const { flow } = await setup(t);
  await flow.close(1000);
  assert.throws(() => flow.pause(), ControlConflictError);
  await assert.rejects(flow.resumeHalted(), ControlConflictError);
});

test('exactly once, a halted partition resumed by an operator is restored from its position on the target', async (t) => {
  const source = new FakeSource();
  const target = new FakeTransactionalTarget();
  const catalog = catalogOf({ [TOPIC]: 1 });
  const flow = quietFlow(source, target, catalog, flowConfig({ delivery: 'exactly-once' }));
  t.after(() => flow.close(1000));
  await flow.start();
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 4), keepAlive);
  await settle();
  target.commit(0);
  await flow.onBatch(fetched(0, 5, 9), keepAlive);
  await settle();
  target.fail(0, new WriteRejectedError(TOPIC, 0, 'MESSAGE_TOO_LARGE', new Error('too large')));
  await until(() => flow.stats.halted.size === 1, 'the halt');
  assert.deepEqual(target.acquired, [0]);

  assert.deepEqual(await flow.resumeHalted(), [{ topic: TOPIC, partition: 0, from: 'target' }]);
  await restored(source, 2);
  assert.deepEqual(target.acquired, [0, 0], 'taken over again on the target');
  assert.deepEqual(source.calls.slice(-2), ['seek 0 5', 'resume 0'], 'from the position committed there');
  assert.equal(flow.stats.halted.size, 0);
  await flow.onBatch(fetched(0, 5, 9), keepAlive);
  await settle();
  target.commit(0);
  await settle();
  assert.equal(target.positions.get(0), 10);
});
