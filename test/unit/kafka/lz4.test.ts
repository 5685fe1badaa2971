import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { decompressFrame, Lz4FormatError } from '../../../src/kafka/lz4.ts';

const lz4 = createRequire(import.meta.url)('lz4-napi') as { compressFrameSync(data: Buffer): Buffer };

const cases: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['short text', Buffer.from('hello, kafka')],
  ['repetitive 1 MiB (long and overlapping matches)', Buffer.alloc(1 << 20, 'abcab')],
  ['random 3 MiB (uncompressed blocks)', randomBytes(3 << 20)],
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

test('corrupt input is an Lz4FormatError, not garbage', () => {
  assert.throws(() => decompressFrame(Buffer.from('not an lz4 frame')), Lz4FormatError);
  const frame = lz4.compressFrameSync(Buffer.alloc(100_000, 'abc'));
  assert.throws(() => decompressFrame(frame.subarray(0, frame.length - 20)), Lz4FormatError);
});
