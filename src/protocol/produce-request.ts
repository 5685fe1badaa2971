// Produce requests encoded in one pass, installed into kafkajs by kafka/kafkajs/. kafkajs builds a
// produce request from nested growable Encoders: each record is copied into the batch body, the
// body into the batch, the batch into its partition, the partition into its topic, the topic into
// the request, and the request twice more while it is framed, every growth step a zero-filled
// allocation and another copy (about nine copies of every byte; the largest cost after garbage
// collection in the issue 8 profiles). Here each record is encoded once, each batch is one
// buffer, the request is one buffer and its frame is one more: three copies. The bytes on the
// wire are the same (test/unit/protocol/produce-request.test.ts compares them with kafkajs's own).
import {
  type Bytes,
  type Encoded,
  type HeaderPairs,
  asNumber,
  crc32c,
  encoded,
  headerPairs,
  recordSize,
  writeRecord,
} from './record-format.ts';
import { InternalInvariantError } from '../errors/index.ts';
import { CHUNK_HEADROOM, hasHeadroom, type RecordChunk } from './record-chunk.ts';

/** A compression codec as kafkajs registers them (protocol/message/compression): by attribute bits. */
export type CodecLookup = (type: number) => { compress(encoder: { buffer: Buffer }): Promise<Buffer> } | null;
const noCodecs: CodecLookup = () => null;

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

export interface ProduceArgs {
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
      throw new InternalInvariantError(`batch encoder wrote ${at - from} of ${recordsSize} bytes`);
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
  codecs: CodecLookup,
): Promise<PreparedBatch> {
  const chunk = (data.messages[0] as ChunkMessage | undefined)?.[CHUNK];
  const { first, max, count, recordsSize, writeRecords } =
    chunk === undefined ? messageRecords(data.messages) : chunkRecords(chunk);
  let body: Buffer | undefined;
  const codec = args.compression & COMPRESSION_CODEC_MASK;
  if (codec !== 0) {
    const compressor = codecs(codec);
    if (compressor === null) throw new InternalInvariantError(`no codec for compression type ${codec}`);
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
export function produceRequestV3(
  {
    acks,
    timeout,
    transactionalId = null,
    producerId = -1,
    producerEpoch = 0,
    compression = 0,
    topicData,
  }: ProduceArgs,
  codecs: CodecLookup = noCodecs,
) {
  const args = { acks, timeout, transactionalId, producerId, producerEpoch, compression, topicData };
  return {
    apiKey: 0,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: (): Promise<Encoded> => encodeProduceRequest(args, codecs),
  };
}

/** ProduceArgs with kafkajs's defaults filled in. */
type ProduceFields = Required<ProduceArgs>;

/** One topic of the request, its partitions' batches prepared. */
interface PreparedTopic {
  readonly topic: string;
  readonly partitions: readonly PartitionData[];
  readonly batches: readonly PreparedBatch[];
}

/** The request's bytes: its batches prepared, then everything written into one buffer. */
async function encodeProduceRequest(args: ProduceFields, codecs: CodecLookup): Promise<Encoded> {
  const { topics, size } = await prepareTopics(args, codecs);
  const built = builtInChunk(topics, args);
  const buf = built?.buf ?? Buffer.allocUnsafe(FRAME_HEADROOM + size).subarray(FRAME_HEADROOM);
  const offset = writeProduceRequest(buf, args, topics);
  if (offset !== size) throw new InternalInvariantError(`produce encoder wrote ${offset} of ${size} bytes`);
  headroomOf.set(buf, built?.free ?? FRAME_HEADROOM);
  return encoded(buf);
}

/** Every partition's batch, in request order, and the size of the whole request. */
async function prepareTopics(
  { transactionalId, producerId, producerEpoch, compression, topicData }: ProduceFields,
  codecs: CodecLookup,
): Promise<{ topics: PreparedTopic[]; size: number }> {
  const options = {
    compression,
    producerEpoch,
    producerId: int64(producerId),
    transactional: transactionalId !== null && transactionalId !== undefined,
  };
  const topics: PreparedTopic[] = [];
  let size = 2 + (transactionalId == null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  for (const { topic, partitions } of topicData) {
    const batches = [];
    for (const data of partitions) batches.push(await recordBatch(data, options, codecs));
    size += 2 + Buffer.byteLength(topic) + 4;
    for (const batch of batches) size += 4 + 4 + batch.size;
    topics.push({ topic, partitions, batches });
  }
  return { topics, size };
}

/** The request built in its chunk's buffer (inChunk), when it is one uncompressed batch of one topic. */
function builtInChunk(
  topics: readonly PreparedTopic[],
  { transactionalId, compression }: ProduceFields,
): { buf: Buffer; free: number } | undefined {
  const only = topics.length === 1 && topics[0]?.batches.length === 1 ? topics[0] : undefined;
  return only === undefined || (compression & COMPRESSION_CODEC_MASK) !== 0
    ? undefined
    : inChunk(
        only.partitions[0] as PartitionData,
        only.topic,
        transactionalId,
        only.batches[0] as PreparedBatch,
      );
}

/** Writes the request's fields and batches from the start of `buf`; returns the offset after them. */
function writeProduceRequest(
  buf: Buffer,
  { transactionalId, acks, timeout }: ProduceFields,
  topics: readonly PreparedTopic[],
): number {
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
  return offset;
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
