import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  OffsetSet,
  auditPartition,
  recordDigest,
  type AuditRecord,
  type AuditScope,
} from '../../../src/replication/audit.ts';
import type { HeaderList } from '../../../src/protocol/records.ts';

const scope: AuditScope = { cluster: 'us', topic: 'orders', partition: 2, targetId: 'ASIA', from: 0, to: 10 };

function source(offset: number, extra: HeaderList = []): AuditRecord {
  return {
    offset: String(offset),
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(`v${offset}`),
    headers: [['trace', Buffer.from(`t${offset}`)], ...extra],
    timestamp: String(1_700_000_000_000 + offset),
  };
}

/** What the writer puts on the target for a source record: the same record plus provenance. */
function replica(record: AuditRecord, change: Partial<AuditRecord> = {}, from = scope): AuditRecord {
  return {
    ...record,
    offset: '999',
    headers: [
      ...record.headers,
      ['km.src.cluster', from.cluster],
      ['km.src.topic', from.topic],
      ['km.src.partition', String(from.partition)],
      ['km.src.offset', record.offset],
      ['km.origin', 'US'],
      ['km.hops', 'US,ASIA'],
    ],
    ...change,
  };
}

async function* stream(records: readonly AuditRecord[]): AsyncGenerator<AuditRecord> {
  yield* records;
}

const offsets = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sources = offsets(0, 10).map((o) => source(o));
const audit = (target: AuditRecord[], src = sources, s = scope) =>
  auditPartition(s, stream(src), stream(target));

test('a faithful copy has nothing to report', async () => {
  const result = await audit(sources.map((r) => replica(r)));
  assert.deepEqual(
    { ...result, examples: result.examples.length },
    {
      topic: 'orders',
      partition: 2,
      from: 0,
      to: 10,
      checked: 10,
      replicated: 10,
      skipped: 0,
      missing: 0,
      duplicated: 0,
      reordered: 0,
      altered: 0,
      aborted: 0,
      unknown: 0,
      examples: 0,
    },
  );
});

test('records absent from the target are missing, with their offsets', async () => {
  const result = await audit(
    sources.filter((r) => !['3', '4', '9'].includes(r.offset)).map((r) => replica(r)),
  );
  assert.equal(result.missing, 3);
  assert.equal(result.replicated, 7);
  assert.deepEqual(
    result.examples.map((e) => `${e.kind}@${e.sourceOffset}`),
    ['missing@3', 'missing@4', 'missing@9'],
  );
});

test('a replayed window counts as duplicates, not as missing or reordered', async () => {
  const target = [...sources.slice(0, 6), ...sources.slice(3, 10)].map((r) => replica(r));
  const result = await audit(target);
  assert.deepEqual([result.duplicated, result.missing, result.reordered, result.replicated], [3, 0, 0, 10]);
});

test('a first occurrence behind a later one is reordered, and not also missing', async () => {
  const order = [0, 1, 2, 5, 3, 4, 6, 7, 8, 9];
  const result = await audit(order.map((o) => replica(sources[o] as AuditRecord)));
  assert.equal(result.reordered, 2);
  assert.equal(result.missing, 0);
  assert.equal(result.duplicated, 0);
});

test('a changed key, value, header or timestamp is altered; provenance headers do not count', async () => {
  const target = sources.map((r) => replica(r));
  target[1] = replica(sources[1] as AuditRecord, { value: Buffer.from('tampered') });
  target[2] = replica(sources[2] as AuditRecord, { key: null });
  target[3] = replica(sources[3] as AuditRecord, { timestamp: '1' });
  const four = sources[4] as AuditRecord;
  target[4] = replica({ ...four, headers: [...four.headers, ['trace', null]] });
  // Header order matters: a replica whose user headers are swapped is altered too.
  const five = source(5, [['b', Buffer.from('2')]]);
  const src = [...sources];
  src[5] = five;
  target[5] = replica({
    ...five,
    headers: [...(five.headers.slice(1) as HeaderList), ...(five.headers.slice(0, 1) as HeaderList)],
  });
  // A record that arrived with provenance from an earlier hop has it replaced: still equal.
  src[6] = source(6, [
    ['km.hops', 'EU'],
    ['km.origin', 'EU'],
  ]);
  target[6] = replica(source(6));
  const result = await audit(target, src);
  assert.equal(result.altered, 5);
  assert.deepEqual(
    result.examples.map((e) => e.sourceOffset),
    [1, 2, 3, 4, 5],
  );
});

