// The flow in exactly-once mode over fakes: restore on assignment (pause, acquire, seek, resume),
// replays below the target's position dropped, the source watermark moving only with committed
// transactions, and a failed transaction restoring its partition. The Kafka side of it (fencing,
// positions, transactions) is tested on real brokers in test/integration/exactly-once.test.ts.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { Flow } from '../../../src/replication/flow.ts';
import { TransactionRejectedError, WriteRejectedError } from '../../../src/errors/index.ts';
import { flowConfig } from '../../support/flow-config.ts';
import {
  FakeSource,
  FakeTransactionalTarget,
  TOPIC,
  catalogOf,
  fetched,
  keepAlive,
  offsetsOf,
  restored,
  settings,
  settle,
} from './fixtures/flow-fakes.ts';

const catalog = catalogOf({ [TOPIC]: 2 });

function setup(t: TestContext) {
  const logs: Array<Record<string, unknown>> = [];
  const source = new FakeSource();
  const target = new FakeTransactionalTarget();
  const metrics = new Metrics();
  const config = flowConfig({
    delivery: 'exactly-once',
    transaction: {
      maxRecords: 1000,
      maxBytes: 2 ** 20,
      intervalMs: 1000,
      idleCommitMs: 100,
      timeoutMs: 60_000,
      positionsTopic: 'p',
    },
  });
  const flow = new Flow({
    config,
    // producer.maxInFlightPerPartition is ignored in exactly-once mode: a lane writes one chunk at
    // a time in its transaction.
    settings,
    source,
    target,
    catalogs: { source: catalog, target: catalog },
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    metrics: metrics.flow(config.name),
  });
  t.after(() => flow.close(1000));
  return { flow, source, target, logs, registry: metrics.registry };
}

test('exactly-once: an assignment pauses every partition, fences it on the target, seeks to its committed position and resumes', async (t) => {
  const { flow, source, target } = setup(t);
  target.positions.set(0, 500);
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  // Paused at once (kafkajs fetches right after the join event); nothing read is accepted yet.
  assert.deepEqual(source.calls, ['pause 0', 'pause 1']);
  assert.equal(
    await flow.onBatch(fetched(0, 400, 410), keepAlive),
    false,
    'a batch before the restore is refused',
  );
  await restored(source, 2);
  assert.deepEqual(target.acquired.sort(), [0, 1]);
  // Partition 0 resumes at the target's position; partition 1 has none (its group commit applies).
  assert.deepEqual(source.calls.slice(2).sort(), ['resume 0', 'resume 1', 'seek 0 500']);
});

test('exactly-once: records below the committed position are dropped as replayed', async (t) => {
  const { flow, source, target, registry } = setup(t);
  target.positions.set(0, 500);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  assert.equal(await flow.onBatch(fetched(0, 495, 504), keepAlive), true);
  await settle();
  assert.deepEqual(offsetsOf(target.open.get(0)?.records ?? []), [500, 501, 502, 503, 504]);
  assert.equal(flow.stats.skipped.replayed, 5);
  assert.match(
    await registry.metrics(),
    /kafka_mirror_records_skipped_total\{[^}]*reason="replayed"[^}]*\} 5/,
  );
});

test('exactly-once: the source group is committed only up to committed transactions', async (t) => {
  const { flow, source, target } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  await flow.commit();
  assert.deepEqual(source.commits, [], 'nothing committed while the transaction is open');
  assert.equal(flow.stats.recordsWritten, 0);
  target.commit(0);
  await settle();
  await flow.commit();
  assert.deepEqual(source.commits, [{ partition: 0, offset: 10 }]);
  assert.equal(flow.stats.recordsWritten, 10);
});

test('exactly-once: a position restored from the target is committed to the source group though nothing more is read', async (t) => {
  // An owner that died between its last transaction and its next group commit left the group
  // behind the target's position: with nothing left to read the lag would stay forever.
  const { flow, source, target } = setup(t);
  target.positions.set(0, 500);
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  await restored(source, 2);
  await flow.commit();
  assert.deepEqual(
    source.commits,
    [{ partition: 0, offset: 500 }],
    'partition 1 has no position: nothing to commit',
  );
});

