// The one-pass produce request and request framing (src/protocol/produce-request.ts) must put the
// same bytes on the wire as kafkajs's own encoders, which are loaded here from their files.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';
import { frameRequest, produceRequestV3 } from '../../../src/protocol/produce-request.ts';
import {
  kafkajsCodecs,
  kafkajsFrame,
  kafkajsProduce,
  sampleRecords,
} from '../../support/kafkajs-original.ts';

const messages = sampleRecords;

for (const [name, compression] of [
  ['none', kafkajs.CompressionTypes.None],
  ['gzip', kafkajs.CompressionTypes.GZIP],
  ['zstd', kafkajs.CompressionTypes.ZSTD],
] as const) {
  test(`a produce request encodes to kafkajs's bytes (${name})`, async () => {
    const args = {
      acks: -1,
      timeout: 30_000,
      compression,
      topicData: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, messages: messages(50) },
            { partition: 3, messages: messages(1) },
          ],
        },
        { topic: 'pagamentos-ç', partitions: [{ partition: 1, messages: messages(7) }] },
      ],
    };
    const ours = (await produceRequestV3(args, kafkajsCodecs).encode()).buffer;
    const theirs = (await kafkajsProduce(args).encode()).buffer;
    assert.equal(ours.length, theirs.length);
    assert.ok(ours.equals(theirs), 'same bytes');
  });
}

test("a transactional produce request and messages without timestamps match kafkajs's", async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_123_456 });
  const args = {
    acks: -1,
    timeout: 1000,
    transactionalId: 'km-tx',
    producerId: 4242,
    producerEpoch: 3,
    topicData: [
      { topic: 't', partitions: [{ partition: 2, firstSequence: 17, messages: [{ key: 'k', value: 'v' }] }] },
    ],
  };
  const ours = (await produceRequestV3(args, kafkajsCodecs).encode()).buffer;
  const theirs = (await kafkajsProduce(args).encode()).buffer;
  assert.ok(ours.equals(theirs), 'same bytes');
});

test("request framing matches kafkajs's, with and without a client id", async () => {
  const payload = randomBytes(1000);
  // What an encode() of kafkajs returns: an Encoder, read through buf/buffer/size().
  const request = {
    apiKey: 0,
    apiVersion: 7,
    encode: async () => ({ buf: payload, buffer: payload, size: () => payload.length }),
  };
  for (const clientId of ['kafka-mirror', 'çé', null]) {
    const ours = (await frameRequest({ correlationId: 99, clientId, request })).buffer;
    const theirs = (await kafkajsFrame({ correlationId: 99, clientId, request })).buffer;
    assert.ok(ours.equals(theirs), `same bytes (client id ${String(clientId)})`);
  }
});

test("a framed produce request (its frame written into the room left before it) matches kafkajs's", async () => {
  const args = {
    acks: -1,
    timeout: 30_000,
    topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: messages(20) }] }],
  };
  for (const clientId of ['kafka-mirror', 'x'.repeat(300), null]) {
    const ours = (
      await frameRequest({ correlationId: 7, clientId, request: produceRequestV3(args, kafkajsCodecs) })
    ).buffer;
    const theirs = (await kafkajsFrame({ correlationId: 7, clientId, request: kafkajsProduce(args) })).buffer;
    assert.ok(ours.equals(theirs), `same bytes (client id of ${clientId?.length ?? 'no'} characters)`);
  }
});
