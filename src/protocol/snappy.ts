// Snappy decompression for snappy-compressed source topics, into one buffer.
//
// Kafka's Java producer writes snappy in the xerial framing (SnappyOutputStream: a 16-byte header,
// then blocks of an int32 length and a raw snappy block, 32 KiB of input each). kafkajs-snappy
// decoded every block into a buffer of its own and joined them two at a time, copying the output
// again for each block: a 512 KiB batch allocated 4.3 MiB on its way (issue 19). Here the blocks'
// lengths are read first and each block decodes straight into its place in one buffer. Raw
// snappy without the framing (as kafkajs-snappy and librdkafka write it) is one block.
import { createRequire } from 'node:module';
import { InvalidCompressedDataError } from '../errors/index.ts';

const require = createRequire(import.meta.url);
// snappyjs is kafkajs-snappy's decoder; resolved from there, where it is installed.
const fromSnappyPackage = createRequire(require.resolve('kafkajs-snappy'));
const { SnappyDecompressor } = fromSnappyPackage('snappyjs/snappy_decompressor.js') as {
  SnappyDecompressor: new (compressed: Uint8Array) => {
    /** The varint at the start of a raw block, -1 if malformed. */
    readUncompressedLength(): number;
    /** Decodes the rest of the block into `out` from its start; false if malformed. */
    uncompressToBuffer(out: Uint8Array): boolean;
  };
};

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
/**
 * No snappy element expands more than 64 bytes out of 3 (a two-byte-offset copy), so a length
 * claimed beyond 22 times the block (and a little) is corrupt, not a reason to allocate it.
 */
const MAX_EXPANSION = 22;

/** Data that is not valid snappy (KM_INVALID_COMPRESSED_DATA). */
const invalid = (detail: string) => new InvalidCompressedDataError('snappy', detail);

/** Decompresses the records of one snappy-compressed record batch. */
export function decompressSnappy(input: Buffer): Buffer {
  const framed = input.length >= XERIAL_HEADER && input.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
  const blocks: Array<{ decoder: InstanceType<typeof SnappyDecompressor>; length: number }> = [];
  let total = 0;
  const add = (block: Buffer) => {
    const decoder = new SnappyDecompressor(block);
    const length = decoder.readUncompressedLength();
    if (length < 0 || length > MAX_EXPANSION * block.length + 64) throw invalid('bad block length');
    blocks.push({ decoder, length });
    total += length;
  };
  if (!framed) add(input);
  else {
    for (let at = XERIAL_HEADER; at + 4 <= input.length;) {
      const size = input.readUInt32BE(at);
      at += 4;
      if (at + size > input.length) throw invalid('truncated block');
      add(input.subarray(at, at + size));
      at += size;
    }
  }
  // Zero-filled: the decoder does not report how much it wrote, and a short block must not show
  // whatever memory held before.
  const out = Buffer.alloc(total);
  let op = 0;
  for (const { decoder, length } of blocks) {
    if (!decoder.uncompressToBuffer(out.subarray(op, op + length))) throw invalid('bad block');
    op += length;
  }
  return out;
}
