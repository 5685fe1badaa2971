// Exactly-once over fakes: a fetch that ends past its last data record (a transaction marker,
// records of aborted transactions, a range emptied by compaction) moves the lane's position on the
// target and the source group's commit to the fetch's end, as Kafka's consumer moves its position
// (CompletedFetch.nextFetchedRecord), and never before the transaction with the records before it
// commits. The at-least-once side is in flow.test.ts; the Kafka side in
// test/integration/trailing-markers.test.ts.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
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
  settle,
} from './fixtures/flow-fakes.ts';

const catalog = catalogOf({ [TOPIC]: 2 });

async function setup(t: TestContext, positions: ReadonlyMap<number, number> = new Map()) {
  const source = new FakeSource();
  const target = new FakeTransactionalTarget();
  for (const [partition, next] of positions) target.positions.set(partition, next);
  const flow = quietFlow(source, target, catalog, flowConfig({ delivery: 'exactly-once' }));
  t.after(() => flow.close(1000));
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  for (let i = 0; i < 100 && !source.calls.includes('resume 0'); i++) await settle();
  assert.ok(source.calls.includes('resume 0'), 'the lane is restored');
  return { flow, source, target };
}

test("exactly-once: the position committed with a fetch's records is the fetch's end (past its trailing marker)", async (t) => {
  const { flow, source, target } = await setup(t);
  // Records 0-9 of a source transaction, its commit marker at 10.
  assert.equal(await flow.onBatch(fetched(0, 0, 9, 11), keepAlive), true);
  await settle();
  await flow.commit();
  assert.deepEqual(source.commits, [], 'nothing committed while the transaction is open');
  target.commit(0);
  await settle();
  assert.equal(target.positions.get(0), 11, 'the position on the target is past the marker');
  await flow.commit();
  assert.deepEqual(source.commits, [{ partition: 0, offset: 11 }]);
});

test('exactly-once: a fetch with no record to copy moves the group commit past it once the transaction before it commits', async (t) => {
  const { flow, source, target } = await setup(t);
  await flow.onBatch(fetched(0, 0, 4), keepAlive);
  await settle();
  // Aborted records 5-8 and their abort marker at 9.
  assert.equal(await flow.onBatch(fetched(0, 0, -1, 10), keepAlive), true);
  await flow.commit();
  assert.deepEqual(source.commits, [], 'records 0-4 are in an open transaction: nothing committed past them');
  target.commit(0);
  await settle();
  await flow.commit();
  assert.deepEqual(source.commits, [{ partition: 0, offset: 10 }]);
  // The position on the target stays after record 4: no transaction is begun for offsets that
  // carry nothing, and a restore from 5 reads only what the fetch skipped again.
  assert.equal(target.positions.get(0), 5);
  assert.equal(target.open.size, 0);
});

test('exactly-once: after a restore, a fetch wholly below the position but ending past it moves the commit to its end', async (t) => {
  const { flow, source, target } = await setup(t, new Map([[0, 5]]));
  // Read again from the group's older commit: records 0-4 are replays, 5-6 aborted, 7 a marker.
  assert.equal(await flow.onBatch(fetched(0, 0, 4, 8), keepAlive), true);
  await settle();
  assert.equal(flow.stats.skipped.replayed, 5);
  assert.equal(target.open.size, 0, 'nothing written');
  await flow.commit();
  assert.deepEqual(source.commits, [{ partition: 0, offset: 8 }]);
  // Then records go on from 8, not from 5.
  await flow.onBatch(fetched(0, 8, 9), keepAlive);
  await settle();
  assert.deepEqual(offsetsOf(target.open.get(0)?.records ?? []), [8, 9]);
});

test('exactly-once: a fetch with no record to copy is refused while its lane is being restored', async (t) => {
  const { flow, source } = await setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]); // restored anew: paused until acquired
  assert.equal(await flow.onBatch(fetched(0, 0, -1, 10), keepAlive), false);
  await flow.commit();
  assert.deepEqual(source.commits, []);
});
