import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../../src/replication/offset-tracker.ts';
import type { Ticket } from '../../../src/replication/offset-tracker.ts';
import { mulberry32 } from '../../support/random.ts';

test('a new partition has no watermark and nothing in flight', () => {
  const tracker = new OffsetTracker();
  assert.equal(tracker.watermark('orders-0'), undefined);
  assert.equal(tracker.inFlight('orders-0'), 0);
  assert.deepEqual(tracker.uncommitted(), []);
  assert.deepEqual(tracker.partitions(), []);
});

test('in-order completion moves the watermark to each batch nextOffset', () => {
  const tracker = new OffsetTracker();
  const t1 = tracker.begin('p', 10);
  const t2 = tracker.begin('p', 20);
  assert.equal(tracker.inFlight('p'), 2);
  assert.equal(tracker.watermark('p'), undefined, 'nothing is done yet');
  tracker.complete(t1);
  assert.equal(tracker.watermark('p'), 10);
  assert.equal(t1.done, true);
  tracker.complete(t2);
  assert.equal(tracker.watermark('p'), 20);
  assert.equal(tracker.inFlight('p'), 0);
});

test('the watermark only covers the contiguous prefix of completed batches, in begin order', () => {
  const tracker = new OffsetTracker();
  const [t1, t2, t3, t4] = [10, 20, 30, 40].map((next) => tracker.begin('p', next)) as [
    Ticket,
    Ticket,
    Ticket,
    Ticket,
  ];
  tracker.complete(t3);
  tracker.complete(t2);
  assert.equal(tracker.watermark('p'), undefined, 't1 still in flight holds the watermark below it');
  tracker.complete(t1);
  assert.equal(tracker.watermark('p'), 30, 't1, t2, t3 done: jump over all of them at once');
  tracker.complete(t4);
  assert.equal(tracker.watermark('p'), 40);
});

test('a batch in flight in the middle holds the watermark, whatever completes after it', () => {
  const tracker = new OffsetTracker();
  const tickets = [5, 10, 15, 20, 25].map((next) => tracker.begin('p', next));
  tracker.complete(tickets[0] as Ticket);
  for (const t of tickets.slice(2)) tracker.complete(t);
  assert.equal(tracker.watermark('p'), 5);
  tracker.complete(tickets[1] as Ticket);
  assert.equal(tracker.watermark('p'), 25);
});

test('completing a ticket twice changes nothing', () => {
  const tracker = new OffsetTracker();
  const t1 = tracker.begin('p', 10);
  const t2 = tracker.begin('p', 20);
  tracker.complete(t1);
  tracker.complete(t1);
  assert.equal(tracker.watermark('p'), 10);
  assert.equal(tracker.inFlight('p'), 1);
  tracker.complete(t2);
  assert.equal(tracker.watermark('p'), 20);
});

test('gaps between offsets (compaction, transaction markers) need no handling', () => {
  const tracker = new OffsetTracker();
  // Batches [0..9], then [57..57] after a compacted range, then [60..61] after two control records.
  const a = tracker.begin('p', 10);
  const b = tracker.begin('p', 58);
  const c = tracker.begin('p', 62);
  tracker.complete(b);
  assert.equal(tracker.watermark('p'), undefined);
  tracker.complete(a);
  assert.equal(tracker.watermark('p'), 58, 'the watermark jumps over the gap to just past 57');
  tracker.complete(c);
  assert.equal(tracker.watermark('p'), 62);
});

test('partitions are independent', () => {
  const tracker = new OffsetTracker();
  const a1 = tracker.begin('a', 100);
  const b1 = tracker.begin('b', 7);
  const b2 = tracker.begin('b', 9);
  tracker.complete(b2);
  tracker.complete(a1);
  assert.equal(tracker.watermark('a'), 100);
  assert.equal(
    tracker.watermark('b'),
    undefined,
    "b's first batch is in flight; a's progress does not matter",
  );
  assert.equal(tracker.inFlight('a'), 0);
  tracker.complete(b1);
  assert.equal(tracker.watermark('b'), 9);
  assert.deepEqual(tracker.partitions().sort(), ['a', 'b']);
});

test('inFlight counts batches begun and not yet completed', () => {
  const tracker = new OffsetTracker();
  const t1 = tracker.begin('p', 1);
  tracker.begin('p', 2);
  assert.equal(tracker.inFlight('p'), 2);
  tracker.complete(t1);
  assert.equal(tracker.inFlight('p'), 1);
});

// Bug: inFlight() is documented as "Batches begun and not yet completed", but it counts every
// ticket past the watermark, including ones completed out of order.
test('inFlight does not count a batch completed out of order', () => {
  const tracker = new OffsetTracker();
  tracker.begin('p', 1);
  const t2 = tracker.begin('p', 2);
  tracker.begin('p', 3);
  tracker.complete(t2);
  assert.equal(tracker.inFlight('p'), 2, 't1 and t3 are not completed, t2 is');
});

