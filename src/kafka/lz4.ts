// LZ4 frame decompression in JavaScript, for reading lz4-compressed source topics.
//
// Why not the native codec used for compression (lz4-napi): its output buffers live outside the
// V8 heap without telling the garbage collector their size, so under a sustained lz4 backlog the
// daemon's RSS grew by about 55 MiB over the same run with uncompressed data
// (test/integration/memory.test.ts). Decoding into Node-allocated Buffers keeps that memory
// visible to the collector. The record batch CRC is Kafka's own check; frame checksums are skipped.
//
// Format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md and lz4_Block_format.md.

const FRAME_MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

export class Lz4FormatError extends Error {
  constructor(message: string) {
    super(`invalid lz4 frame: ${message}`);
    this.name = 'Lz4FormatError';
  }
}

/** Decompresses one LZ4 frame (Kafka's lz4 codec writes exactly one per record batch). */
export function decompressFrame(input: Uint8Array): Buffer {
  const src = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (src.length < 7 || src.readUInt32LE(0) !== FRAME_MAGIC) throw new Lz4FormatError('bad magic number');
  const flg = src[4] as number;
  const bd = src[5] as number;
  if (flg >> 6 !== 1) throw new Lz4FormatError(`unsupported version ${flg >> 6}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const hasDictId = (flg & 0x01) !== 0;
  const blockMax = BLOCK_MAX[(bd >> 4) & 7] ?? 0;
  if (blockMax === 0) throw new Lz4FormatError('bad block size');
  let ip = 6;
  if (hasContentSize) ip += 8; // the size is not trusted for allocation; the scratch grows as needed
  if (hasDictId) ip += 4;
  ip += 1; // header checksum

  const sink: Sink = { out: scratch, op: 0 };
  for (;;) {
    if (ip + 4 > src.length) throw new Lz4FormatError('truncated block header');
    const word = src.readUInt32LE(ip);
    ip += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (ip + size > src.length) throw new Lz4FormatError('truncated block');
    if ((word & 0x80000000) !== 0) {
      reserve(sink, size);
      src.copy(sink.out, sink.op, ip, ip + size);
      sink.op += size;
    } else {
      decodeBlock(src, ip, ip + size, sink);
    }
    ip += size + (blockChecksum ? 4 : 0);
  }
  // A content checksum (if any) follows the end mark; frame checksums are not verified.
  scratch = sink.out;
  // One exact-size copy out of the scratch: records are views into the result and keep all of it
  // alive while any of them is queued, and the only garbage a batch leaves is this buffer.
  const result = Buffer.allocUnsafe(sink.op);
  sink.out.copy(result, 0, 0, sink.op);
  return result;
}

/**
 * Decoding happens in this reused buffer (grown to the largest batch seen). decompressFrame is
 * synchronous, so calls never interleave.
 */
let scratch: Buffer = Buffer.allocUnsafeSlow(256 << 10);

/** Decoded output so far: `out[0, op)`. */
interface Sink {
  out: Buffer;
  op: number;
}

function reserve(sink: Sink, more: number): void {
  if (sink.op + more <= sink.out.length) return;
  const grown = Buffer.allocUnsafe(Math.max(sink.op + more, sink.out.length * 2));
  sink.out.copy(grown, 0, 0, sink.op);
  sink.out = grown;
}

/** One LZ4 block appended to the sink; matches may reach back into earlier blocks (linked mode). */
function decodeBlock(src: Buffer, start: number, end: number, sink: Sink): void {
  let ip = start;
  while (ip < end) {
    const token = src[ip++] as number;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = src[ip++] as number;
        literals += b;
      } while (b === 255 && ip < end);
    }
    if (ip + literals > end) throw new Lz4FormatError('literals past the block');
    reserve(sink, literals);
    src.copy(sink.out, sink.op, ip, ip + literals);
    ip += literals;
    sink.op += literals;
    if (ip >= end) break; // the last sequence has literals only
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > sink.op) throw new Lz4FormatError('match offset out of range');
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        b = src[ip++] as number;
        length += b;
      } while (b === 255 && ip < end);
    }
    length += 4;
    reserve(sink, length);
    const out = sink.out;
    let op = sink.op;
    if (offset >= length) {
      out.copy(out, op, op - offset, op - offset + length);
      op += length;
    } else {
      // Overlapping match (a repeated pattern): byte by byte, each copy may read what it just wrote.
      for (let i = 0; i < length; i++, op++) out[op] = out[op - offset] as number;
    }
    sink.op = op;
  }
}
