import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { InvalidCompressedDataError } from '../../../src/errors/index.ts';
import { decompressSnappy } from '../../../src/protocol/snappy.ts';

const require = createRequire(import.meta.url);
const snappyjs = createRequire(require.resolve('kafkajs-snappy'))('snappyjs') as {
  compress(data: Buffer): Buffer;
};

/** Java's SnappyOutputStream (xerial): magic, version 1, compatible version 1, then length-prefixed blocks of 32 KiB input. */
function xerial(data: Buffer, blockSize = 32 * 1024): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  const blocks: Buffer[] = [header];
  for (let at = 0; at < data.length; at += blockSize) {
    const block = snappyjs.compress(data.subarray(at, at + blockSize));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(block.length);
    blocks.push(length, block);
  }
  return Buffer.concat(blocks);
}

const cases: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one block', Buffer.from('records '.repeat(1000))],
  ['512 KiB of log lines (16 blocks)', Buffer.from('{"level":"info","msg":"copied"}\n'.repeat(16_384))],
  ['random 100 KB', randomBytes(100_000)],
];

for (const [name, data] of cases) {
  test(`decodes what Kafka's Java producer writes (xerial framing) and raw snappy: ${name}`, () => {
    assert.ok(decompressSnappy(xerial(data)).equals(data), 'xerial');
    assert.ok(decompressSnappy(snappyjs.compress(data)).equals(data), 'raw');
  });
}

const invalidSnappy = (error: unknown) =>
  error instanceof InvalidCompressedDataError && error.codec === 'snappy';

test('a block that claims more than snappy can expand to, or is cut short, is invalid snappy data (KM_INVALID_COMPRESSED_DATA)', () => {
  const framed = xerial(Buffer.from('abc'.repeat(50_000)));
  assert.throws(() => decompressSnappy(framed.subarray(0, framed.length - 10)), invalidSnappy);
  // A raw block of 3 bytes claiming 2^28 bytes of output.
  assert.throws(
    () => decompressSnappy(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01, 0x00, 0x61])),
    invalidSnappy,
  );
});