test('uncommitted lists watermarks that moved since they were marked committed', () => {
  const tracker = new OffsetTracker();
  tracker.begin('idle', 5); // never completes: no watermark, nothing to commit
  const a1 = tracker.begin('a', 10);
  const b1 = tracker.begin('b', 3);
  tracker.complete(a1);
  tracker.complete(b1);
  assert.deepEqual(tracker.uncommitted().sort(), [
    ['a', 10],
    ['b', 3],
  ]);
  tracker.markCommitted('a', 10);
  assert.deepEqual(tracker.uncommitted(), [['b', 3]]);
  tracker.markCommitted('b', 3);
  assert.deepEqual(tracker.uncommitted(), []);
  const a2 = tracker.begin('a', 25);
  assert.deepEqual(tracker.uncommitted(), [], 'beginning a batch does not move the watermark');
  tracker.complete(a2);
  assert.deepEqual(tracker.uncommitted(), [['a', 25]]);
});

test('committing a watermark that has since moved leaves the newer one uncommitted', () => {
  const tracker = new OffsetTracker();
  const t1 = tracker.begin('p', 10);
  const t2 = tracker.begin('p', 20);
  tracker.complete(t1);
  const [[partition, offset] = ['', -1]] = tracker.uncommitted();
  tracker.complete(t2); // moves on while the commit of 10 is in flight
  tracker.markCommitted(partition, offset);
  assert.deepEqual(tracker.uncommitted(), [['p', 20]]);
});

test('markCommitted for an unknown partition is ignored', () => {
  const tracker = new OffsetTracker();
  tracker.markCommitted('ghost', 42);
  assert.deepEqual(tracker.partitions(), []);
  assert.deepEqual(tracker.uncommitted(), []);
});

test('drop() forgets a partition; completing its old tickets later is harmless', () => {
  const tracker = new OffsetTracker();
  const old1 = tracker.begin('p', 10);
  const old2 = tracker.begin('p', 20);
  tracker.complete(old1);
  tracker.drop('p');
  assert.equal(tracker.watermark('p'), undefined);
  assert.equal(tracker.inFlight('p'), 0);
  assert.deepEqual(tracker.partitions(), []);
  assert.deepEqual(tracker.uncommitted(), []);

  tracker.complete(old2); // the write finished after the partition was revoked
  assert.equal(tracker.watermark('p'), undefined);
  assert.deepEqual(tracker.partitions(), [], 'a stale ticket does not bring the partition back');
  assert.deepEqual(tracker.uncommitted(), []);

  // Reassigned later: a fresh start that stale tickets cannot move.
  const fresh = tracker.begin('p', 500);
  const stale = tracker.begin('q', 1); // unrelated partition keeps working
  tracker.complete(old2);
  assert.equal(tracker.watermark('p'), undefined);
  assert.equal(tracker.inFlight('p'), 1);
  tracker.complete(fresh);
  tracker.complete(stale);
  assert.equal(tracker.watermark('p'), 500);
  assert.deepEqual(tracker.uncommitted().sort(), [
    ['p', 500],
    ['q', 1],
  ]);
});

test('drop() of an unknown partition changes nothing', () => {
  const tracker = new OffsetTracker();
  const t = tracker.begin('p', 3);
  tracker.drop('nope');
  tracker.complete(t);
  assert.equal(tracker.watermark('p'), 3);
});

