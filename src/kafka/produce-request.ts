// Produce requests encoded in one pass, installed into kafkajs by kafkajs.ts. kafkajs builds a
// produce request from nested growable Encoders: each record is copied into the batch body, the
// body into the batch, the batch into its partition, the partition into its topic, the topic into
// the request, and the request twice more while it is framed, every growth step a zero-filled
// allocation and another copy (about nine copies of every byte; the largest cost after garbage
// collection in the issue 8 profiles). Here each record is encoded once, each batch is one
// buffer, the request is one buffer and its frame is one more: three copies. The bytes on the
// wire are the same (test/unit/kafka/produce-request.test.ts compares them with kafkajs's own).
import { createRequire } from 'node:module';
import type { ProvenanceTail } from '../replication/records.ts';
import { CHUNK_HEADROOM, hasHeadroom, type RecordChunk } from './record-chunk.ts';

const require = createRequire(import.meta.url);
/** CRC-32C (Castagnoli) in native code, as Kafka's record batches use it. */
export const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Uint8Array): number };

type Bytes = Buffer | string | null | undefined;
type HeaderPairs = ReadonlyArray<readonly [string, Bytes]>;

/** What kafkajs's connection and request framing read of an Encoder. */
export interface Encoded {
  readonly buf: Buffer;
  readonly buffer: Buffer;
  size(): number;
}

const encoded = (buf: Buffer): Encoded => ({ buf, buffer: buf, size: () => buf.length });

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

function writeVarInt(buffer: Buffer, offset: number, value: number): number {
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

function writeBytes(buffer: Buffer, offset: number, data: Bytes): number {
  if (data === null || data === undefined) return writeVarInt(buffer, offset, -1);
  const length = byteLength(data);
  offset = writeVarInt(buffer, offset, length);
  if (typeof data === 'string') buffer.write(data, offset, 'utf8');
  else buffer.set(data, offset); // TypedArray set: no argument checks, unlike Buffer's copy
  return offset + length;
}

const sizeOfBytes = (data: Bytes) => {
  if (data === null || data === undefined) return 1;
  const length = byteLength(data);
  return sizeOfVarInt(length) + length;
};

const asNumber = (value: unknown) => (typeof value === 'number' ? value : Number(String(value)));

/** kafkajs's message headers (an object, values possibly arrays) or our ordered pair list. */
function headerPairs(headers: Record<string, unknown> | HeaderPairs | undefined): HeaderPairs {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as HeaderPairs;
  const object = headers as Record<string, unknown>;
  return Object.keys(object).flatMap((name) => {
    const v = object[name];
    return (Array.isArray(v) ? v.map((item) => [name, item]) : [[name, v]]) as Array<[string, Bytes]>;
  });
}

interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: unknown;
  key: Bytes;
  value: Bytes;
  headers?: Record<string, unknown> | HeaderPairs;
}

/** Header bytes of a provenance tail around these offset digits. */
const tailSize = (tail: ProvenanceTail, offset: string) =>
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
function recordSize(
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
  if (end !== buf.length) throw new Error(`record encoder wrote ${end} of ${buf.length} bytes`);
  return encoded(buf);
}

interface Message {
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, unknown> | HeaderPairs;
  timestamp?: string | number | null;
}

interface PartitionData {
  partition: number;
  messages: readonly Message[];
  firstSequence?: number;
}

interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: ReadonlyArray<{ topic: string; partitions: readonly PartitionData[] }>;
}

const int64 = (value: unknown): bigint => BigInt(String(value));
const COMPRESSION_CODEC_MASK = 0x07;
const TRANSACTIONAL = 0x10;
/** Batch bytes before the records: base offset to record count (Kafka's DefaultRecordBatch). */
const BATCH_HEADER = 61;
/** Where the CRC-32C'd part starts (attributes), and where the CRC goes. */
const CRC_FROM = 21;
const CRC_AT = 17;

/**
 * A produce message that stands for a whole chunk of encoded records (record-chunk.ts): sent as
 * the only message of its partition, its body goes into the batch as it is.
 */
export const CHUNK = Symbol('kafka-mirror record chunk');
export interface ChunkMessage {
  readonly value: null;
  readonly [CHUNK]: RecordChunk;
}
export const chunkMessage = (chunk: RecordChunk): ChunkMessage => ({ value: null, [CHUNK]: chunk });

