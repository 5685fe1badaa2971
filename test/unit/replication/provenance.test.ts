import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProvenanceHeader, provenanceStamp } from '../../../src/replication/provenance.ts';
import type { HeaderList } from '../../../src/replication/records.ts';

const origin = { cluster: 'us', topic: 'orders', partition: 3 };

/** Headers as [key, hex | null], so byte-level differences show in a diff. */
function asHex(headers: HeaderList): Array<[string, string | null]> {
  return headers.map(([key, value]) => [key, value === null ? null : value.toString('hex')]);
}

function provenanceOf(headers: HeaderList): Array<[string, string | null]> {
  return headers
    .filter(([key]) => key.startsWith('km.src.'))
    .map(([key, value]) => [key, value === null ? null : value.toString('utf8')]);
}

test('the header names are the documented km.src.* keys', () => {
  assert.deepEqual(ProvenanceHeader, {
    cluster: 'km.src.cluster',
    topic: 'km.src.topic',
    partition: 'km.src.partition',
    offset: 'km.src.offset',
  });
});

test('stamps cluster, topic, partition and offset after the existing headers', () => {
  const stamp = provenanceStamp(origin);
  const headers: HeaderList = [
    ['trace-id', Buffer.from('abc')],
    ['content-type', Buffer.from('application/json')],
  ];
  const out = stamp(headers, 1234);
  assert.deepEqual(asHex(out.slice(0, 2)), asHex(headers));
  assert.deepEqual(provenanceOf(out.slice(2)), [
    ['km.src.cluster', 'us'],
    ['km.src.topic', 'orders'],
    ['km.src.partition', '3'],
    ['km.src.offset', '1234'],
  ]);
  assert.equal(out.length, 6);
});

test('a record without headers gets only the provenance headers', () => {
  const out = provenanceStamp({ cluster: 'eu', topic: 't', partition: 0 })([], 0);
  assert.deepEqual(provenanceOf(out), [
    ['km.src.cluster', 'eu'],
    ['km.src.topic', 't'],
    ['km.src.partition', '0'],
    ['km.src.offset', '0'],
  ]);
  assert.equal(out.length, 4);
});

test('existing headers are kept byte for byte and in order, with duplicate keys and null values', () => {
  const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a]);
  const headers: HeaderList = [
    ['b', Buffer.from('2')],
    ['a', Buffer.from('1')],
    ['dup', Buffer.from('first')],
    ['flag', null],
    ['dup', Buffer.from('second')],
    ['bin', binary],
    ['empty', Buffer.alloc(0)],
    ['dup', null],
  ];
  const out = provenanceStamp(origin)(headers, 99);
  assert.deepEqual(asHex(out.slice(0, headers.length)), asHex(headers));
  assert.equal(out[3]?.[1], null, 'a header without value stays without value');
  assert.deepEqual(out[6]?.[1], Buffer.alloc(0), 'an empty value is not turned into null');
  assert.equal(out.length, headers.length + 4);
});

test('provenance from an earlier hop is replaced, not duplicated; other headers keep their order', () => {
  const earlier: HeaderList = [
    ['app', Buffer.from('x')],
    ['km.src.cluster', Buffer.from('asia')],
    ['km.src.topic', Buffer.from('asia.orders')],
    ['between', null],
    ['km.src.partition', Buffer.from('9')],
    ['km.src.offset', Buffer.from('777')],
    ['km.src.offset', Buffer.from('778')],
    ['last', Buffer.from('z')],
  ];
  const out = provenanceStamp(origin)(earlier, 5);
  assert.deepEqual(asHex(out.slice(0, 3)), asHex([earlier[0], earlier[3], earlier[7]] as HeaderList));
  assert.deepEqual(provenanceOf(out), [
    ['km.src.cluster', 'us'],
    ['km.src.topic', 'orders'],
    ['km.src.partition', '3'],
    ['km.src.offset', '5'],
  ]);
  assert.equal(out.length, 7);
});

test('headers that only look similar to the provenance keys are kept', () => {
  const headers: HeaderList = [
    ['x-km.src.topic', Buffer.from('a')],
    ['src.topic', Buffer.from('b')],
    ['kmsrc.topic', Buffer.from('c')],
    ['km-src.offset', Buffer.from('d')],
  ];
  const out = provenanceStamp(origin)(headers, 1);
  assert.deepEqual(asHex(out.slice(0, 4)), asHex(headers));
  assert.equal(out.length, 8);
});

test('the input header list is not mutated', () => {
  const value = Buffer.from('keep');
  const inner: readonly [string, Buffer | null] = Object.freeze(['k', value] as const);
  const old: readonly [string, Buffer | null] = Object.freeze(['km.src.offset', Buffer.from('1')] as const);
  const headers: HeaderList = Object.freeze([inner, old]);
  const out = provenanceStamp(origin)(headers, 2);
  assert.notEqual(out, headers);
  assert.equal(headers.length, 2);
  assert.equal(headers[0], inner);
  assert.equal(headers[1], old);
  assert.equal(value.toString(), 'keep');
  assert.equal(old[1]?.toString(), '1');

  const plain: HeaderList = [['k', Buffer.from('v')]];
  const stamped = provenanceStamp(origin)(plain, 3);
  assert.equal(plain.length, 1, 'the list without earlier provenance is not appended to');
  assert.notEqual(stamped, plain);
});

test('one stamp serves many records of its partition, each with its own offset', () => {
  const stamp = provenanceStamp({ cluster: 'us', topic: 'päyments', partition: 12 });
  const first = stamp([], 100);
  const second = stamp([['h', null]], 101);
  assert.equal(provenanceOf(first).at(-1)?.[1], '100');
  assert.equal(provenanceOf(second).at(-1)?.[1], '101');
  assert.equal(provenanceOf(first).at(-1)?.[1], '100', 'stamping the next record leaves the first alone');
  assert.deepEqual(provenanceOf(second).slice(0, 3), [
    ['km.src.cluster', 'us'],
    ['km.src.topic', 'päyments'],
    ['km.src.partition', '12'],
  ]);
  // Provenance values are strings; the patched kafkajs encoder writes them as UTF-8 bytes.
  assert.equal(first.find(([key]) => key === 'km.src.topic')?.[1], 'päyments');
});
