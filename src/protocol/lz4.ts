// LZ4 frames in JavaScript: decompression for lz4-compressed source topics, compression for the
// batches written with lz4 (producer.compression: lz4, or source for an lz4 topic).
//
// Why not the native codec (lz4-napi): its output buffers live outside the V8 heap without telling
// the garbage collector their size, and its working memory stays with the process. Decoding with it
// grew the daemon's RSS by about 55 MiB over the same run with uncompressed data, and compressing
// with it by about 70 MiB (issue 19: a backlog of large records copied from an lz4 topic peaked at
// 231 MiB against 168 uncompressed; its synchronous variant grew RSS by 1.5 MiB per MiB compressed,
// never returned). Here every buffer is Node's, visible to the collector, and each call leaves one
// exact-size buffer as garbage. The record batch CRC is Kafka's own check; frame checksums are
// skipped when reading and not written.
//
// Format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md and lz4_Block_format.md.

import { InternalInvariantError, InvalidCompressedDataError } from '../errors/index.ts';

const FRAME_MAGIC = 0x184d2204;
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
/** A block stored as it is (not compressed): the high bit of its size. */
const UNCOMPRESSED = 0x80000000;

/** A frame that is not valid LZ4 (KM_INVALID_COMPRESSED_DATA). */
const invalid = (detail: string) => new InvalidCompressedDataError('lz4', detail);

