// The patched CRC-32C (src/kafka/kafkajs/crc32c.ts) must not change what kafkajs computes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';

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