test('a record the loop guard kept from the target is skipped, not missing', async () => {
  const src = [...sources];
  src[7] = source(7, [['km.hops', 'EU,ASIA']]);
  const result = await audit(
    sources.filter((r) => r.offset !== '7').map((r) => replica(r)),
    src,
  );
  assert.deepEqual([result.skipped, result.missing, result.checked], [1, 0, 10]);
});

test('target records from other sources, and source records outside the range, are ignored', async () => {
  const other = replica(source(4), {}, { ...scope, cluster: 'eu' });
  const otherPartition = replica(source(5), {}, { ...scope, partition: 3 });
  const local: AuditRecord = { ...source(6), headers: [] };
  const target = [...sources.slice(2, 8).map((r) => replica(r)), other, otherPartition, local];
  const result = await audit(target, sources, { ...scope, from: 2, to: 8 });
  assert.deepEqual([result.checked, result.replicated, result.missing, result.duplicated], [6, 6, 0, 0]);
});

test('a target record naming a source offset the source does not have is unknown', async () => {
  const src = sources.filter((r) => r.offset !== '5'); // compacted away since
  const result = await audit(
    sources.map((r) => replica(r)),
    src,
  );
  assert.equal(result.unknown, 1);
  assert.equal(result.missing, 0);
});

test('every target copy of a source record of an aborted transaction is counted as aborted, wherever it sits', async () => {
  // Source: 0-2 committed, 3-5 an aborted transaction (read by verify, marked), 6-9 committed.
  const withAborted = sources.map((r) => (['3', '4', '5'].includes(r.offset) ? { ...r, aborted: true } : r));
  const leaked = (offset: number) => replica(withAborted[offset] as AuditRecord);
  const committed = (offset: number) => replica(sources[offset] as AuditRecord);
  // Copied in source order with the aborted ones, one of them twice.
  let result = await audit(
    [0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9].map((o) => (o >= 3 && o <= 5 ? leaked(o) : committed(o))),
    withAborted,
  );
  assert.equal(result.aborted, 4);
  assert.equal(result.checked, 7, 'the aborted records are not records to replicate');
  assert.equal(result.replicated, 7);
  assert.equal(result.missing + result.reordered + result.unknown + result.duplicated, 0);
  assert.deepEqual(
    result.examples.map((e) => `${e.kind}@${e.sourceOffset}`),
    ['aborted@3', 'aborted@4', 'aborted@5', 'aborted@5'],
  );
  // A faithful copy of the same source: nothing aborted, nothing missing.
  result = await audit([0, 1, 2, 6, 7, 8, 9].map(committed), withAborted);
  assert.equal(result.aborted, 0);
  assert.equal(result.missing, 0);
  assert.equal(result.checked, 7);
  // A leak after a later committed record, and at the end.
  result = await audit(
    [0, 1, 2, 6, 4, 7, 8, 9, 5].map((o) => (o === 4 || o === 5 ? leaked(o) : committed(o))),
    withAborted,
  );
  assert.equal(result.aborted, 2);
  assert.equal(result.missing + result.reordered + result.unknown, 0);
});

test('everything missing when the target has nothing', async () => {
  const result = await audit([]);
  assert.equal(result.missing, 10);
  assert.equal(result.checked, 10);
});

test('the digest covers key, value, user headers in order and timestamp', () => {
  const base = source(1);
  assert.equal(
    recordDigest(base),
    recordDigest({ ...base, offset: '77', headers: [...base.headers, ['km.src.offset', '1']] }),
  );
  assert.notEqual(recordDigest(base), recordDigest({ ...base, key: Buffer.from('k1 ') }));
  assert.notEqual(recordDigest({ ...base, key: null }), recordDigest({ ...base, key: Buffer.alloc(0) }));
  assert.notEqual(
    recordDigest({ ...base, value: Buffer.from('ab'), key: Buffer.from('c') }),
    recordDigest({ ...base, value: Buffer.from('b'), key: Buffer.from('ca') }),
  );
});

test('OffsetSet keeps contiguous offsets as one range and answers membership', () => {
  const set = new OffsetSet();
  for (const o of [0, 1, 2, 3, 10, 11, 5, 4, 7]) set.add(o);
  for (const o of [0, 1, 2, 3, 4, 5, 7, 10, 11]) assert.ok(set.has(o), String(o));
  for (const o of [6, 8, 9, 12, -1]) assert.ok(!set.has(o), String(o));
  assert.equal(set.ranges, 3); // 0-5, 7, 10-11
  set.add(6);
  assert.equal(set.ranges, 2);
  const big = new OffsetSet();
  for (let o = 0; o < 100_000; o++) big.add(o);
  assert.equal(big.ranges, 1);
});
