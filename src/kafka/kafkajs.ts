// The one place that loads kafkajs. Everything else imports the client from here, because two
// things must happen before kafkajs's own modules load:
//
// 1. Record fidelity. kafkajs 2.2.4 decodes headers into an object keyed by name, so an
//    interleaved order (a, b, a) comes back regrouped (a, a, b), and its encoder cannot size a
//    header whose value is null. A replicator must copy headers byte for byte and in order
//    (DESIGN.md invariant 3), so the record decoder and encoder are replaced by versions that
//    represent a record's headers as an ordered [key, value] list instead. The wire format
//    and everything else about the records is unchanged (same code, see
//    kafkajs/src/protocol/recordBatch/record/v0/). The replacements go into Node's module cache
//    before kafkajs's record-batch modules capture them.
// 2. Codecs. kafkajs only ships gzip; a replicator must read whatever the source topics use.
//    snappy: kafkajs-snappy (pure JS); lz4: lz4-napi (N-API, prebuilt) to compress and our own
//    decoder (lz4.ts) to decompress, Kafka's LZ4 frame format; zstd: Node 24's built-in zlib.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type * as KafkaJs from 'kafkajs';
import { decompressFrame } from './lz4.ts';

const require = createRequire(import.meta.url);

/** Ordered `[key, value]` header pairs of a record, exactly as on the wire. */
export type WireHeaders = ReadonlyArray<readonly [string, Buffer | null]>;

const kafkajsFile = (relative: string) => require.resolve(`kafkajs/src/${relative}`);

if (require.cache[kafkajsFile('protocol/recordBatch/v0/decoder.js')] !== undefined) {
  throw new Error('kafkajs was loaded before src/kafka/kafkajs.ts: import the client only from there');
}

interface Decoder {
  readInt8(): number;
  readVarLong(): { toString(): string };
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(fn: (d: Decoder) => T): T[];
}

const Long = require('kafkajs/src/utils/long') as {
  fromValue(v: unknown): { add(v: unknown): { toString(): string } };
};
const decodeHeader = require(kafkajsFile('protocol/recordBatch/header/v0/decoder.js')) as (d: Decoder) => {
  key: string;
  value: Buffer | null;
};
const TimestampTypes = require(kafkajsFile('protocol/timestampTypes.js')) as { LOG_APPEND_TIME: number };
const Encoder = require(kafkajsFile('protocol/encoder.js')) as EncoderClass;
const encodeHeader = require(kafkajsFile('protocol/recordBatch/header/v0/index.js')) as (h: {
  key: string;
  value: Buffer | null;
}) => unknown;

interface EncoderInstance {
  writeVarInt(v: number): EncoderInstance;
  writeInt8(v: number): EncoderInstance;
  writeVarLong(v: unknown): EncoderInstance;
  writeVarIntBytes(v: unknown): EncoderInstance;
  writeVarIntArray(v: unknown[]): EncoderInstance;
}
interface EncoderClass {
  new (): EncoderInstance;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: unknown): number;
  sizeOfVarIntBytes(v: unknown): number;
}

interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

function decodeRecord(decoder: Decoder, batchContext: BatchContext = {}) {
  const {
    firstOffset,
    firstTimestamp,
    magicByte,
    isControlBatch = false,
    timestampType,
    maxTimestamp,
  } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = decoder.readVarLong();
  const timestamp =
    timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp
      ? maxTimestamp
      : Long.fromValue(firstTimestamp).add(timestampDelta).toString();
  const offsetDelta = decoder.readVarInt();
  const offset = Long.fromValue(firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const list = decoder.readVarIntArray(decodeHeader);
  const pairs: Array<readonly [string, Buffer | null]> = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const header = list[i] as { key: string; value: Buffer | null };
    pairs[i] = [header.key, header.value];
  }
  // kafkajs itself never reads `headers`, so they are the ordered list itself (kafkajs's
  // grouped-by-key object is not built: it cost several objects per record for nothing).
  const headers = pairs;
  return {
    magicByte,
    attributes,
    timestamp,
    offset,
    key,
    value,
    headers,
    isControlRecord: isControlBatch,
    batchContext,
  };
}

function encodeRecord({
  offsetDelta = 0,
  timestampDelta = 0,
  key,
  value,
  headers = {},
}: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: unknown;
  value: unknown;
  headers?: Record<string, unknown> | WireHeaders;
}) {
  const list = Array.isArray(headers)
    ? (headers as WireHeaders)
    : Object.keys(headers).flatMap((name) => {
        const v = (headers as Record<string, unknown>)[name];
        return Array.isArray(v) ? v.map((item) => [name, item] as const) : [[name, v] as const];
      });
  let headersSize = Encoder.sizeOfVarInt(list.length);
  for (const [name, data] of list) {
    const keySize = Buffer.byteLength(name);
    headersSize += Encoder.sizeOfVarInt(keySize) + keySize;
    if (data === null || data === undefined) headersSize += Encoder.sizeOfVarInt(-1);
    else {
      const dataSize = Buffer.isBuffer(data) ? data.length : Buffer.byteLength(String(data));
      headersSize += Encoder.sizeOfVarInt(dataSize) + dataSize;
    }
  }
  const sizeOfBody =
    1 +
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    headersSize;
  return new Encoder()
    .writeVarInt(sizeOfBody)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarIntArray(
      list.map(([name, data]) => encodeHeader({ key: name, value: (data as Buffer | null) ?? null })),
    );
}

function replaceModule(file: string, exports: unknown): void {
  require(file); // load it so that the cache entry exists, then swap what it exports
  const cached = require.cache[file];
  if (cached === undefined) throw new Error(`cannot patch ${file}`);
  cached.exports = exports;
}

replaceModule(kafkajsFile('protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
replaceModule(kafkajsFile('protocol/recordBatch/record/v0/index.js'), encodeRecord);

const kafkajs = require('kafkajs') as typeof KafkaJs;

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);
const lz4 = require('lz4-napi') as { compressFrame(data: Uint8Array): Promise<Buffer> };
const snappy = require('kafkajs-snappy') as () => unknown;
const { CompressionCodecs, CompressionTypes } = kafkajs;
type Codec = ReturnType<(typeof CompressionCodecs)[KafkaJs.CompressionTypes.GZIP]>;
CompressionCodecs[CompressionTypes.Snappy] = snappy as () => Codec;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => lz4.compressFrame(encoder.buffer),
  // Decoded in JavaScript (lz4.ts explains why): the buffers stay visible to the garbage collector.
  decompress: async (buffer: Buffer) => decompressFrame(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: { buffer: Buffer }) => zstdCompress(encoder.buffer),
  decompress: (buffer: Buffer) => zstdDecompress(buffer),
});

/** The ordered headers of a consumed record (the patched decoder's list). */
export function wireHeaders(headers: unknown): WireHeaders {
  if (!Array.isArray(headers))
    throw new Error('record headers were not decoded by the patched kafkajs decoder');
  return headers as WireHeaders;
}

/**
 * A `headers` value for kafkajs's producer that the patched encoder writes in exactly this order.
 * String values are written as their UTF-8 bytes.
 */
export function producerHeaders(
  list: ReadonlyArray<readonly [string, Buffer | string | null]>,
): KafkaJs.IHeaders {
  return list as unknown as KafkaJs.IHeaders;
}

export { kafkajs };
export const { Kafka, logLevel } = kafkajs;
