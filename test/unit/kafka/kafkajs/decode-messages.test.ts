// The patched fetch decoder (src/kafka/kafkajs/decode-messages.ts) records each record set and
// leaves the records as kafkajs decodes them.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';

const require = createRequire(import.meta.url);

test("fetch decoding records each record set's complete batches (wire size, next offset, codec) and leaves the records as kafkajs decodes them", async () => {
  const { fetchedSet, fetchedRecordSet } = await import('../../../../src/kafka/kafkajs/index.ts');
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
  const Batch = require('kafkajs/src/consumer/batch.js') as new (t: string, o: string, p: object) => object;
  const records = ['a', 'bb', 'ccc'].map((value, offsetDelta) =>
    Record({ offsetDelta, timestampDelta: 0, key: null, value: Buffer.from(value), headers: [] }),
  );
  const batch = await RecordBatch({
    firstOffset: '7',
    firstTimestamp: 1,
    maxTimestamp: 1,
    lastOffsetDelta: 2,
    records,
  });
  // A fetch response's record set: its size, then the batch.
  const decoder = new Decoder(new Encoder().writeBytes(batch.buffer).buffer);
  const messages = await decodeMessages(decoder);
  assert.deepEqual(
    messages.map((m) => [m.offset, m.value.toString()]),
    [
      ['7', 'a'],
      ['8', 'bb'],
      ['9', 'ccc'],
    ],
  );
  assert.equal(decoder.offset, 4 + batch.buffer.length, 'the whole record set was read');
  const consumed = new Batch('t', '7', { partition: 0, highWatermark: '10', messages });
  assert.equal(fetchedSet(consumed as never)?.wireBytes, batch.buffer.length);
  const summary = (records: object) => {
    const set = fetchedRecordSet(records);
    return (
      set && {
        wireBytes: set.wireBytes,
        nextOffset: set.nextOffset,
        codec: set.codec,
        batches: set.batches.length,
      }
    );
  };
  assert.deepEqual(summary(messages), {
    wireBytes: batch.buffer.length,
    nextOffset: 10,
    codec: 0,
    batches: 1,
  });
  assert.equal(fetchedRecordSet(messages)?.invalid, undefined);
  // A second batch cut short by the response's size limit counts for nothing.
  const cut = Buffer.concat([batch.buffer, batch.buffer.subarray(0, 40)]);
  const partial = new Decoder(new Encoder().writeBytes(cut).buffer);
  const first = await decodeMessages(partial);
  assert.equal(first.length, 3);
  assert.deepEqual(summary(first), { wireBytes: batch.buffer.length, nextOffset: 10, codec: 0, batches: 1 });
  // A record set whose size says more than the response holds is read as far as it goes.
  const claimed = Buffer.concat([Buffer.from([0, 0, 0x10, 0]), batch.buffer]); // claims 4096 bytes
  const short = await decodeMessages(new Decoder(claimed));
  assert.deepEqual(summary(short), { wireBytes: batch.buffer.length, nextOffset: 10, codec: 0, batches: 1 });
  assert.equal(
    fetchedSet(new Batch('t', '0', { partition: 0, highWatermark: '0', messages: [] }) as never),
    undefined,
  );
  // The codec of a compressed batch (gzip = 1) is recorded too.
  const gzipped = await RecordBatch({
    firstOffset: '7',
    firstTimestamp: 1,
    maxTimestamp: 1,
    lastOffsetDelta: 2,
    compression: 1,
    records,
  });
  const compressed = await decodeMessages(new Decoder(new Encoder().writeBytes(gzipped.buffer).buffer));
  assert.equal(compressed.length, 3);
  assert.equal(fetchedRecordSet(compressed)?.codec, 1);
});