test('the watermark stays right across the internal compaction of done tickets (> 1024)', () => {
  const tracker = new OffsetTracker();
  const random = mulberry32(7);
  const count = 5_000;
  const tickets: Ticket[] = [];
  const nextOffsets: number[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    offset += 1 + Math.floor(random() * 5); // batches of 1..5 records, some gaps
    nextOffsets.push(offset);
    tickets.push(tracker.begin('p', offset));
  }
  // Complete in a locally shuffled order: each ticket completes within a window of 64 after it
  // was begun, so the contiguous prefix advances in many small steps past the 1024 threshold.
  const order = tickets.map((_, i) => i);
  for (let i = 0; i < order.length; i++) {
    const j = Math.min(order.length - 1, i + Math.floor(random() * 64));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const done = new Array<boolean>(count).fill(false);
  let prefix = 0; // number of leading tickets done: the model
  let outstanding = count;
  for (const index of order) {
    tracker.complete(tickets[index] as Ticket);
    done[index] = true;
    outstanding--;
    while (prefix < count && done[prefix] === true) prefix++;
    const expected = prefix === 0 ? undefined : nextOffsets[prefix - 1];
    assert.equal(tracker.watermark('p'), expected, `after completing ticket ${index}`);
    assert.ok(tracker.inFlight('p') >= outstanding && tracker.inFlight('p') <= count - prefix);
  }
  assert.equal(tracker.watermark('p'), offset);
  assert.equal(tracker.inFlight('p'), 0);
});

test('new batches begun after a compaction still hold the watermark correctly', () => {
  const tracker = new OffsetTracker();
  for (let i = 1; i <= 2_000; i++) tracker.complete(tracker.begin('p', i));
  assert.equal(tracker.watermark('p'), 2_000);
  assert.equal(tracker.inFlight('p'), 0);
  const slow = tracker.begin('p', 2_010);
  const fast = tracker.begin('p', 2_020);
  tracker.complete(fast);
  assert.equal(tracker.watermark('p'), 2_000);
  tracker.complete(slow);
  assert.equal(tracker.watermark('p'), 2_020);
});

test('oldestPending is undefined with nothing begun, and once everything is done', () => {
  const tracker = new OffsetTracker();
  assert.equal(tracker.oldestPending(), undefined);
  const t1 = tracker.begin('p', 10, 1_000);
  const t2 = tracker.begin('q', 5, 2_000);
  assert.equal(tracker.oldestPending(), 1_000);
  tracker.complete(t1);
  tracker.complete(t2);
  assert.equal(tracker.oldestPending(), undefined);
});

test("oldestPending is the oldest head ticket's timestamp across partitions", () => {
  const tracker = new OffsetTracker();
  tracker.begin('a', 10, 5_000);
  tracker.begin('a', 20, 500); // not a's head: the watermark waits for the first batch
  tracker.begin('b', 3, 3_000);
  tracker.begin('c', 7, 4_000);
  assert.equal(tracker.oldestPending(), 3_000);
});

test('oldestPending moves to the next pending ticket once the head completes', () => {
  const tracker = new OffsetTracker();
  const t1 = tracker.begin('p', 10, 1_000);
  const t2 = tracker.begin('p', 20, 2_000);
  const t3 = tracker.begin('p', 30, 3_000);
  const other = tracker.begin('q', 1, 2_500);
  tracker.complete(t2); // out of order: the head is still pending
  assert.equal(tracker.oldestPending(), 1_000);
  tracker.complete(t1); // t1 and t2 done: p's head is t3
  assert.equal(tracker.oldestPending(), 2_500, "q's batch is now the oldest");
  tracker.complete(other);
  assert.equal(tracker.oldestPending(), 3_000);
  tracker.complete(t3);
  assert.equal(tracker.oldestPending(), undefined);
});

test('oldestPending ignores dropped partitions and tickets begun without a timestamp', () => {
  const tracker = new OffsetTracker();
  tracker.begin('revoked', 10, 100);
  tracker.begin('p', 10, 900);
  tracker.drop('revoked');
  assert.equal(tracker.oldestPending(), 900);
  tracker.begin('untimed', 1);
  assert.equal(tracker.oldestPending(), 900);
});

test('oldestPending stays right across the internal compaction of done tickets', () => {
  const tracker = new OffsetTracker();
  for (let i = 1; i <= 2_000; i++) tracker.complete(tracker.begin('p', i, i));
  assert.equal(tracker.oldestPending(), undefined);
  const slow = tracker.begin('p', 2_001, 7_000);
  tracker.begin('p', 2_002, 8_000);
  assert.equal(tracker.oldestPending(), 7_000);
  tracker.complete(slow);
  assert.equal(tracker.oldestPending(), 8_000);
});

// Offsets that carry no record to copy (transaction markers, records of aborted transactions,
// ranges emptied by compaction) at the end of a fetch: the flow skips past them with a ticket that
// is done from the start, as Kafka's consumer moves its position past them (CompletedFetch).
test('skip: offsets with no record to copy move the watermark at once when nothing is pending', () => {
  const tracker = new OffsetTracker();
  tracker.complete(tracker.begin('p', 10));
  tracker.skip('p', 12); // a commit marker at 10, an abort marker at 11
  assert.equal(tracker.watermark('p'), 12);
  assert.deepEqual(tracker.uncommitted(), [['p', 12]]);
  assert.equal(tracker.inFlight('p'), 0);
  tracker.skip('q', 3); // a partition whose first fetch held nothing to copy
  assert.equal(tracker.watermark('q'), 3);
});

test('skip behind a batch in flight: the watermark waits for it, never passing a record not acknowledged', () => {
  const tracker = new OffsetTracker();
  const pending = tracker.begin('p', 5, 1_000);
  tracker.skip('p', 9);
  assert.equal(tracker.watermark('p'), undefined, 'records 0-4 are not acknowledged yet');
  assert.deepEqual(tracker.uncommitted(), []);
  assert.equal(tracker.inFlight('p'), 1, 'the skip is not in flight');
  assert.equal(tracker.oldestPending(), 1_000);
  const later = tracker.begin('p', 15, 2_000);
  tracker.complete(pending);
  assert.equal(tracker.watermark('p'), 9, 'past the batch and the skipped offsets, not past 9');
  assert.equal(tracker.oldestPending(), 2_000);
  tracker.skip('p', 20);
  assert.equal(tracker.watermark('p'), 9);
  tracker.complete(later);
  assert.equal(tracker.watermark('p'), 20);
});

test('skip of a dropped partition starts it afresh, as any begun batch does', () => {
  const tracker = new OffsetTracker();
  const old = tracker.begin('p', 10);
  tracker.drop('p');
  tracker.skip('p', 40);
  tracker.complete(old);
  assert.equal(tracker.watermark('p'), 40);
});
