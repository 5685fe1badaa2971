// The speed patches of src/kafka/kafkajs/index.ts must not change what kafkajs computes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../src/kafka/kafkajs/index.ts';
import { original } from '../../support/kafkajs-original.ts';

const require = createRequire(import.meta.url);

test("the batch CRC-32C kafkajs uses equals kafkajs's own JavaScript CRC-32C", () => {
  const patched = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
  // The byte-at-a-time implementation the patch replaces (not itself replaced).
  const original = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;
  assert.equal(patched(Buffer.from('123456789')), 0xe3069283, 'the CRC-32C check value');
  for (const size of [0, 1, 7, 8, 63, 64, 1000, 4096, 100_003]) {
    const data = randomBytes(size);
    assert.equal(patched(data), original(data) >>> 0, `${size} bytes`);
  }
});

// Without aborted transactions; with them, kafkajs's filter is wrong and the patched Batch filters as
// Kafka's consumer does (test/unit/kafka/kafkajs-fetch.test.ts).
test("a fetched batch keeps kafkajs's records: none before the fetched offset, and no control record", () => {
  type BatchClass = new (topic: string, offset: string, data: object) => Record<string, unknown>;
  const Original = original<BatchClass>('consumer/batch.js');
  const Patched = require('kafkajs/src/consumer/batch.js') as BatchClass;
  assert.notEqual(Patched, Original);
  const context = (producerId: string, inTransaction: boolean) => ({ producerId, inTransaction });
  const messages = [5, 6, 7, 8, 9, 10, 11, 12].map((offset) => ({
    offset: String(offset),
    key: offset === 10 ? Buffer.from([0, 0, 0, 0]) : null, // 10: the abort marker of producer 2
    isControlRecord: offset === 10,
    batchContext: offset === 8 || offset === 9 || offset === 10 ? context('2', true) : context('1', false),
  }));
  for (const fetched of ['0', '7', '13']) {
    const data = { partition: 3, highWatermark: '13', messages, abortedTransactions: [] };
    const ours = new Patched('t', fetched, data);
    const theirs = new Original('t', fetched, data);
    for (const field of ['messages', 'messagesWithinOffset', 'rawMessages'])
      assert.deepEqual(ours[field], theirs[field], `${field} from ${fetched}`);
    assert.equal((ours['lastOffset'] as () => string)(), (theirs['lastOffset'] as () => string)());
    assert.equal((ours['isEmpty'] as () => boolean)(), (theirs['isEmpty'] as () => boolean)());
  }
});

test('messages are grouped per partition in send order, as kafkajs does', () => {
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (init: object) => object;
  const messages = [
    { partition: 2, value: 'a' },
    { partition: 0, value: 'b' },
    { partition: 2, value: 'c' },
    { partition: 2, value: 'd' },
  ];
  const partitioner = ({ message }: { message: { partition: number } }) => message.partition;
  assert.deepEqual(group({ topic: 't', partitionMetadata: [{}, {}, {}], messages, partitioner }), {
    0: [messages[1]],
    2: [messages[0], messages[2], messages[3]],
  });
  assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner }), {});
});

test("fetch decoding records each record set's complete batches (wire size, next offset, codec) and leaves the records as kafkajs decodes them", async () => {
  const { fetchedSet, fetchedRecordSet } = await import('../../../src/kafka/kafkajs/index.ts');
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

test('a consumer group reads its fetch limits from setGroupFetchLimits while it runs', async () => {
  const { setGroupFetchLimits } = await import('../../../src/kafka/kafkajs/index.ts');
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as new (o: object) => {
    maxBytes: number;
    maxBytesPerPartition: number;
  };
  const logger = { namespace: () => logger };
  const make = (groupId: string) =>
    new ConsumerGroup({ groupId, logger, maxBytes: 1000, maxBytesPerPartition: 100, retry: {}, topics: [] });
  const group = make('g1');
  const other = make('g2');
  assert.deepEqual(
    [group.maxBytes, group.maxBytesPerPartition],
    [1000, 100],
    'its options, until limits are set',
  );
  setGroupFetchLimits('g1', { maxBytes: 50, maxBytesPerPartition: 5 });
  assert.deepEqual([group.maxBytes, group.maxBytesPerPartition], [50, 5]);
  assert.deepEqual([other.maxBytes, other.maxBytesPerPartition], [1000, 100], 'other groups keep theirs');
  setGroupFetchLimits('g1', undefined);
  assert.deepEqual([group.maxBytes, group.maxBytesPerPartition], [1000, 100]);
});
