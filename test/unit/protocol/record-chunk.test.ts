// Record chunks (src/protocol/record-chunk.ts): the flow encodes records once, the writers send the
// encoded body. What goes on the wire must be byte for byte what kafkajs would have encoded from
// the same records, however a chunk was cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InternalInvariantError } from '../../../src/errors/index.ts';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';
import { chunkMessage, frameRequest, produceRequestV3 } from '../../../src/protocol/produce-request.ts';
import {
  decodeChunk,
  encodeChunk,
  requestChunks,
  sliceChunk,
  type RecordChunk,
} from '../../../src/protocol/record-chunk.ts';
import type { TargetRecord } from '../../../src/protocol/records.ts';
import {
  kafkajsCodecs,
  kafkajsFrame,
  kafkajsProduce,
  sampleRecords,
} from '../../support/kafkajs-original.ts';

const records = sampleRecords;

/** The same produce request, once from a chunk, once from kafkajs's messages. */
async function bothWays(chunk: RecordChunk, plain: readonly TargetRecord[], compression: number) {
  const args = (messages: readonly object[]) => ({
    acks: -1,
    timeout: 30_000,
    compression,
    transactionalId: 'km/t/0',
    producerId: 77,
    producerEpoch: 2,
    topicData: [{ topic: 'orders', partitions: [{ partition: 4, firstSequence: 12, messages }] }],
  });
  const ours = (await produceRequestV3(args([chunkMessage(chunk)]), kafkajsCodecs).encode()).buffer;
  const theirs = (await kafkajsProduce(args(plain)).encode()).buffer;
  return { ours, theirs };
}

for (const [name, compression] of [
  ['none', kafkajs.CompressionTypes.None],
  ['gzip', kafkajs.CompressionTypes.GZIP],
] as const) {
  test(`a chunk is sent as the record batch kafkajs encodes from the same records (${name})`, async () => {
    const plain = records(60);
    const { ours, theirs } = await bothWays(encodeChunk(plain), plain, compression);
    assert.equal(ours.length, theirs.length);
    assert.ok(ours.equals(theirs), 'same bytes');
  });
}

test('a chunk decodes to its records: keys, values, tombstones, timestamps and headers in order', () => {
  const plain = records(40);
  const chunk = encodeChunk(plain);
  assert.equal(chunk.count, 40);
  assert.equal(chunk.ends.at(-1), chunk.body.length);
  assert.deepEqual(
    [...chunk.timestamps],
    plain.map((r) => Number(r.timestamp)),
  );
  const asOnTheWire = plain.map((r) => ({
    ...r,
    headers: r.headers.map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v] as const),
  }));
  assert.deepEqual(decodeChunk(chunk), asOnTheWire);
});

test('a slice of a chunk is encoded as if its records had been chunked alone', async () => {
  const plain = records(30);
  const slice = sliceChunk(encodeChunk(plain), 11, 23);
  const { ours, theirs } = await bothWays(slice, plain.slice(11, 23), kafkajs.CompressionTypes.None);
  assert.ok(ours.equals(theirs), 'offset deltas from 0, timestamps from the slice');
});

test('requestChunks keeps a chunk within the limit whole, and cuts a larger one in order at record ends', () => {
  const plain = records(80);
  const chunk = encodeChunk(plain);
  assert.deepEqual([...requestChunks(chunk, chunk.body.length)], [chunk]);
  const limit = 1024;
  const pieces = [...requestChunks(chunk, limit)];
  assert.ok(pieces.length > 1);
  for (const piece of pieces) assert.ok(piece.count === 1 || piece.body.length <= limit, 'within the limit');
  assert.ok(
    pieces.some((p) => p.count === 1 && p.body.length > limit),
    'a record larger than the limit goes alone',
  );
  assert.deepEqual(pieces.flatMap(decodeChunk), decodeChunk(chunk), 'every record once, in order');
});

test("a framed chunk request (built in the chunk's own buffer) matches kafkajs's, for short and long names", async () => {
  const plain = records(25);
  const chunk = encodeChunk(plain);
  const bodyBefore = Buffer.from(chunk.body);
  for (const [topic, clientId, transactionalId, fits] of [
    ['orders', 'kafka-mirror', null, true],
    ['o'.repeat(249), 'kafka-mirror', `km/${'t'.repeat(249)}/0`, false], // headers too long: a new buffer
    ['orders', 'c'.repeat(450), null, false], // the frame does not fit: framing copies
  ] as const) {
    const args = (messages: readonly object[]) => ({
      acks: -1,
      timeout: 30_000,
      transactionalId,
      topicData: [{ topic, partitions: [{ partition: 1, messages }] }],
    });
    for (let attempt = 0; attempt < 2; attempt++) {
      const ours = await frameRequest({
        correlationId: 40 + attempt,
        clientId,
        request: produceRequestV3(args([chunkMessage(chunk)]), kafkajsCodecs),
      });
      const theirs = await kafkajsFrame({
        correlationId: 40 + attempt,
        clientId,
        request: kafkajsProduce(args(plain)),
      });
      assert.ok(
        ours.buffer.equals(theirs.buffer),
        `same bytes (${topic.length}-byte topic, attempt ${attempt})`,
      );
      const inChunk = ours.buffer.buffer === chunk.body.buffer;
      assert.equal(inChunk, fits, 'built in the chunk only when it fits');
    }
  }
  assert.ok(chunk.body.equals(bodyBefore), 'the records themselves are untouched');
});

test('a chunk whose record ends are not where its records end is a bug reported as KM_INTERNAL_INVARIANT', () => {
  const chunk = encodeChunk(records(3));
  const ends = Uint32Array.from(chunk.ends);
  ends[1] = (ends[1] as number) + 1;
  assert.throws(
    () => decodeChunk({ ...chunk, ends }),
    (error) => error instanceof InternalInvariantError && /chunk record 1 ends at/.test(error.message),
  );
});