interface BatchRecords {
  first: number;
  max: number;
  count: number;
  recordsSize: number;
  writeRecords(target: Buffer, at: number): void;
}

const chunkRecords = (chunk: RecordChunk): BatchRecords => ({
  first: chunk.firstTimestamp,
  max: chunk.maxTimestamp,
  count: chunk.count,
  recordsSize: chunk.body.length,
  writeRecords: (target, at) => {
    // Already there when the request was built around the chunk's body (produceRequestV3).
    if (target.buffer !== chunk.body.buffer || target.byteOffset + at !== chunk.body.byteOffset)
      target.set(chunk.body, at);
  },
});

/** kafkajs's messages, each record written straight into the batch: sized in a first pass, written in a second. */
function messageRecords(messages: readonly Message[]): BatchRecords {
  const now = Date.now();
  let first = Infinity;
  let max = -Infinity;
  for (const m of messages) {
    if (m.timestamp === null || m.timestamp === undefined) continue;
    const ts = asNumber(m.timestamp);
    if (ts < first) first = ts;
    if (ts > max) max = ts;
  }
  if (first === Infinity) first = max = now;
  const count = messages.length;
  const delta = (m: Message) =>
    (m.timestamp === null || m.timestamp === undefined ? now : asNumber(m.timestamp)) - first;
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const m = messages[i] as Message;
    recordsSize += recordSize(m.key, m.value, headerPairs(m.headers), i, delta(m));
  }
  const writeRecords = (target: Buffer, from: number) => {
    let at = from;
    for (let i = 0; i < count; i++) {
      const m = messages[i] as Message;
      at = writeRecord(target, at, m.key, m.value, headerPairs(m.headers), i, delta(m));
    }
    if (at - from !== recordsSize)
      throw new Error(`batch encoder wrote ${at - from} of ${recordsSize} bytes`);
  };
  return { first, max, count, recordsSize, writeRecords };
}

/** One partition's record batch (magic 2), compressed when asked, ready to be written where the request wants it. */
interface PreparedBatch {
  readonly size: number;
  write(buf: Buffer, at: number): void;
}

async function recordBatch(
  data: PartitionData,
  args: Required<Pick<ProduceArgs, 'compression' | 'producerEpoch'>> & {
    producerId: bigint;
    transactional: boolean;
  },
): Promise<PreparedBatch> {
  const chunk = (data.messages[0] as ChunkMessage | undefined)?.[CHUNK];
  const { first, max, count, recordsSize, writeRecords } =
    chunk === undefined ? messageRecords(data.messages) : chunkRecords(chunk);
  let body: Buffer | undefined;
  const codec = args.compression & COMPRESSION_CODEC_MASK;
  if (codec !== 0) {
    const { lookupCodec } = require('kafkajs/src/protocol/message/compression') as {
      lookupCodec(type: number): { compress(encoder: { buffer: Buffer }): Promise<Buffer> } | null;
    };
    const compressor = lookupCodec(codec);
    if (compressor === null) throw new Error(`no codec for compression type ${codec}`);
    let plain = chunk?.body;
    if (plain === undefined) {
      plain = Buffer.allocUnsafe(recordsSize);
      writeRecords(plain, 0);
    }
    body = await compressor.compress({ buffer: plain });
  }
  const size = BATCH_HEADER + (body === undefined ? recordsSize : body.length);
  return {
    size,
    write(buf, at) {
      buf.writeBigInt64BE(0n, at); // base offset
      buf.writeInt32BE(size - 12, at + 8); // batch length: what follows this field
      buf.writeInt32BE(0, at + 12); // partition leader epoch
      buf.writeInt8(2, at + 16); // magic
      buf.writeInt16BE(codec | (args.transactional ? TRANSACTIONAL : 0), at + 21); // attributes
      buf.writeInt32BE(count - 1, at + 23); // last offset delta
      buf.writeBigInt64BE(BigInt(first), at + 27);
      buf.writeBigInt64BE(BigInt(max), at + 35);
      buf.writeBigInt64BE(args.producerId, at + 43);
      buf.writeInt16BE(args.producerEpoch, at + 51);
      buf.writeInt32BE(data.firstSequence ?? 0, at + 53);
      buf.writeInt32BE(count, at + 57);
      if (body === undefined) writeRecords(buf, at + BATCH_HEADER);
      else buf.set(body, at + BATCH_HEADER);
      buf.writeUInt32BE(crc32c(buf.subarray(at + CRC_FROM, at + size)) >>> 0, at + CRC_AT);
    },
  };
}

