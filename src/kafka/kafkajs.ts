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
// 3. Speed (issue 8 profiles). kafkajs groups a send's messages by partition with an array spread
//    per message, quadratic in the messages of one partition (a 1,000-record produce copied half a
//    million array slots), computes each batch's CRC-32C in JavaScript a byte at a time (5 ms
//    per MiB), and parses a Long from every fetched record's offset to filter a batch. All three
//    are replaced: a linear grouping with the same result, @node-rs/crc32's CRC-32C (N-API,
//    prebuilt, hardware instructions, checked equal in a unit test), number comparisons. Produce
//    requests and the framing of every request are encoded in one pass (produce-request.ts).
// 4. Memory (issue 3). A fetch is limited in wire bytes, but held decoded. The wire size of each
//    partition's records in a fetch response is recorded, and the consumer group's fetch limits
//    can be set per group while it runs, so that the reader sizes its fetches by what they
//    decode to (fetch-sizer.ts).
import { createRequire } from 'node:module';
import net, { type Socket } from 'node:net';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type * as KafkaJs from 'kafkajs';
import { decompressFrame } from './lz4.ts';
import { crc32c, encodeRecord, frameRequest, produceRequestV3 } from './produce-request.ts';

const require = createRequire(import.meta.url);

/** Ordered `[key, value]` header pairs of a record, exactly as on the wire. */
export type WireHeaders = ReadonlyArray<readonly [string, Buffer | null]>;

const kafkajsFile = (relative: string) => require.resolve(`kafkajs/src/${relative}`);

if (require.cache[kafkajsFile('protocol/recordBatch/v0/decoder.js')] !== undefined) {
  throw new Error('kafkajs was loaded before src/kafka/kafkajs.ts: import the client only from there');
}

