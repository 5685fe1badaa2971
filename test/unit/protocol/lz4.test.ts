import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { InvalidCompressedDataError } from '../../../src/errors/index.ts';
import { compressFrame, decompressFrame, xxh32Short } from '../../../src/protocol/lz4.ts';

const lz4 = createRequire(import.meta.url)('lz4-napi') as {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
};

const cases: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['short text', Buffer.from('hello, kafka')],
  ['repetitive 1 MiB (long and overlapping matches)', Buffer.alloc(1 << 20, 'abcab')],
  ['random 3 MiB (uncompressed blocks)', randomBytes(3 << 20)],
  ['12 bytes (too short for a match)', Buffer.from('abcdabcdabcd')],
  ['13 bytes', Buffer.from('abcdabcdabcda')],
  ['exactly one block (64 KiB)', Buffer.alloc(64 << 10, 'kafka ')],
  ['one block and a byte', Buffer.concat([Buffer.alloc(64 << 10, 'mirror '), Buffer.from('!')])],
  [
    'records-like mix',
    Buffer.concat(
      Array.from({ length: 5000 }, (_, i) =>
        Buffer.from(`{"order":${i},"customer":"c-${i % 97}","pad":"${'x'.repeat(i % 40)}"}`),
      ),
    ),
  ],
];

for (const [name, data] of cases) {
  test(`decompresses what the native lz4 frame encoder wrote: ${name}`, () => {
    const frame = lz4.compressFrameSync(data);
    assert.ok(decompressFrame(frame).equals(data));
  });
}

test('a frame inside a larger buffer (a view with an offset) decodes', () => {
  const data = Buffer.from('x'.repeat(1000) + 'tail');
  const frame = lz4.compressFrameSync(data);
  const padded = Buffer.concat([Buffer.alloc(7), frame, Buffer.alloc(3)]);
  assert.ok(decompressFrame(padded.subarray(7, 7 + frame.length)).equals(data));
});

const invalidLz4 = (error: unknown) => error instanceof InvalidCompressedDataError && error.codec === 'lz4';

test('corrupt input is invalid lz4 data (KM_INVALID_COMPRESSED_DATA), not garbage', () => {
  assert.throws(() => decompressFrame(Buffer.from('not an lz4 frame')), invalidLz4);
  const frame = lz4.compressFrameSync(Buffer.alloc(100_000, 'abc'));
  assert.throws(() => decompressFrame(frame.subarray(0, frame.length - 20)), invalidLz4);
});

for (const [name, data] of cases) {
  test(`compresses into a frame that lz4's own decoder and ours read back: ${name}`, () => {
    const frame = compressFrame(data);
    assert.ok(lz4.decompressFrameSync(frame).equals(data), 'native decoder');
    assert.ok(decompressFrame(frame).equals(data), 'our decoder');
  });
}

test("a compressed frame is Kafka's: version 1, independent 64 KiB blocks, no checksums, the descriptor checksum (Lz4BlockOutputStream)", () => {
  // XXH32 test vectors (seed 0), of which the descriptor checksum is the second byte.
  assert.equal(xxh32Short([]), 0x02cc5d05);
  assert.equal(xxh32Short([...Buffer.from('a')]), 0x550d7456);
  assert.equal(xxh32Short([...Buffer.from('abc')]), 0x32d153ff);
  const frame = compressFrame(Buffer.alloc(200_000, 'records '));
  assert.equal(frame.readUInt32LE(0), 0x184d2204);
  assert.equal(frame[4], 0x60, 'FLG: version 01, block independence, no checksums, no content size');
  assert.equal(frame[5], 0x40, 'BD: 64 KiB blocks');
  assert.equal(frame[6], (xxh32Short([0x60, 0x40]) >>> 8) & 0xff);
  assert.equal(frame.readUInt32LE(frame.length - 4), 0, 'end mark, no content checksum');
});

/** The sequences of one compressed block: where each match starts and where the block ends. */
function sequencesOf(block: Buffer): { matchStarts: number[]; decoded: number; lastLiterals: number } {
  let ip = 0;
  let op = 0;
  const matchStarts: number[] = [];
  let lastLiterals = 0;
  const length = (start: number) => {
    let n = start;
    if (n === 15) for (let b = 255; b === 255; n += b) b = block[ip++] as number;
    return n;
  };
  while (ip < block.length) {
    const token = block[ip++] as number;
    const literals = length(token >> 4);
    ip += literals;
    op += literals;
    lastLiterals = literals;
    if (ip >= block.length) break;
    ip += 2;
    matchStarts.push(op);
    op += length(token & 15) + 4;
  }
  return { matchStarts, decoded: op, lastLiterals };
}

test("every compressed block keeps lz4's end-of-block rules (Kafka's Java decoder relies on them)", () => {
  const data = Buffer.concat(
    Array.from({ length: 3000 }, (_, i) => Buffer.from(`{"order":${i},"customer":"c-${i % 13}"}`)),
  );
  const frame = compressFrame(data);
  let at = 7;
  let compressedBlocks = 0;
  for (let size = frame.readUInt32LE(at); size !== 0; size = frame.readUInt32LE(at)) {
    at += 4;
    if ((size & 0x80000000) === 0) {
      compressedBlocks++;
      const { matchStarts, decoded, lastLiterals } = sequencesOf(frame.subarray(at, at + size));
      assert.ok(matchStarts.length > 0);
      assert.ok(lastLiterals >= 5, 'the last 5 bytes are literals');
      assert.ok(
        (matchStarts.at(-1) as number) <= decoded - 12,
        'the last match starts 12 bytes or more before the end',
      );
    }
    at += size & 0x7fffffff;
  }
  assert.ok(compressedBlocks >= 2);
});