/**
 * Room left before a produce request's payload for its frame (size, api key and version,
 * correlation id, client id), so that framing writes into the same buffer instead of copying the
 * request into a new one. A client id longer than this leaves framing to copy.
 */
const FRAME_HEADROOM = 4 + 2 + 2 + 4 + 2 + 242;
/** Encoded payloads with bytes free before them in their buffer (how many): their frame goes there. */
const headroomOf = new WeakMap<Buffer, number>();

/**
 * The request of one uncompressed chunk, built in the chunk's own buffer: the request and batch
 * headers in the headroom before its body, so the records are not copied. A retry writes the same
 * bytes there again but for its correlation id; the earlier attempt's bytes have left the socket by
 * then unless it timed out with its write still queued, and then the broker gets the retry's
 * correlation id twice, for the same records: a duplicate write, as any retry after a timeout may
 * be. Undefined when the headers do not fit.
 */
function inChunk(
  data: PartitionData,
  topic: string,
  transactionalId: string | null,
  batch: PreparedBatch,
): { buf: Buffer; free: number } | undefined {
  const chunk = (data.messages[0] as ChunkMessage | undefined)?.[CHUNK];
  if (chunk === undefined || !hasHeadroom(chunk.body) || batch.size !== BATCH_HEADER + chunk.body.length)
    return undefined;
  const headerBytes =
    2 +
    (transactionalId == null ? 0 : Buffer.byteLength(transactionalId)) +
    2 +
    4 +
    4 +
    2 +
    Buffer.byteLength(topic) +
    4 +
    4 +
    4;
  const free = CHUNK_HEADROOM - headerBytes - BATCH_HEADER;
  if (free < 0) return undefined; // framing copies when the frame does not fit in `free`
  const { body } = chunk;
  const start = body.byteOffset - BATCH_HEADER - headerBytes;
  return { buf: Buffer.from(body.buffer, start, headerBytes + batch.size), free };
}

/**
 * kafkajs's produce request v3 (which v4 to v7 reuse): same fields, same bytes, one buffer. The
 * batches are written straight into it (one copy of each record's bytes from its chunk), with
 * room for the frame before it. Installed over kafkajs/src/protocol/requests/produce/v3/request.js.
 */
export function produceRequestV3({
  acks,
  timeout,
  transactionalId = null,
  producerId = -1,
  producerEpoch = 0,
  compression = 0,
  topicData,
}: ProduceArgs) {
  return {
    apiKey: 0,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async (): Promise<Encoded> => {
      const options = {
        compression,
        producerEpoch,
        producerId: int64(producerId),
        transactional: transactionalId !== null && transactionalId !== undefined,
      };
      const topics = [];
      let size = 2 + (transactionalId == null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
      for (const { topic, partitions } of topicData) {
        const batches = [];
        for (const data of partitions) batches.push(await recordBatch(data, options));
        size += 2 + Buffer.byteLength(topic) + 4;
        for (const batch of batches) size += 4 + 4 + batch.size;
        topics.push({ topic, partitions, batches });
      }
      const only = topics.length === 1 && topics[0]?.batches.length === 1 ? topics[0] : undefined;
      const built =
        only === undefined || (compression & COMPRESSION_CODEC_MASK) !== 0
          ? undefined
          : inChunk(
              only.partitions[0] as PartitionData,
              only.topic,
              transactionalId,
              only.batches[0] as PreparedBatch,
            );
      const buf = built?.buf ?? Buffer.allocUnsafe(FRAME_HEADROOM + size).subarray(FRAME_HEADROOM);
      let offset = writeString(buf, 0, transactionalId);
      offset = buf.writeInt16BE(acks, offset);
      offset = buf.writeInt32BE(timeout, offset);
      offset = buf.writeInt32BE(topics.length, offset);
      for (const { topic, partitions, batches } of topics) {
        offset = writeString(buf, offset, topic);
        offset = buf.writeInt32BE(batches.length, offset);
        batches.forEach((batch, i) => {
          offset = buf.writeInt32BE(partitions[i]?.partition ?? 0, offset);
          offset = buf.writeInt32BE(batch.size, offset);
          batch.write(buf, offset);
          offset += batch.size;
        });
      }
      if (offset !== size) throw new Error(`produce encoder wrote ${offset} of ${size} bytes`);
      headroomOf.set(buf, built?.free ?? FRAME_HEADROOM);
      return encoded(buf);
    },
  };
}

/** Kafka's nullable STRING: int16 length (-1 for null) and UTF-8 bytes. */
function writeString(buf: Buffer, offset: number, value: string | null | undefined): number {
  if (value === null || value === undefined) return buf.writeInt16BE(-1, offset);
  const length = Buffer.byteLength(value);
  offset = buf.writeInt16BE(length, offset);
  return offset + buf.write(value, offset, 'utf8');
}

/**
 * kafkajs's request framing (protocol/request.js) in one allocation: size, api key and version,
 * correlation id, client id, then the payload. Used for every request kafkajs sends.
 */
export async function frameRequest({
  correlationId,
  clientId,
  request,
}: {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode(): Promise<{ buffer: Buffer }> };
}): Promise<Encoded> {
  const payload = (await request.encode()).buffer;
  const idBytes = clientId === null || clientId === undefined ? 0 : Buffer.byteLength(clientId);
  const size = 2 + 2 + 4 + 2 + idBytes + payload.length;
  const header = 4 + size - payload.length;
  // The payload was encoded with room for this frame before it: the frame is written there.
  const inPlace = header <= (headroomOf.get(payload) ?? 0);
  const buf = inPlace
    ? Buffer.from(payload.buffer, payload.byteOffset - header, header + payload.length)
    : Buffer.allocUnsafe(4 + size);
  let offset = buf.writeInt32BE(size, 0);
  offset = buf.writeInt16BE(request.apiKey, offset);
  offset = buf.writeInt16BE(request.apiVersion, offset);
  offset = buf.writeInt32BE(correlationId, offset);
  offset = writeString(buf, offset, clientId);
  if (!inPlace) buf.set(payload, offset);
  return encoded(buf);
}