interface Decoder {
  buffer: Buffer;
  offset: number;
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

interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

// The hot path of the whole daemon runs through these two functions, once per record. kafkajs's
// versions allocate several Long objects (decode) and one zero-filled 512-byte Encoder per record
// and per header (encode); at 100,000 records per second that garbage dominated CPU and memory.
// These compute offsets and timestamps in plain numbers while they are exact (below 2^53; Kafka
// offsets and epoch-millisecond timestamps are far below) and fall back to kafkajs's Long
// arithmetic beyond, and encode each record into one exactly sized slice of Node's buffer pool.

const EXACT = Number.MAX_SAFE_INTEGER;
/** Batch-level numbers parsed once per batch, not once per record. */
const batchBase = new WeakMap<BatchContext, { offset: number; timestamp: number }>();
const NO_HEADERS: ReadonlyArray<readonly [string, Buffer | null]> = Object.freeze([]);

/** A zigzag varlong as a number when it is exact, else undefined (the decoder is left untouched). */
function readVarLongNumber(decoder: Decoder): number | undefined {
  const { buffer } = decoder;
  let offset = decoder.offset;
  let result = 0;
  let scale = 1;
  let byte: number;
  do {
    byte = buffer[offset++] as number;
    result += (byte & 0x7f) * scale;
    scale *= 128;
    if (scale > 2 ** 49 && byte >= 0x80) return undefined; // more than 7 bytes: leave it to Long
  } while (byte >= 0x80);
  decoder.offset = offset;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

function decodeRecord(decoder: Decoder, batchContext: BatchContext = {}) {
  const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  let base = batchBase.get(batchContext);
  if (base === undefined) {
    base = { offset: Number(batchContext.firstOffset), timestamp: Number(batchContext.firstTimestamp) };
    batchBase.set(batchContext, base);
  }
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLongNumber(decoder);
  let timestamp: string;
  if (timestampType === TimestampTypes.LOG_APPEND_TIME && maxTimestamp) {
    if (timestampDelta === undefined) decoder.readVarLong();
    timestamp = maxTimestamp;
  } else if (timestampDelta !== undefined && Math.abs(base.timestamp) + Math.abs(timestampDelta) <= EXACT) {
    timestamp = String(base.timestamp + timestampDelta);
  } else {
    const delta = timestampDelta ?? decoder.readVarLong();
    timestamp = Long.fromValue(batchContext.firstTimestamp).add(delta).toString();
  }
  const offsetDelta = decoder.readVarInt();
  const offset =
    base.offset + offsetDelta <= EXACT
      ? String(base.offset + offsetDelta)
      : Long.fromValue(batchContext.firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const count = decoder.readVarInt();
  let headers = NO_HEADERS;
  if (count > 0) {
    // An ordered list, duplicates kept (kafkajs's own decoder regroups headers by key).
    const pairs: Array<readonly [string, Buffer | null]> = new Array(count);
    for (let i = 0; i < count; i++) {
      const header = decodeHeader(decoder);
      pairs[i] = [header.key, header.value];
    }
    headers = pairs;
  }
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

function replaceModule(file: string, exports: unknown): void {
  require(file); // load it so that the cache entry exists, then swap what it exports
  const cached = require.cache[file];
  if (cached === undefined) throw new Error(`cannot patch ${file}`);
  cached.exports = exports;
}

replaceModule(kafkajsFile('protocol/recordBatch/record/v0/decoder.js'), decodeRecord);
replaceModule(kafkajsFile('protocol/recordBatch/record/v0/index.js'), encodeRecord);

/** kafkajs's groupMessagesPerPartition, linear: partition -> its messages in send order. */
function groupMessagesPerPartition<M>(init: {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}): Record<number, M[]> {
  const { topic, partitionMetadata, messages, partitioner } = init;
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

replaceModule(kafkajsFile('producer/groupMessagesPerPartition.js'), groupMessagesPerPartition);

type BatchMessage = { offset: string; isControlRecord?: boolean };
interface BatchData {
  messages: BatchMessage[];
  abortedTransactions?: unknown[];
}
const batchFile = kafkajsFile('consumer/batch.js');
const KafkaBatch = require(batchFile) as new (
  topic: string,
  fetchedOffset: string,
  data: BatchData,
) => object;
const filterAbortedMessages = require(kafkajsFile('consumer/filterAbortedMessages.js')) as (args: {
  messages: BatchMessage[];
  abortedTransactions?: unknown[];
}) => BatchMessage[];

/**
 * kafkajs's Batch with its offset filter in plain numbers: it parsed a Long from every record's
 * offset string to drop records before the fetched offset (a compressed batch starts before it).
 * Offsets beyond 2^53 go through kafkajs's own code.
 */
class Batch extends KafkaBatch {
  constructor(topic: string, fetchedOffset: string, data: BatchData) {
    const from = Number(fetchedOffset);
    if (!(from <= EXACT)) {
      super(topic, fetchedOffset, data);
      return;
    }
    super(topic, fetchedOffset, { ...data, messages: [] });
    const within = data.messages.filter((m) => Number(m.offset) >= from);
    Object.assign(this, {
      rawMessages: data.messages,
      messagesWithinOffset: within,
      // As kafkajs: no records of aborted transactions, no control records.
      messages: filterAbortedMessages({
        messages: within,
        abortedTransactions: data.abortedTransactions,
      }).filter((m) => !m.isControlRecord),
    });
  }
}
replaceModule(batchFile, Batch);
replaceModule(kafkajsFile('protocol/recordBatch/crc32C/index.js'), (buffer: Buffer) => crc32c(buffer) >>> 0);
replaceModule(kafkajsFile('protocol/requests/produce/v3/request.js'), produceRequestV3);
replaceModule(kafkajsFile('protocol/request.js'), frameRequest);

/** What a partition's record set in a fetch response held: its complete record batches. */
export interface FetchedRecordSet {
  /** Wire bytes of the complete batches (a trailing partial batch, cut by the size limit, is not counted). */
  readonly wireBytes: number;
  /** The offset after the last complete batch (its base offset + last offset delta + 1), or undefined if none. */
  readonly nextOffset: number | undefined;
  /** Compression codec (attributes & 7) of the first data batch (control batches are never compressed), or undefined if none. */
  readonly codec: number | undefined;
}

const fetchedSets = new WeakMap<object, FetchedRecordSet>();

/**
 * Walks the record batch headers of a record set (v2 batches: base offset int64, batch length
 * int32, then 11 bytes to the last offset delta int32). Compaction can empty a batch or remove
 * its last records, but a batch keeps its offset range, so this, not the decoded records, says
 * where the next fetch starts.
 */
function recordSetOf(buffer: Buffer, start: number): FetchedRecordSet {
  const size = buffer.length - start >= 4 ? buffer.readInt32BE(start) : 0;
  // Never past the buffer: a record set that claims more than arrived is what kafkajs skips too.
  const end = Math.min(buffer.length, start + 4 + Math.max(0, size));
  let at = start + 4;
  let wireBytes = 0;
  let nextOffset: number | undefined;
  let codec: number | undefined;
  while (end - at >= 27) {
    const length = buffer.readInt32BE(at + 8);
    if (12 + length > end - at) break; // partial: the response's size limit cut it
    const magic = buffer.readInt8(at + 16);
    if (magic === 2) {
      nextOffset = Number(buffer.readBigInt64BE(at)) + buffer.readInt32BE(at + 23) + 1;
      const attributes = buffer.readInt16BE(at + 21);
      if ((attributes & 0x20) === 0) codec ??= attributes & 0x07;
    }
    wireBytes += 12 + length;
    at += 12 + length;
  }
  return { wireBytes, nextOffset, codec };
}

const decodeMessagesFile = kafkajsFile('protocol/requests/fetch/v4/decodeMessages.js');
const decodeMessages = require(decodeMessagesFile) as (decoder: Decoder) => Promise<unknown[]>;
replaceModule(decodeMessagesFile, async (decoder: Decoder) => {
  const set = recordSetOf(decoder.buffer, decoder.offset);
  const records = await decodeMessages(decoder);
  fetchedSets.set(records, set);
  return records;
});

/** The record set a fetched partition's decoded records came from (the array kafkajs decoded them into). */
export function fetchedRecordSet(records: object): FetchedRecordSet | undefined {
  return fetchedSets.get(records);
}

/**
 * The record set of one fetched partition batch: the wire size of its complete record batches
 * (compressed, as the broker sent them) and their codec; undefined if kafkajs did not decode it
 * through the recorded path.
 */
export function fetchedSet(batch: KafkaJs.Batch): FetchedRecordSet | undefined {
  const raw = (batch as unknown as { rawMessages?: object }).rawMessages;
  return raw === undefined ? undefined : fetchedSets.get(raw);
}

export interface GroupFetchLimits {
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
}
const groupFetchLimits = new Map<string, GroupFetchLimits>();
const CONFIGURED = Symbol('configured fetch limits');
type LimitedGroup = { groupId: string; [CONFIGURED]?: { maxBytes?: number; maxBytesPerPartition?: number } };
const ConsumerGroup = require(kafkajsFile('consumer/consumerGroup.js')) as { prototype: object };
// kafkajs reads these two fields at every fetch; they now answer the group's current limits.
for (const field of ['maxBytes', 'maxBytesPerPartition'] as const) {
  Object.defineProperty(ConsumerGroup.prototype, field, {
    get(this: LimitedGroup) {
      return groupFetchLimits.get(this.groupId)?.[field] ?? this[CONFIGURED]?.[field];
    },
    set(this: LimitedGroup, value: number) {
      (this[CONFIGURED] ??= {})[field] = value;
    },
  });
}

/** Sets the fetch limits of every kafkajs consumer of `groupId` in this process, from its next fetch on (undefined: back to its options). */
export function setGroupFetchLimits(groupId: string, limits: GroupFetchLimits | undefined): void {
  if (limits === undefined) groupFetchLimits.delete(groupId);
  else groupFetchLimits.set(groupId, limits);
}

/** A response being read off a connection: its 4-byte size, then its bytes. */
interface Assembly {
  readonly size: Buffer;
  sizeRead: number;
  response: Buffer | undefined;
  read: number;
}
const ASSEMBLY = Symbol('response being read');
interface ConnectionState {
  [ASSEMBLY]?: Assembly;
  authHandlers?: { onSuccess(data: Buffer): void } | null;
  authExpectResponse?: boolean;
  requestQueue: { fulfillRequest(response: { size: number; correlationId: number; payload: Buffer }): void };
}
const Connection = require(kafkajsFile('network/connection.js')) as { prototype: object };
/**
 * kafkajs's Connection.processData, reading each response into one buffer of its size as its bytes
 * arrive. kafkajs kept every socket chunk until the response was complete, then concatenated them
 * (a second copy of every fetched byte, in a new buffer per response); this copies each chunk
 * once and keeps none, so a socket may read into a buffer it reuses (readIntoOneBuffer).
 */
Object.defineProperty(Connection.prototype, 'processData', {
  value: function processData(this: ConnectionState, data: Buffer): void {
    // kafkajs's conditions (authHandlers is null, not undefined, outside authentication)
    if (this.authHandlers && !this.authExpectResponse) {
      this.authHandlers.onSuccess(Buffer.from(data));
      return;
    }
    const state = (this[ASSEMBLY] ??= { size: Buffer.alloc(4), sizeRead: 0, response: undefined, read: 0 });
    let at = 0;
    while (at < data.length) {
      if (state.response === undefined) {
        const n = Math.min(4 - state.sizeRead, data.length - at);
        state.size.set(data.subarray(at, at + n), state.sizeRead);
        state.sizeRead += n;
        at += n;
        if (state.sizeRead < 4) return;
        state.response = Buffer.allocUnsafe(state.size.readInt32BE(0));
        state.read = 0;
      }
      const n = Math.min(state.response.length - state.read, data.length - at);
      state.response.set(data.subarray(at, at + n), state.read);
      state.read += n;
      at += n;
      if (state.read < state.response.length) return;
      const response = state.response;
      state.response = undefined;
      state.sizeRead = 0;
      if (this.authHandlers) {
        // A response during authentication goes to its handler, size included (as kafkajs).
        this.authHandlers.onSuccess(Buffer.concat([state.size, response]));
        continue;
      }
      this.requestQueue.fulfillRequest({
        size: response.length,
        correlationId: response.readInt32BE(0),
        payload: response.subarray(4),
      });
    }
  },
  writable: true,
  configurable: true,
});

const kafkajs = require('kafkajs') as typeof KafkaJs;

/**
 * kafkajs's socket factory, with plaintext sockets reading into one 64 KiB buffer of their own
 * instead of a new buffer per read (processData copies what it needs at once). TLS sockets are
 * kafkajs's.
 */
export const readIntoOneBuffer: KafkaJs.ISocketFactory = ({ host, port, ssl, onConnect }) => {
  if (ssl) return defaultSocketFactory()({ host, port, ssl, onConnect });
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const socket: Socket = net.connect(
    {
      host,
      port,
      onread: {
        buffer,
        callback: (read: number, into: Uint8Array) => socket.emit('data', into.subarray(0, read)) || true,
      },
    },
    onConnect,
  );
  socket.setKeepAlive(true, 60_000); // as kafkajs
  return socket;
};
const defaultSocketFactory = require(kafkajsFile('network/socketFactory.js')) as () => KafkaJs.ISocketFactory;

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