test('exactly-once: a failed transaction restores its partition from the committed position and reads it again from there', async (t) => {
  const { flow, source, target } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  target.commit(0); // position 10
  await settle();
  await flow.onBatch(fetched(0, 10, 19), keepAlive);
  await settle();
  target.fail(0);
  await restored(source, 2);
  assert.deepEqual(target.acquired, [0, 0], 'acquired again');
  assert.ok(
    source.calls.includes('seek 0 10'),
    `rewound to the committed position: ${source.calls.join(', ')}`,
  );
  // The source delivers from 10 again; written once more, in a new transaction.
  await flow.onBatch(fetched(0, 10, 14), keepAlive);
  await settle();
  assert.deepEqual(offsetsOf(target.open.get(0)?.records ?? []), [10, 11, 12, 13, 14]);
  target.commit(0);
  await settle();
  await flow.commit();
  assert.deepEqual(source.commits.at(-1), { partition: 0, offset: 15 });
});

test('exactly-once: a lane with no committed position rewinds to where its assignment started reading', async (t) => {
  const { flow, source, target } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 1 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(1, 70, 79), keepAlive);
  await settle();
  target.fail(1);
  await restored(source, 2);
  assert.ok(source.calls.includes('seek 1 70'), source.calls.join(', '));
});

test('exactly-once: revoked partitions are released; close commits open transactions before the final source commit', async (t) => {
  const { flow, source, target } = setup(t);
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  await restored(source, 2);
  flow.onAssignment([{ topic: TOPIC, partition: 1 }]);
  assert.deepEqual(target.released, [0]);
  await restored(source, 3);
  await flow.onBatch(fetched(1, 0, 4), keepAlive);
  await settle();
  await flow.close(1000);
  assert.equal(target.flushed, 1);
  assert.deepEqual(source.commits, [{ partition: 1, offset: 5 }]);
});

test('exactly-once: a transaction aborted because the target refused a record does not restore the partition (it halts)', async (t) => {
  const { flow, source, target } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  target.fail(0, new WriteRejectedError(TOPIC, 0, 'MESSAGE_TOO_LARGE', undefined));
  for (let i = 0; i < 20; i++) await settle();
  assert.deepEqual(target.acquired, [0], 'not acquired again');
  assert.equal(source.calls.filter((c) => c.startsWith('seek')).length, 0);
  await flow.commit();
  assert.deepEqual(source.commits, [], 'nothing past the refused record is committed');
});

/** The partition's halt, as operators see it: /status's list (and kafka_mirror_halted_partitions) and one error line. */
function assertHalted(
  flow: Flow,
  logs: ReadonlyArray<Record<string, unknown>>,
  partition: number,
  code: string,
  message: RegExp,
): Record<string, unknown> {
  assert.deepEqual(
    flow.haltedPartitions().map((h) => h.partition),
    [partition],
  );
  const lines = logs.filter((l) => String(l['msg']).startsWith('partition halted'));
  assert.equal(lines.length, 1, `one halt line: ${JSON.stringify(lines)}`);
  const line = lines[0] as Record<string, unknown>;
  assert.match(String(line['msg']), message);
  assert.equal(line['level'], 50, 'logged at error');
  assert.equal(line['partition'], partition);
  assert.equal((line['err'] as Record<string, unknown>)['code'], code);
  return line;
}

test('exactly-once: a refused position record (the transaction commit rejects with KM_WRITE_REJECTED) halts the partition instead of leaving it stuck', async (t) => {
  const { flow, source, target, logs } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  // Only `committed` rejects: the records were sent, the position record of the commit was refused.
  const refusal = new WriteRejectedError(
    'kafka-mirror.positions.g',
    3,
    'MESSAGE_TOO_LARGE',
    undefined,
    'raise max.message.bytes',
  );
  target.fail(0, refusal);
  for (let i = 0; i < 20; i++) await settle();
  const line = assertHalted(flow, logs, 0, 'KM_WRITE_REJECTED', /the target refused a record/);
  assert.equal((line['err'] as Record<string, unknown>)['remedy'], 'raise max.message.bytes');
  assert.ok(source.calls.includes('pause 0'), 'fetching stops');
  assert.deepEqual(target.acquired, [0], 'not restored into the same refusal');
  // Batches fetched before the pause took effect are not written into the refused lane.
  assert.equal(await flow.onBatch(fetched(0, 10, 19), keepAlive), false);
  await settle();
  assert.equal(target.open.size, 0, 'nothing written after the halt');
  await flow.commit();
  assert.deepEqual(source.commits, [], 'nothing past the refusal is committed');
});

