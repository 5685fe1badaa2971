import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recordsAtRisk, riskWindowSeconds, RpoTracker } from '../../../src/replication/rpo.ts';

const p = (partition: number, position: number, logEnd: number) => ({
  topic: 't',
  partition,
  position,
  logEnd,
});

test('records at risk are the offsets from the position to the end, never negative', () => {
  assert.equal(recordsAtRisk(p(0, 10, 25)).records, 15);
  assert.equal(recordsAtRisk(p(0, 30, 25)).records, 0);
});

test('a flow caught up has an RPO of 0 records and 0 seconds', () => {
  const rpo = new RpoTracker().update([p(0, 5, 5), p(1, 7, 7)], 1000, 3);
  assert.deepEqual([rpo.records, rpo.seconds, rpo.asOf], [0, 0, 1000]);
});

test('seconds count from the last refresh at which the partition was caught up', () => {
  const tracker = new RpoTracker();
  tracker.update([p(0, 5, 5), p(1, 7, 7)], 10_000);
  tracker.update([p(0, 5, 9), p(1, 7, 7)], 12_000);
  const rpo = tracker.update([p(0, 5, 20), p(1, 7, 8)], 16_000);
  assert.equal(rpo.records, 16);
  // Partition 0 was last caught up at 10 s, partition 1 at 12 s: the oldest write at risk is after 10 s.
  assert.equal(rpo.seconds, 6);
  assert.deepEqual(
    rpo.partitions.map((x) => x.records),
    [15, 1],
  );
});

test('a partition first seen behind counts from then; the pending age is taken when older', () => {
  const tracker = new RpoTracker();
  assert.equal(tracker.update([p(0, 0, 4)], 5000).seconds, 0);
  assert.equal(tracker.update([p(0, 0, 4)], 8000).seconds, 3);
  assert.equal(tracker.update([p(0, 0, 4)], 9000, 30).seconds, 30);
  assert.equal(tracker.last.records, 4);
});

test('catching up resets the clock; partitions no longer assigned are forgotten', () => {
  const tracker = new RpoTracker();
  tracker.update([p(0, 0, 4), p(1, 0, 1)], 1000);
  tracker.update([p(0, 4, 4)], 2000);
  const rpo = tracker.update([p(0, 4, 6), p(1, 0, 1)], 5000);
  assert.equal(rpo.records, 3);
  // Partition 1 was forgotten at 2 s and is seen behind again at 5 s; partition 0 was caught up at 2 s.
  assert.equal(rpo.seconds, 3);
});

test('the risk window runs from the last record on the target to the source’s last known record', () => {
  assert.equal(riskWindowSeconds(1000, 4500), 3.5);
  assert.equal(riskWindowSeconds(5000, 4500), 0);
  assert.equal(riskWindowSeconds(undefined, 4500), 0);
  assert.equal(riskWindowSeconds(1000, undefined), 0);
});
