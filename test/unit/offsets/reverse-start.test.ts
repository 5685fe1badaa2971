// The reverse start's decisions (src/offsets/reverse-start.ts): commit when the reverse group has
// no offset, leave an equal one, never overwrite a different one; the first record the reverse
// flow's loop guard lets through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideReverseStart, firstToSend } from '../../../src/offsets/reverse-start.ts';
import type { SourceRecord } from '../../../src/protocol/records.ts';
import { provenanceStamp } from '../../../src/replication/provenance.ts';

test('the reverse group gets the computed start when it has none, keeps an equal one, and a different one is a conflict', () => {
  assert.deepEqual(decideReverseStart(undefined, 40), { action: 'commit', offset: 40 });
  assert.deepEqual(decideReverseStart(-1, 40), { action: 'commit', offset: 40 });
  assert.deepEqual(decideReverseStart(40, 40), { action: 'unchanged', offset: 40 });
  assert.deepEqual(decideReverseStart(12, 40), { action: 'conflict', committed: 12, computed: 40 });
  assert.deepEqual(decideReverseStart(0, 40), { action: 'conflict', committed: 0, computed: 40 });
});

const record = (offset: number, headers: SourceRecord['headers']): SourceRecord => ({
  offset: String(offset),
  key: null,
  value: Buffer.from(`v${offset}`),
  headers,
  timestamp: '0',
});

test('the reverse flow starts at the first record written on its source itself, past copies of the old primary', () => {
  // asia -> us: asia's cluster id ASIA, us's US. A copy from us carries hops "US,ASIA".
  const stamp = provenanceStamp({
    cluster: 'asia',
    topic: 'orders',
    partition: 0,
    sourceId: 'ASIA',
    targetId: 'US',
  });
  const copy = (offset: number) =>
    record(offset, [
      ['km.src.cluster', 'us'],
      ['km.src.topic', 'orders'],
      ['km.src.partition', '0'],
      ['km.src.offset', String(offset)],
      ['km.origin', 'US'],
      ['km.hops', 'US,ASIA'],
    ]);
  const fromThird = record(7, [
    ['km.origin', 'EU'],
    ['km.hops', 'EU,ASIA'],
  ]);
  assert.equal(firstToSend([copy(3), copy(4)], stamp), undefined);
  assert.equal(firstToSend([copy(3), record(5, [['trace', 't']]), copy(6)], stamp)?.offset, '5');
  // A record from a third cluster that us has not seen is sent too (a ring or fan-in).
  assert.equal(firstToSend([copy(3), fromThird], stamp)?.offset, '7');
  assert.equal(firstToSend([], stamp), undefined);
});
