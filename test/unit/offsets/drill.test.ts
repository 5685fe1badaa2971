// The drill's comparison of a target sample with the source (src/offsets/drill.ts compareSample):
// content record by record, and continuity, with the absences that are legitimate (transaction
// markers and aborted records have no committed source record; a replayed stretch repeats; on a
// compacted topic the target may have dropped a record whose key is written again).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareSample, difference } from '../../../src/offsets/drill.ts';
import type { SourceRecord } from '../../../src/protocol/records.ts';

const record = (offset: number, over: Partial<SourceRecord> = {}): SourceRecord => ({
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(`v${offset}`),
  headers: [['trace', Buffer.from(`t${offset}`)]],
  timestamp: String(1_700_000_000_000 + offset),
  ...over,
});

/** The target's copy of source record `s` at target offset `at`, with the flow's provenance headers. */
const copy = (at: number, s: number, over: Partial<SourceRecord> = {}) => {
  const original = record(s, over);
  return {
    offset: at,
    sourceOffset: s,
    record: {
      ...original,
      offset: String(at),
      headers: [...original.headers, ['km.src.offset', String(s)] as const, ['km.hops', 'a,b'] as const],
    },
  };
};

const source = (...offsets: number[]) => new Map(offsets.map((o) => [o, record(o)]));

test('a faithful sample passes; markers and aborted records (no committed source record) are no gap', () => {
  const result = compareSample([copy(0, 10), copy(1, 11), copy(2, 14)], source(10, 11, 14), {
    position: 10,
    low: 0,
  });
  assert.deepEqual(result, { result: 'pass', reason: null, checked: 3, mismatched: 0, mismatches: [] });
});

test('a committed source record with no copy fails as missing-on-target, naming its offset', () => {
  const result = compareSample([copy(0, 10), copy(1, 12)], source(10, 11, 12), { position: 10, low: 0 });
  assert.equal(result.result, 'fail');
  assert.deepEqual(result.mismatches, [
    { reason: 'missing-on-target', sourceOffset: 11, targetOffset: null },
  ]);
  // A sample that starts later than the position (status gap) names what comes before it.
  const gap = compareSample([copy(5, 12)], source(10, 11, 12), { position: 10, low: 0 });
  assert.deepEqual(
    gap.mismatches.map((m) => m.sourceOffset),
    [10, 11],
  );
  // No sample at all from a translated position: missing too.
  assert.equal(compareSample([], source(10), { position: 10, low: 0 }).reason, 'missing-on-target');
});

test('a replayed stretch is compared, not counted as a gap', () => {
  const result = compareSample(
    [copy(0, 10), copy(1, 11), copy(2, 10), copy(3, 11), copy(4, 12)],
    source(10, 11, 12),
    { position: 10, low: 0 },
  );
  assert.equal(result.result, 'pass');
  assert.equal(result.checked, 5);
});

test('each difference is named: key, value, headers (km.* left out), timestamp', () => {
  assert.equal(difference(record(1), copy(0, 1).record), undefined);
  assert.equal(difference(record(1), copy(0, 1, { key: null }).record), 'key-differs');
  assert.equal(difference(record(1), copy(0, 1, { value: Buffer.from('x') }).record), 'value-differs');
  assert.equal(difference(record(1), copy(0, 1, { headers: [['trace', 'other']] }).record), 'headers-differ');
  assert.equal(difference(record(1), copy(0, 1, { headers: [] }).record), 'headers-differ');
  assert.equal(difference(record(1), copy(0, 1, { timestamp: '1' }).record), 'timestamp-differs');
  // A string header value equals the same bytes.
  assert.equal(difference(record(1), copy(0, 1, { headers: [['trace', 't1']] }).record), undefined);
  const altered = compareSample(
    [copy(0, 10), copy(1, 11, { value: Buffer.from('forged') })],
    source(10, 11),
    {
      position: 10,
      low: 0,
    },
  );
  assert.deepEqual(altered.mismatches, [{ reason: 'value-differs', sourceOffset: 11, targetOffset: 1 }]);
});

test('source records gone (retention) make the partition inconclusive, not failed', () => {
  const result = compareSample([copy(0, 3), copy(1, 4)], new Map(), { position: 3, low: 10 });
  assert.equal(result.result, 'inconclusive');
  assert.equal(result.reason, 'source-gone');
});

test('on a compacted topic a record whose key is written again later in the sample is no gap', () => {
  const compacted = new Map([
    [10, record(10, { key: Buffer.from('a') })],
    [11, record(11, { key: Buffer.from('b') })],
    [12, record(12, { key: Buffer.from('a') })],
  ]);
  const sample = [11, 12].map((s, i) => {
    const c = copy(i, s, { key: compacted.get(s)?.key ?? null });
    return c;
  });
  assert.equal(compareSample(sample, compacted, { position: 10, low: 0 }).result, 'pass');
});
