// The aborted-transaction filter on its own, over batch headers: Kafka's CompletedFetch rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abortedBatches, type TransactionalBatch } from '../../../src/protocol/aborted-transactions.ts';
import { ControlRecordType } from '../../../src/protocol/record-batches.ts';

type Batch = TransactionalBatch & { name: string };
const data = (name: string, lastOffset: number, producerId: number, transactional = true): Batch => ({
  name,
  lastOffset: BigInt(lastOffset),
  producerId: BigInt(producerId),
  transactional,
  control: false,
  controlType: undefined,
});
const marker = (name: string, offset: number, producerId: number, type: 'abort' | 'commit'): Batch => ({
  name,
  lastOffset: BigInt(offset),
  producerId: BigInt(producerId),
  transactional: true,
  control: true,
  controlType: type === 'abort' ? ControlRecordType.ABORT : ControlRecordType.COMMIT,
});
const aborted = (producerId: number, firstOffset: number) => ({
  producerId: BigInt(producerId),
  firstOffset: BigInt(firstOffset),
});
const names = (batches: readonly Batch[]) => batches.map((b) => b.name);

test('no aborted transaction: nothing skipped', () => {
  assert.deepEqual(abortedBatches([data('a', 0, 1), marker('m', 1, 1, 'abort')], []), []);
});

test('aborted transactions listed in marker order apply from their first offsets, each until its own marker', () => {
  const batches = [
    data('p1.0', 1, 1),
    data('p2.0', 3, 2),
    data('p1.1', 5, 1),
    data('p3.0', 6, 3),
    marker('p2.abort', 7, 2, 'abort'),
    data('p1.2', 8, 1),
    marker('p3.commit', 9, 3, 'commit'),
    marker('p1.abort', 10, 1, 'abort'),
  ];
  assert.deepEqual(names(abortedBatches(batches, [aborted(2, 2), aborted(1, 0)])), [
    'p1.0',
    'p2.0',
    'p1.1',
    'p1.2',
  ]);
});

test('a fetch that starts inside several aborted transactions skips each of them from its first batch', () => {
  // The transactions began at 0 and 2, before this fetch's first batch (10).
  const batches = [
    data('p2', 11, 2),
    data('p1', 12, 1),
    marker('p1.abort', 13, 1, 'abort'),
    data('p2', 14, 2),
  ];
  assert.deepEqual(names(abortedBatches(batches, [aborted(1, 0), aborted(2, 2)])), ['p2', 'p1', 'p2']);
});

test("after its abort marker, a producer's next transaction is skipped only if it is listed as aborted too", () => {
  const batches = [
    data('t0', 0, 1),
    marker('abort0', 1, 1, 'abort'),
    data('t1', 2, 1), // committed
    marker('commit1', 3, 1, 'commit'),
    data('t2', 4, 1),
    marker('abort2', 5, 1, 'abort'),
  ];
  assert.deepEqual(names(abortedBatches(batches, [aborted(1, 0), aborted(1, 4)])), ['t0', 't2']);
  // Listed in any order: the filter orders them by first offset (Kafka's priority queue).
  assert.deepEqual(names(abortedBatches(batches, [aborted(1, 4), aborted(1, 0)])), ['t0', 't2']);
});

test('a transaction enters when a batch reaches its first offset, not before (a batch ending before it is kept)', () => {
  const batches = [data('before', 4, 1), data('inside', 9, 1), marker('abort', 10, 1, 'abort')];
  assert.deepEqual(names(abortedBatches(batches, [aborted(1, 5)])), ['inside']);
});

test('non-transactional batches and batches without a producer id are never skipped', () => {
  const batches = [data('idempotent', 0, 1, false), data('plain', 1, -1, false), data('txn', 2, 1)];
  assert.deepEqual(names(abortedBatches(batches, [aborted(1, 0)])), ['txn']);
});