/** The parts of a kafkajs Broker that its `produce` uses (kafkajs/src/broker/index.js). */
interface BrokerInternals {
  lookupRequest(
    apiKey: number,
    definitions: unknown,
  ): (args: object) => {
    request: { encode(): Promise<Encoded> };
    response: unknown;
  };
  readonly connectionPool: { send(protocolRequest: object): Promise<unknown> };
  disconnect(): Promise<void>;
}

const PRODUCE_API_KEY = 0;

/**
 * What kafkajs's Broker.produce does, with two differences for a writer with several requests of a
 * partition in flight:
 * - `onHandedOver` is called once the request's bytes are built (compressed included) and about to
 *   be queued on the connection (or once the request failed before that). kafkajs's
 *   Connection.send builds a request and only then queues it for the socket, so a request built
 *   faster (smaller, or compressed on a free thread) overtook one sent before it, and the broker
 *   refused the overtaker with OUT_OF_ORDER_SEQUENCE_NUMBER (issue 19, defect 8): a writer sends
 *   the next request of a partition only after this call. From the end of the build to the queue
 *   push, Connection.send awaits nothing but the build's own promise, while the next request
 *   begins its way there only now: it is queued after this one.
 * - kafkajs does not log an error answer (Connection.send logs each at error, which the daemon's
 *   log makes a warning): the writer logs every answer itself, routine ones at debug.
 */
export async function sendProduce(
  broker: object,
  args: ProduceArgs,
  onHandedOver: () => void,
): Promise<unknown> {
  const kafkajsBroker = broker as BrokerInternals;
  const { requests } = require('kafkajs/src/protocol/requests') as { requests: { Produce: unknown } };
  let handed = false;
  const handOver = () => {
    if (!handed) onHandedOver();
    handed = true;
  };
  try {
    const protocolRequest = kafkajsBroker.lookupRequest(PRODUCE_API_KEY, requests.Produce)(args);
    const { request } = protocolRequest;
    const encode = request.encode.bind(request);
    request.encode = async () => {
      try {
        return await encode();
      } finally {
        handOver();
      }
    };
    return await kafkajsBroker.connectionPool.send({ ...protocolRequest, logResponseError: false });
  } catch (error) {
    // As Broker's sendRequest: a closed connection is dropped so that the next request reconnects.
    if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError')
      await kafkajsBroker.disconnect();
    throw error;
  } finally {
    handOver();
  }
}
