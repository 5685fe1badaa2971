// The decode budget of a fetch (src/kafka/kafkajs/decode-budget.ts) over kafkajs's own decoding of crafted
// fetch responses, in every codec.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fetchedRecordSet } from '../../../../src/kafka/kafkajs/index.ts';
import { withDecodeBudget } from '../../../../src/kafka/kafkajs/decode-budget.ts';

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => {
  writeBytes(b: Buffer): { buffer: Buffer };
};
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => { offset: number };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (o: object) => Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (o: object) => unknown;
const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
  d: unknown,
) => Promise<Array<{ offset: string; value: Buffer }>>;

const RECORDS = 10;
const VALUE = 10_000;

/** A record set of `batches` batches of 10 records of 10,000 bytes each (100 KB decoded per batch). */
async function recordSet(compression: number, batches: number): Promise<{ set: Buffer; sizes: number[] }> {
  const parts: Buffer[] = [];
  for (let b = 0; b < batches; b++) {
    const records = Array.from({ length: RECORDS }, (_, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: 0,
        key: null,
        value: Buffer.alloc(VALUE, 97 + b),
        headers: [],
      }),
    );
    const batch = await RecordBatch({
      firstOffset: String(b * RECORDS),
      firstTimestamp: 1,
      maxTimestamp: 1,
      lastOffsetDelta: RECORDS - 1,
      compression,
      records,
    });
    parts.push(batch.buffer);
  }
  return { set: new Encoder().writeBytes(Buffer.concat(parts)).buffer, sizes: parts.map((p) => p.length) };
}

for (const [codec, compression] of [
  ['gzip', 1],
  ['snappy', 2],
  ['lz4', 3],
  ['zstd', 4],
] as const) {
  test(`${codec}: a fetch decompresses batches until its budget is spent, and leaves the rest undecoded`, async () => {
    const first = await recordSet(compression, 4);
    const second = await recordSet(compression, 4);
    const fetchBytes = (budget: number) =>
      withDecodeBudget(
        budget,
        async () =>
          [
            await decodeMessages(new Decoder(first.set)),
            await decodeMessages(new Decoder(second.set)),
          ] as const,
      );

    // Two batches' worth (each decodes to a little over 100,000 bytes): the first batch, the
    // second that crosses the budget, nothing after; the second partition gets nothing.
    const [cut, none] = await fetchBytes(2 * RECORDS * VALUE);
    assert.equal(cut.length, 2 * RECORDS, 'the batch that spends the budget is decoded whole');
    assert.deepEqual(
      cut.map((r) => r.offset),
      Array.from({ length: 2 * RECORDS }, (_, i) => String(i)),
    );
    assert.equal(none.length, 0);
    // What was fetched but not decoded is not counted as served (fetch order) or measured (sizer).
    assert.equal(fetchedRecordSet(cut)?.wireBytes, (first.sizes[0] ?? 0) + (first.sizes[1] ?? 0));
    assert.equal(fetchedRecordSet(cut)?.nextOffset, 2 * RECORDS);
    assert.equal(fetchedRecordSet(cut)?.batches.length, 2);
    assert.equal(fetchedRecordSet(none)?.wireBytes, 0);

    // A tiny budget still decodes one batch: every fetch makes progress.
    const [one] = await fetchBytes(1);
    assert.equal(one.length, RECORDS);

    // A budget that holds everything, and no budget (raw reads), decode everything.
    for (const all of [
      await fetchBytes(100 * RECORDS * VALUE),
      [await decodeMessages(new Decoder(first.set))],
    ]) {
      assert.equal(all[0]?.length, 4 * RECORDS);
      assert.equal(
        fetchedRecordSet(all[0] as object)?.wireBytes,
        first.sizes.reduce((a, b) => a + b, 0),
      );
    }
  });
}

test('uncompressed batches are not held back: their memory is their wire size, which the fetch limits bound', async () => {
  const { set } = await recordSet(0, 4);
  const records = await withDecodeBudget(1, () => decodeMessages(new Decoder(set)));
  assert.equal(records.length, 4 * RECORDS);
});

test('a batch is charged its decompressed bytes and 512 bytes per record (what the queue charges a decoded record)', async () => {
  const { DecodeBudget, recordCount } = await import('../../../../src/kafka/kafkajs/decode-budget.ts');
  const { set } = await recordSet(0, 1);
  // The records of the uncompressed batch: after its 61-byte header (and the record set's size).
  const records = set.subarray(4 + 61);
  assert.equal(recordCount(records), RECORDS);
  assert.equal(recordCount(Buffer.alloc(0)), 0);
  const budget = new DecodeBudget(records.length + 512 * RECORDS);
  assert.ok(budget.admit());
  budget.charge(records);
  assert.equal(budget.admit(), false, 'spent exactly');
  assert.equal(budget.refused, 1);
});