test('exactly-once: a partition whose takeover the coordinator refuses (KM_TRANSACTION_REJECTED) halts at once instead of retrying for ever', async (t) => {
  const { flow, source, target, logs } = setup(t);
  target.refuseAcquire.set(
    1,
    new TransactionRejectedError(
      'g/orders/1',
      'InitProducerId',
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      undefined,
      'grant WRITE and DESCRIBE on TransactionalId prefixed g/',
    ),
  );
  flow.onAssignment([
    { topic: TOPIC, partition: 0 },
    { topic: TOPIC, partition: 1 },
  ]);
  await restored(source, 1);
  for (let i = 0; i < 20; i++) await settle();
  const line = assertHalted(flow, logs, 1, 'KM_TRANSACTION_REJECTED', /transaction/);
  assert.match(String((line['err'] as Record<string, unknown>)['remedy']), /TransactionalId/);
  assert.equal(
    logs.filter((l) => l['msg'] === 'cannot restore partition from the target; retrying').length,
    0,
    'not retried',
  );
  assert.deepEqual(target.acquired.sort(), [0, 1], 'asked once');
  assert.deepEqual(
    source.calls.filter((c) => c.startsWith('resume')),
    ['resume 0'],
    'the refused partition stays paused; the other one flows',
  );
  // A rebalance tries it again, like any halted partition.
  target.refuseAcquire.delete(1);
  flow.onAssignment([{ topic: TOPIC, partition: 1 }]);
  for (let i = 0; i < 100 && !source.calls.includes('resume 1'); i++) await settle();
  assert.ok(source.calls.includes('resume 1'), source.calls.join(', '));
  assert.deepEqual(flow.haltedPartitions(), []);
});

test('exactly-once: a commit the coordinator refuses (EndTxn answered KM_TRANSACTION_REJECTED) halts the partition', async (t) => {
  const { flow, source, target, logs } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  target.fail(
    0,
    new TransactionRejectedError(
      'g/orders/0',
      'EndTxn',
      'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      undefined,
      'grant',
    ),
  );
  for (let i = 0; i < 20; i++) await settle();
  assertHalted(flow, logs, 0, 'KM_TRANSACTION_REJECTED', /transaction/);
  assert.deepEqual(target.acquired, [0], 'not restored');
  await flow.commit();
  assert.deepEqual(source.commits, []);
});

test('exactly-once: a write the coordinator refuses (AddPartitionsToTxn answered KM_TRANSACTION_REJECTED) halts the partition once', async (t) => {
  const { flow, source, target, logs } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  target.refuseWrite.set(
    0,
    new TransactionRejectedError(
      'g/orders/0',
      'AddPartitionsToTxn',
      'TOPIC_AUTHORIZATION_FAILED',
      undefined,
      'grant WRITE on kafka-mirror.positions.g',
    ),
  );
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  for (let i = 0; i < 20; i++) await settle();
  assertHalted(flow, logs, 0, 'KM_TRANSACTION_REJECTED', /transaction/);
  assert.deepEqual(target.acquired, [0], 'not restored');
});

test('exactly-once: a record refused after others of its transaction were sent (both the write and `committed` reject) halts the partition once', async (t) => {
  const { flow, source, target, logs } = setup(t);
  flow.onAssignment([{ topic: TOPIC, partition: 0 }]);
  await restored(source, 1);
  await flow.onBatch(fetched(0, 0, 9), keepAlive);
  await settle();
  target.refuseWrite.set(0, new WriteRejectedError(TOPIC, 0, 'INVALID_TIMESTAMP', undefined, 'raise it'));
  await flow.onBatch(fetched(0, 10, 19), keepAlive);
  for (let i = 0; i < 20; i++) await settle();
  assertHalted(flow, logs, 0, 'KM_WRITE_REJECTED', /the target refused a record/);
  assert.deepEqual(target.acquired, [0], 'not restored');
  await flow.commit();
  assert.deepEqual(source.commits, []);
});
