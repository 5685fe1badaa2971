// Record batch headers read from the bytes a broker sends, and the checks of Kafka's consumer
// (DefaultRecordBatch.ensureValid, ByteBufferLogInputStream.nextBatchSize).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { ControlRecordType, readRecordSet } from '../../../src/protocol/record-batches.ts';
import { recordBatch } from '../../support/record-batches.ts';

const set = Buffer.concat([
  recordBatch({ baseOffset: 10, values: ['a', 'b'] }),
  recordBatch({ baseOffset: 12, producerId: 7, transactional: true, values: ['c'] }),
  recordBatch({ baseOffset: 13, producerId: 7, marker: 'abort' }),
  recordBatch({ baseOffset: 14, producerId: 8, marker: 'commit' }),
]);

test('each complete batch: offsets, producer, transactional and control flags, the control type', () => {
  const read = readRecordSet(set, 0, set.length);
  assert.equal(read.invalid, undefined);
  assert.equal(read.wireBytes, set.length);
  assert.equal(read.validEnd, set.length);
  assert.deepEqual(
    read.batches.map((b) => [
      b.baseOffset,
      b.lastOffset,
      b.producerId,
      b.transactional,
      b.control,
      b.controlType,
    ]),
    [
      [10n, 11n, -1n, false, false, undefined],
      [12n, 12n, 7n, true, false, undefined],
      [13n, 13n, 7n, true, true, ControlRecordType.ABORT],
      [14n, 14n, 8n, true, true, ControlRecordType.COMMIT],
    ],
  );
});

test('a trailing partial batch, cut by the size limit, is neither a batch nor invalid', () => {
  for (const cut of [1, 11, 12, 16, 17, 40, 70]) {
    const read = readRecordSet(set, 0, set.length - cut);
    assert.equal(read.invalid, undefined, `cut ${cut}`);
    assert.equal(read.batches.length, 3, `cut ${cut}`);
  }
});

test('the first batch whose CRC-32C, size or magic byte cannot be valid stops the walk and is named', () => {
  const second = recordBatch({ baseOffset: 10, values: ['a', 'b'] }).length;
  const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
    ['a record byte', (b) => (b[second + 62] = (b[second + 62] as number) ^ 1), /crc/],
    ['the attributes', (b) => (b[second + 22] = (b[second + 22] as number) ^ 0x20), /crc/],
    ['the stored crc', (b) => (b[second + 17] = (b[second + 17] as number) ^ 0x80), /crc/],
    ['a size below any entry', (b) => b.writeInt32BE(13, second + 8), /size 13 below the minimum/],
    [
      'a size below the batch header',
      (b) => b.writeInt32BE(40, second + 8),
      /size 52 below the record batch/,
    ],
    ['the magic byte', (b) => b.writeInt8(3, second + 16), /invalid magic 3/],
  ];
  for (const [what, corrupt, reason] of cases) {
    const bytes = Buffer.from(set);
    corrupt(bytes);
    const read = readRecordSet(bytes, 0, bytes.length);
    assert.equal(read.batches.length, 1, what);
    assert.equal(read.invalid?.baseOffset, 12n, what);
    assert.equal(read.invalid?.position, second, what);
    assert.equal(read.validEnd, second, what);
    assert.equal(read.wireBytes, second, what);
    assert.match(read.invalid?.reason ?? '', reason, what);
  }
});

test('a control batch whose marker cannot be read is invalid: applying a guess would leak or lose records', () => {
  const control = recordBatch({ baseOffset: 0, producerId: 1, marker: 'abort' });
  // Compressed (never written by brokers), with a fresh CRC so only the marker is in question.
  const compressed = Buffer.from(control);
  compressed.writeInt16BE(compressed.readInt16BE(21) | 1, 21);
  const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c(b: Uint8Array): number };
  compressed.writeUInt32BE(crc32c(compressed.subarray(21)) >>> 0, 17);
  assert.match(
    readRecordSet(compressed, 0, compressed.length).invalid?.reason ?? '',
    /compressed control batch/,
  );
});
