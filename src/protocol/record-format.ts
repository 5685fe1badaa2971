// Kafka's record format (magic 2, DefaultRecord): varints, records and headers, CRC-32C. Pure
// bytes: used by record chunks (record-chunk.ts), produce requests (produce-request.ts) and the
// patched kafkajs record decoder.
import { createRequire } from 'node:module';
import { InternalInvariantError } from '../errors/index.ts';
import type { ProvenanceTail } from './records.ts';

const require = createRequire(import.meta.url);
/** CRC-32C (Castagnoli) in native code, as Kafka's record batches use it. */
export const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Uint8Array): number };

export type Bytes = Buffer | string | null | undefined;
export type HeaderPairs = ReadonlyArray<readonly [string, Bytes]>;

/** What kafkajs's connection and request framing read of an Encoder. */
export interface Encoded {
  readonly buf: Buffer;
  readonly buffer: Buffer;
  size(): number;
}

export const encoded = (buf: Buffer): Encoded => ({ buf, buffer: buf, size: () => buf.length });

export const sizeOfVarInt = (value: number): number => {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    size++;
  }
  return size;
};

/** Reads a zigzag varint at `cursor.at` and moves the cursor past it. */
export function readVarInt(buffer: Buffer, cursor: { at: number }): number {
  let result = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = buffer[cursor.at++] as number;
    result += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte >= 0x80);
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

export function writeVarInt(buffer: Buffer, offset: number, value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 128) {
    buffer[offset++] = (zigzag % 128) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  buffer[offset++] = zigzag;
  return offset;
}

const byteLength = (data: Buffer | string) =>
  typeof data === 'string' ? Buffer.byteLength(data) : data.length;

export function writeBytes(buffer: Buffer, offset: number, data: Bytes): number {
  if (data === null || data === undefined) return writeVarInt(buffer, offset, -1);
  const length = byteLength(data);
  offset = writeVarInt(buffer, offset, length);
  if (typeof data === 'string') buffer.write(data, offset, 'utf8');
  else buffer.set(data, offset); // TypedArray set: no argument checks, unlike Buffer's copy
  return offset + length;
}

export const sizeOfBytes = (data: Bytes) => {
  if (data === null || data === undefined) return 1;
  const length = byteLength(data);
  return sizeOfVarInt(length) + length;
};

export const asNumber = (value: unknown) => (typeof value === 'number' ? value : Number(String(value)));

/** kafkajs's message headers (an object, values possibly arrays) or our ordered pair list. */
export function headerPairs(headers: Record<string, unknown> | HeaderPairs | undefined): HeaderPairs {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as HeaderPairs;
  const object = headers as Record<string, unknown>;
  return Object.keys(object).flatMap((name) => {
    const v = object[name];
    return (Array.isArray(v) ? v.map((item) => [name, item]) : [[name, v]]) as Array<[string, Bytes]>;
  });
}

export interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key: Bytes;
  value: Bytes;
  headers?: Record<string, unknown> | HeaderPairs;
}

/** Header bytes of a provenance tail around these offset digits. */
export const tailSize = (tail: ProvenanceTail, offset: string) =>
  tail.before.length + sizeOfVarInt(offset.length) + offset.length + tail.after.length;

/** Size of a record's body (everything after its length varint); `tail` adds six headers after `list`. */
export function recordBodySize(
  list: HeaderPairs,
  delta: number,
  offsetDelta: number,
  key: Bytes,
  value: Bytes,
  tail?: ProvenanceTail,
  offset = '',
): number {
  let size = 1 + sizeOfVarInt(delta) + sizeOfVarInt(offsetDelta) + sizeOfBytes(key) + sizeOfBytes(value);
  size += sizeOfVarInt(list.length + (tail === undefined ? 0 : 6));
  for (const [name, data] of list) size += sizeOfBytes(name) + sizeOfBytes(data);
  if (tail !== undefined) size += tailSize(tail, offset);
  return size;
}

/** Bytes `writeRecord` writes for these fields. */
export function recordSize(
  key: Bytes,
  value: Bytes,
  headers: HeaderPairs,
  offsetDelta: number,
  delta: number,
): number {
  const body = recordBodySize(headers, delta, offsetDelta, key, value);
  return sizeOfVarInt(body) + body;
}

/**
 * One record of a v2 record batch (kafkajs's recordBatch/record/v0) written at `offset`, headers in
 * list order (duplicates and null values kept), then the provenance tail if any with `sourceOffset`
 * as km.src.offset. `body` is its recordBodySize. Returns the offset after it.
 */
export function writeRecord(
  buf: Buffer,
  offset: number,
  key: Bytes,
  value: Bytes,
  headers: HeaderPairs,
  offsetDelta: number,
  delta: number,
  tail?: ProvenanceTail,
  sourceOffset = '',
  body = recordBodySize(headers, delta, offsetDelta, key, value, tail, sourceOffset),
): number {
  offset = writeVarInt(buf, offset, body);
  buf[offset++] = 0; // attributes
  offset = writeVarInt(buf, offset, delta);
  offset = writeVarInt(buf, offset, offsetDelta);
  offset = writeBytes(buf, offset, key);
  offset = writeBytes(buf, offset, value);
  offset = writeVarInt(buf, offset, headers.length + (tail === undefined ? 0 : 6));
  for (const [name, data] of headers) {
    offset = writeBytes(buf, offset, name);
    offset = writeBytes(buf, offset, data);
  }
  if (tail !== undefined) {
    buf.set(tail.before, offset);
    offset = writeVarInt(buf, offset + tail.before.length, sourceOffset.length);
    // Decimal digits: one byte each, written here rather than through a call into C++.
    for (let i = 0; i < sourceOffset.length; i++) buf[offset++] = sourceOffset.charCodeAt(i);
    buf.set(tail.after, offset);
    offset += tail.after.length;
  }
  return offset;
}

/** Pairs encoded as record headers, one after the other (a provenance tail's parts). */
export function encodeHeaders(pairs: HeaderPairs): Buffer {
  let size = 0;
  for (const [name, data] of pairs) size += sizeOfBytes(name) + sizeOfBytes(data);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [name, data] of pairs) at = writeBytes(buf, writeBytes(buf, at, name), data);
  return buf;
}

/** One record in a buffer of its own: kafkajs's Record, for code paths other than produce requests. */
export function encodeRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers,
}: RecordFields): Encoded {
  const list = headerPairs(headers);
  const delta = asNumber(timestampDelta);
  // allocUnsafe: a slice of Node's shared pool for small records, no zero fill (every byte is written).
  const buf = Buffer.allocUnsafe(recordSize(key, value, list, offsetDelta, delta));
  const end = writeRecord(buf, 0, key, value, list, offsetDelta, delta);
  if (end !== buf.length)
    throw new InternalInvariantError(`record encoder wrote ${end} of ${buf.length} bytes`);
  return encoded(buf);
}