/** Decompresses one LZ4 frame (Kafka's lz4 codec writes exactly one per record batch). */
export function decompressFrame(input: Uint8Array): Buffer {
  const src = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (src.length < 7 || src.readUInt32LE(0) !== FRAME_MAGIC) throw invalid('bad magic number');
  const flg = src[4] as number;
  const bd = src[5] as number;
  if (flg >> 6 !== 1) throw invalid(`unsupported version ${flg >> 6}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const hasDictId = (flg & 0x01) !== 0;
  const blockMax = BLOCK_MAX[(bd >> 4) & 7] ?? 0;
  if (blockMax === 0) throw invalid('bad block size');
  let ip = 6;
  if (hasContentSize) ip += 8; // the size is not trusted for allocation; the scratch grows as needed
  if (hasDictId) ip += 4;
  ip += 1; // header checksum

  const sink: Sink = { out: scratch, op: 0 };
  for (;;) {
    if (ip + 4 > src.length) throw invalid('truncated block header');
    const word = src.readUInt32LE(ip);
    ip += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    if (ip + size > src.length) throw invalid('truncated block');
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
    if (ip + literals > end) throw invalid('literals past the block');
    reserve(sink, literals);
    src.copy(sink.out, sink.op, ip, ip + literals);
    ip += literals;
    sink.op += literals;
    if (ip >= end) break; // the last sequence has literals only
    const offset = (src[ip] as number) | ((src[ip + 1] as number) << 8);
    ip += 2;
    if (offset === 0 || offset > sink.op) throw invalid('match offset out of range');
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

// Compression, as Kafka's own writer (Lz4BlockOutputStream, clients/.../common/compress/): frame
// version 1, independent blocks of 64 KiB (Kafka's reader refuses dependent blocks: "Dependent block
// stream is unsupported"), no block or content checksums, no content size, the descriptor checksum
// over FLG and BD; a block that does not shrink is stored as it is.

const BLOCK_SIZE = 64 << 10;
/** FLG: version 01, independent blocks. BD: 64 KiB blocks. */
const FLG = 0x60;
const BD = 0x40;
const MIN_MATCH = 4;
/** The last 5 bytes of a block are literals, and its last match starts 12 or more bytes before its end. */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
const HASH_LOG = 16;
/** How fast the search skips ahead through input that does not match (lz4's LZ4_skipTrigger). */
const SKIP_TRIGGER = 6;

/**
 * Input positions by the hash of the 4 bytes there. Never cleared: a stale entry (another block,
 * another call) is only used once its position lies in the current block before the cursor and its
 * bytes match, so it is a valid match like any other.
 */
const table = new Int32Array(1 << HASH_LOG).fill(-1);
/** The frame is written here (grown to the largest seen), then copied out at its exact size. */
let output: Buffer = Buffer.allocUnsafeSlow(256 << 10);

/** Compresses `input` into one LZ4 frame that Kafka's consumers (any lz4 frame reader) decode. */
export function compressFrame(input: Uint8Array): Buffer {
  const length = input.length;
  const blocks = Math.ceil(length / BLOCK_SIZE);
  // Header, end mark, and per block its size word and lz4's worst case (LZ4_compressBound).
  const bound = 7 + 4 + blocks * (4 + 16) + length + Math.ceil(length / 255);
  if (output.length < bound) output = Buffer.allocUnsafeSlow(Math.max(bound, output.length * 2));
  const out = output;
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out[4] = FLG;
  out[5] = BD;
  out[6] = DESCRIPTOR_CHECKSUM;
  let op = 7;
  for (let start = 0; start < length; start += BLOCK_SIZE) {
    const end = Math.min(length, start + BLOCK_SIZE);
    const size = compressBlock(input, start, end, out, op + 4);
    if (size < end - start) {
      out.writeUInt32LE(size, op);
      op += 4 + size;
    } else {
      out.writeUInt32LE((end - start + UNCOMPRESSED) >>> 0, op);
      out.set(input.subarray(start, end), op + 4);
      op += 4 + end - start;
    }
  }
  out.writeUInt32LE(0, op); // end mark
  op += 4;
  const result = Buffer.allocUnsafe(op);
  out.copy(result, 0, 0, op);
  return result;
}

const read32 = (b: Uint8Array, i: number): number =>
  (b[i] as number) |
  ((b[i + 1] as number) << 8) |
  ((b[i + 2] as number) << 16) |
  ((b[i + 3] as number) << 24);
const hash = (sequence: number): number => Math.imul(sequence, 2654435761) >>> (32 - HASH_LOG);

/**
 * One independent block, input[start, end), written at out[op...] as lz4 sequences (greedy, as
 * lz4's fast mode); returns its size, which may be as large as the input's (the caller then
 * stores the block as it is). `out` has room for the worst case.
 */
function compressBlock(input: Uint8Array, start: number, end: number, out: Buffer, op: number): number {
  const first = op;
  let anchor = start;
  const matchStartLimit = end - MF_LIMIT;
  const matchEndLimit = end - LAST_LITERALS;
  if (end - start > MF_LIMIT) {
    let ip = start;
    table[hash(read32(input, ip))] = ip;
    ip++;
    for (;;) {
      // Find a match of at least 4 bytes, stepping faster the longer nothing matches.
      let ref = -1;
      for (let attempts = 1 << SKIP_TRIGGER; ip <= matchStartLimit; ip += attempts++ >> SKIP_TRIGGER) {
        const sequence = read32(input, ip);
        const h = hash(sequence);
        ref = table[h] as number;
        table[h] = ip;
        if (ref >= start && ref < ip && ip - ref <= MAX_DISTANCE && read32(input, ref) === sequence) break;
        ref = -1;
      }
      if (ref < 0) break;
      while (ip > anchor && ref > start && input[ip - 1] === input[ref - 1]) {
        ip--;
        ref--;
      }
      let matchLength = MIN_MATCH;
      while (ip + matchLength < matchEndLimit && input[ip + matchLength] === input[ref + matchLength])
        matchLength++;
      op = writeSequence(out, op, input, anchor, ip, ip - ref, matchLength);
      ip += matchLength;
      anchor = ip;
      if (ip > matchStartLimit) break;
      table[hash(read32(input, ip - 2))] = ip - 2;
    }
  }
  op = writeSequence(out, op, input, anchor, end, 0, 0); // the last literals
  return op - first;
}

/** A token, its literals input[from, to) and, unless `matchLength` is 0, its match. */
function writeSequence(
  out: Buffer,
  op: number,
  input: Uint8Array,
  from: number,
  to: number,
  distance: number,
  matchLength: number,
): number {
  const literals = to - from;
  const token = op++;
  let t = Math.min(literals, 15) << 4;
  if (literals >= 15) op = writeLength(out, op, literals - 15);
  if (literals < 16) for (let i = from; i < to; i++) out[op++] = input[i] as number;
  else {
    out.set(input.subarray(from, to), op);
    op += literals;
  }
  if (matchLength > 0) {
    out[op++] = distance & 0xff;
    out[op++] = distance >>> 8;
    const rest = matchLength - MIN_MATCH;
    t |= Math.min(rest, 15);
    if (rest >= 15) op = writeLength(out, op, rest - 15);
  }
  out[token] = t;
  return op;
}

function writeLength(out: Buffer, op: number, length: number): number {
  let rest = length;
  for (; rest >= 255; rest -= 255) out[op++] = 255;
  out[op++] = rest;
  return op;
}

/** XXH32 of a few bytes (under 16), seed 0: the frame descriptor checksum is its second byte. */
export function xxh32Short(bytes: readonly number[]): number {
  const P1 = 0x9e3779b1;
  const P2 = 0x85ebca77;
  const P3 = 0xc2b2ae3d;
  const P4 = 0x27d4eb2f;
  const P5 = 0x165667b1;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  if (bytes.length >= 16) throw new InternalInvariantError('xxh32Short hashes fewer than 16 bytes');
  let h = (P5 + bytes.length) >>> 0;
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) {
    const word =
      ((bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24)) >>>
      0;
    h = Math.imul(rotl((h + Math.imul(word, P3)) >>> 0, 17), P4) >>> 0;
  }
  for (; i < bytes.length; i++)
    h = Math.imul(rotl((h + Math.imul(bytes[i] as number, P5)) >>> 0, 11), P1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), P2) >>> 0;
  h = Math.imul(h ^ (h >>> 13), P3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const DESCRIPTOR_CHECKSUM = (xxh32Short([FLG, BD]) >>> 8) & 0xff;
