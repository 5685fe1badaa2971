import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  provenanceStamp,
  ProvenanceHeader,
  stampedHeaders,
  type Origin,
} from '../../../src/replication/provenance.ts';
import { decodeChunk, encodeChunk } from '../../../src/protocol/record-chunk.ts';
import { payloadBytes, wireBytes, type HeaderList } from '../../../src/protocol/records.ts';

const origin = { cluster: 'us', topic: 'orders', partition: 3, sourceId: 'ID-US', targetId: 'ID-ASIA' };

/** A stamp that returns the record's whole header list as written (undefined: not written). */
const stamper = (from: Origin) => {
  const stamp = provenanceStamp(from);
  return (headers: HeaderList, offset: number | string) => {
    const stamped = stamp(headers);
    return stamped === undefined ? undefined : stampedHeaders(stamped, offset);
  };
};
const asText = (headers: HeaderList | undefined) =>
  headers?.map(([k, v]) => [k, v === null ? null : v.toString()]);

test('appends the source position, origin and hops after the original headers, kept byte for byte', () => {
  const user: HeaderList = [
    ['a', Buffer.from([0, 255, 1])],
    ['b', null],
    ['a', Buffer.from('second')],
    ['km.user-owned', Buffer.from('kept: not a reserved name')],
  ];
  const out = stamper(origin)(user, '41');
  assert.ok(out !== undefined);
  assert.deepEqual(
    out.slice(0, 4),
    user,
    'original headers first, same order, same bytes, duplicates and nulls kept',
  );
  assert.deepEqual(asText(out.slice(4)), [
    [ProvenanceHeader.cluster, 'us'],
    [ProvenanceHeader.topic, 'orders'],
    [ProvenanceHeader.partition, '3'],
    [ProvenanceHeader.offset, '41'],
    [ProvenanceHeader.origin, 'ID-US'],
    [ProvenanceHeader.hops, 'ID-US,ID-ASIA'],
  ]);
  assert.equal(user.length, 4, 'input not mutated');
});

test('a record from an earlier hop keeps its origin, extends its hops, and has its old provenance replaced', () => {
  const fromEarlierHop: HeaderList = [
    ['x', Buffer.from('1')],
    [ProvenanceHeader.cluster, 'eu'],
    [ProvenanceHeader.offset, '7'],
    [ProvenanceHeader.origin, 'ID-EU'],
    [ProvenanceHeader.hops, 'ID-EU,ID-US'],
  ];
  const out = stamper(origin)(fromEarlierHop, 99);
  assert.deepEqual(asText(out), [
    ['x', '1'],
    [ProvenanceHeader.cluster, 'us'],
    [ProvenanceHeader.topic, 'orders'],
    [ProvenanceHeader.partition, '3'],
    [ProvenanceHeader.offset, '99'],
    [ProvenanceHeader.origin, 'ID-EU'],
    [ProvenanceHeader.hops, 'ID-EU,ID-US,ID-ASIA'],
  ]);
});

test('a record whose hops include the target is not written again (loop guard)', () => {
  const stamp = stamper(origin);
  assert.equal(
    stamp([[ProvenanceHeader.hops, Buffer.from('ID-ASIA,ID-US')]], 1),
    undefined,
    'active-active back edge',
  );
  assert.equal(stamp([[ProvenanceHeader.hops, 'ID-X,ID-ASIA,ID-US']], 1), undefined);
  assert.ok(stamp([[ProvenanceHeader.hops, 'ID-X,ID-US']], 1) !== undefined);
});

test('a ring A -> B -> C -> A writes each record once per cluster', () => {
  const ab = stamper({ ...origin, sourceId: 'A', targetId: 'B' });
  const bc = stamper({ ...origin, sourceId: 'B', targetId: 'C' });
  const ca = stamper({ ...origin, sourceId: 'C', targetId: 'A' });
  const onB = ab([], 0);
  assert.ok(onB !== undefined);
  const onC = bc(onB, 0);
  assert.ok(onC !== undefined);
  assert.equal(ca(onC, 0), undefined, 'back at its origin: stopped');
  // A record first written on C goes C -> A -> B and stops before reaching C again.
  const onA = ca([], 0);
  assert.ok(onA !== undefined);
  const onB2 = ab(onA, 0);
  assert.ok(onB2 !== undefined);
  assert.equal(bc(onB2, 0), undefined);
});

test('one stamp serves many records of its partition, each with its own offset', () => {
  const stamp = stamper({ ...origin, topic: 'päyments', partition: 12 });
  const first = stamp([], 100);
  const second = stamp([['h', null]], 101);
  assert.equal(first?.find(([k]) => k === ProvenanceHeader.offset)?.[1], '100');
  assert.equal(second?.find(([k]) => k === ProvenanceHeader.offset)?.[1], '101');
  assert.equal(first?.find(([k]) => k === ProvenanceHeader.topic)?.[1], 'päyments');
});

test('a record encoded with its provenance tail carries exactly the stamped headers, and is counted the same', () => {
  const stamp = provenanceStamp({ ...origin, topic: 'päyments', partition: 12 });
  const stamped = stamp([
    ['h', null],
    [ProvenanceHeader.offset, 'from an earlier hop: replaced'],
    ['x', Buffer.from('1')],
  ]);
  assert.ok(stamped !== undefined);
  const record = { key: null, value: Buffer.from('v'), timestamp: '5', ...stamped, offset: '1234567' };
  const [written] = decodeChunk(encodeChunk([record]));
  const expected = stampedHeaders(stamped, '1234567');
  assert.deepEqual(asText(written?.headers), asText(expected));
  // As bytes on the wire (a string's length would count characters).
  const bytes = expected.map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v] as const);
  assert.equal(payloadBytes(record), payloadBytes({ ...record, headers: bytes, tail: undefined }));
  assert.equal(wireBytes(record), wireBytes({ ...record, headers: bytes, tail: undefined }));
});
