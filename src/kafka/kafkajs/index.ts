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
//    snappy: kafkajs-snappy (pure JS) to compress and snappy.ts to decompress; lz4: our own
//    compressor and decoder (lz4.ts), Kafka's LZ4 frame format; zstd: Node 24's built-in zlib.
//    Decompression stays within each fetch's decode budget (decode-budget.ts).
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
import { CorruptRecordBatchError, ResponseFramingError } from '../../errors.ts';
import { abortedBatches } from '../../protocol/aborted-transactions.ts';
import { decodeBudget, decodedBatches, withDecodeBudget } from '../decode-budget.ts';
import { FetchOrder } from '../fetch-order.ts';
// kafkajs's request queue without its negative timer after every response (the file says why).
import './request-queue.ts';
import { compressFrame, decompressFrame } from '../../protocol/lz4.ts';
import {
  frameRequest,
  produceRequestV3,
  type CodecLookup,
  type ProduceArgs,
} from '../../protocol/produce-request.ts';
import { crc32c, encodeRecord } from '../../protocol/record-format.ts';
import { readRecordSet, type InvalidBatch, type RecordBatchHeader } from '../../protocol/record-batches.ts';
import { ResponseReader } from '../../protocol/response-reader.ts';
import { decompressSnappy } from '../../protocol/snappy.ts';

const require = createRequire(import.meta.url);

/** Ordered `[key, value]` header pairs of a record, exactly as on the wire. */
export type WireHeaders = ReadonlyArray<readonly [string, Buffer | null]>;

const kafkajsFile = (relative: string) => require.resolve(`kafkajs/src/${relative}`);

if (require.cache[kafkajsFile('protocol/recordBatch/v0/decoder.js')] !== undefined) {
  throw new Error('kafkajs was loaded before src/kafka/kafkajs/index.ts: import the client only from there');
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

/** What a partition's record set in a fetch response held: its complete record batches. */
export interface FetchedRecordSet {
  /** Wire bytes of the complete batches (a trailing partial batch, cut by the size limit, is not counted). */
  readonly wireBytes: number;
  /** The offset after the last complete batch (its base offset + last offset delta + 1), or undefined if none. */
  readonly nextOffset: number | undefined;
  /** Compression codec (attributes & 7) of the first data batch (control batches are never compressed), or undefined if none. */
  readonly codec: number | undefined;
  /** The complete v2 batches, in offset order (before the first invalid one). */
  readonly batches: readonly RecordBatchHeader[];
  /** The first batch that failed its check: neither it nor anything after it was decoded. */
  readonly invalid: InvalidBatch | undefined;
}

const fetchedSets = new WeakMap<object, FetchedRecordSet>();

/**
 * The record set at `start` (its int32 size, then its batches), read from the batch headers and
 * checked (record-batches.ts). Compaction can empty a batch or remove its last records, but a
 * batch keeps its offset range, so this, not the decoded records, says where the next fetch starts.
 */
function recordSetOf(buffer: Buffer, start: number): FetchedRecordSet & { end: number } {
  const size = buffer.length - start >= 4 ? buffer.readInt32BE(start) : 0;
  // Never past the buffer: a record set that claims more than arrived is what kafkajs skips too.
  const end = Math.min(buffer.length, start + 4 + Math.max(0, size));
  const set = readRecordSet(buffer, start + 4, end);
  const last = set.batches.at(-1);
  return {
    wireBytes: set.wireBytes,
    nextOffset: last === undefined ? undefined : Number(last.lastOffset) + 1,
    codec: set.batches.find((b) => !b.control)?.codec,
    batches: set.batches,
    invalid: set.invalid,
    end,
  };
}

const KafkaDecoder = require(kafkajsFile('protocol/decoder.js')) as new (buffer: Buffer) => Decoder;
const decodeMessagesFile = kafkajsFile('protocol/requests/fetch/v4/decodeMessages.js');
const decodeMessages = require(decodeMessagesFile) as (decoder: Decoder) => Promise<unknown[]>;
replaceModule(decodeMessagesFile, async (decoder: Decoder) => {
  const start = decoder.offset;
  const { end, ...set } = recordSetOf(decoder.buffer, start);
  const budget = decodeBudget();
  const refused = budget?.refused ?? 0;
  let records: unknown[];
  if (set.invalid === undefined) records = await decodeMessages(decoder);
  else {
    // Only the batches before the invalid one are decoded: its bytes cannot be trusted, and a
    // consumer must not skip it for a later one (Kafka's consumer raises an error there).
    const valid = decoder.buffer.subarray(start + 4, set.invalid.position);
    const size = Buffer.alloc(4);
    size.writeInt32BE(valid.length);
    records = await decodeMessages(new KafkaDecoder(Buffer.concat([size, valid])));
    decoder.offset = end;
  }
  fetchedSets.set(records, budget !== undefined && budget.refused > refused ? cutShort(set, records) : set);
  return records;
});

/** The record set of a partition the decode budget cut short: the batches whose records were decoded (decode-budget.ts). */
function cutShort(set: FetchedRecordSet, records: unknown[]): FetchedRecordSet {
  const last = (records.at(-1) as { offset?: string } | undefined)?.offset;
  const batches = decodedBatches(set.batches, last === undefined ? undefined : BigInt(last));
  const lastBatch = batches.at(-1);
  return {
    wireBytes: batches.reduce((n, b) => n + b.size, 0),
    nextOffset: lastBatch === undefined ? undefined : Number(lastBatch.lastOffset) + 1,
    codec: batches.find((b) => !b.control)?.codec,
    batches,
    // An invalid batch lies past the cut: the fetch that gets there finds it.
    invalid: undefined,
  };
}

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

type BatchMessage = {
  offset: string;
  isControlRecord?: boolean;
  /** The record's batch (decodeRecord's batchContext); legacy message sets have none. */
  batchContext?: { firstOffset?: string };
};
/** An aborted transaction as kafkajs decodes it from a fetch response. */
interface WireAbortedTransaction {
  producerId: string;
  firstOffset: string;
}
interface BatchData {
  messages: BatchMessage[];
  abortedTransactions?: WireAbortedTransaction[];
}
const batchFile = kafkajsFile('consumer/batch.js');
const KafkaBatch = require(batchFile) as new (
  topic: string,
  fetchedOffset: string,
  data: BatchData,
) => {
  topic: string;
  partition: number;
  fetchedOffset: string;
  isEmpty(): boolean;
  lastOffset(): string;
};

/**
 * A fetched partition's decoded records as Kafka's read_committed consumer reads them
 * (aborted-transactions.ts): the data records it returns, and those of aborted transactions it
 * skips. Control records are in neither. `records` is the array the fetch decoded them into (its
 * record set says where each batch ends).
 */
export function splitCommitted<M extends BatchMessage>(
  records: M[],
  abortedTransactions: readonly WireAbortedTransaction[] | null | undefined,
): { committed: M[]; aborted: M[] } {
  const data = (m: M) => m.isControlRecord !== true;
  if (abortedTransactions === null || abortedTransactions === undefined || abortedTransactions.length === 0)
    return { committed: records.filter(data), aborted: [] };
  const set = fetchedSets.get(records);
  if (set === undefined)
    throw new Error('records of a fetch with aborted transactions were not decoded through kafkajs.ts');
  const transactions = abortedTransactions.map((a) => ({
    producerId: BigInt(a.producerId),
    firstOffset: BigInt(a.firstOffset),
  }));
  // Each record names its batch by the batch's base offset (kafkajs's batchContext.firstOffset).
  const skipped = new Set(abortedBatches(set.batches, transactions).map((b) => String(b.baseOffset)));
  if (skipped.size === 0) return { committed: records.filter(data), aborted: [] };
  const committed: M[] = [];
  const aborted: M[] = [];
  for (const m of records) {
    if (!data(m)) continue;
    const base = m.batchContext?.firstOffset;
    (base !== undefined && skipped.has(base) ? aborted : committed).push(m);
  }
  return { committed, aborted };
}

const abortedOf = new WeakMap<object, BatchMessage[]>();

/**
 * kafkajs's Batch with three things of Kafka's consumer that kafkajs lacks: aborted transactions
 * filtered per record batch (splitCommitted); a fetch that moves the position without a record to
 * copy (markers, aborted records, emptied batches) handed on to eachBatch runners (isEmpty,
 * lastOffset below); and a batch that failed its check
 * (record-batches.ts) never passed over: its records and those after it are not decoded, the
 * batch is handed on even when nothing before the bad batch remains (so the reader learns of it,
 * corruptBatchOf), and its last offset stops before the bad batch, so no position moves past it.
 * Its offset filter is in plain numbers while they are exact (kafkajs parsed a Long from every
 * record's offset).
 */
class Batch extends KafkaBatch {
  constructor(topic: string, fetchedOffset: string, data: BatchData) {
    super(topic, fetchedOffset, { ...data, messages: [], abortedTransactions: [] });
    const from = Number(fetchedOffset);
    let atOrAfter: (m: BatchMessage) => boolean;
    if (from <= EXACT) atOrAfter = (m) => Number(m.offset) >= from;
    else {
      const exact = BigInt(fetchedOffset);
      atOrAfter = (m) => BigInt(m.offset) >= exact;
    }
    const { committed, aborted } = splitCommitted(data.messages, data.abortedTransactions);
    Object.assign(this, {
      rawMessages: data.messages,
      messagesWithinOffset: data.messages.filter(atOrAfter),
      messages: committed.filter(atOrAfter),
    });
    if (aborted.length > 0) abortedOf.set(this, aborted.filter(atOrAfter));
  }

  /**
   * For an eachBatch runner, not empty either while its record set ends past the fetched offset
   * with nothing to return (transaction markers, aborted records, batches emptied by compaction):
   * kafkajs's runner hands only non-empty batches to eachBatch, so the reader could not move past
   * them. As Kafka's CompletedFetch.nextFetchedRecord and FetchCollector.fetchRecords, whose
   * position passes every fetched batch, also when nothing is returned. An eachMessage runner
   * keeps kafkajs's own path for them (it resolves lastOffset without handing anything on).
   */
  override isEmpty(): boolean {
    return (
      super.isEmpty() &&
      this.#invalid() === undefined &&
      !(toEachBatch.has(this) && this.#end() !== undefined)
    );
  }

  /** The offset before where the record set ends (its last complete batch, emptied ones included), or before a corrupt batch. */
  override lastOffset(): string {
    const invalid = this.#invalid();
    if (invalid === undefined) {
      const end = this.#end();
      return end === undefined ? super.lastOffset() : String(end - 1);
    }
    const fetched = BigInt(this.fetchedOffset);
    return String((invalid.baseOffset > fetched ? invalid.baseOffset : fetched) - 1n);
  }

  #invalid(): InvalidBatch | undefined {
    return this.#set()?.invalid;
  }

  /** Where the record set ends when that is past the fetched offset. */
  #end(): number | undefined {
    const next = this.#set()?.nextOffset;
    return next !== undefined && next > Number(this.fetchedOffset) ? next : undefined;
  }

  #set(): FetchedRecordSet | undefined {
    const raw = (this as unknown as { rawMessages?: object }).rawMessages;
    return raw === undefined ? undefined : fetchedSets.get(raw);
  }
}
replaceModule(batchFile, Batch);

/** Batches handed to a runner with eachBatch (Batch.isEmpty). */
const toEachBatch = new WeakSet<object>();
const Runner = require(kafkajsFile('consumer/runner.js')) as {
  prototype: {
    eachBatch?: unknown;
    handleBatch(this: { eachBatch?: unknown }, batch: object): Promise<void>;
  };
};
const handleBatch = Runner.prototype.handleBatch;
Runner.prototype.handleBatch = function (batch) {
  if (this.eachBatch !== undefined) toEachBatch.add(batch);
  return handleBatch.call(this, batch);
};

/** The records of aborted transactions a fetched batch skipped (at or after its fetched offset), in offset order. */
export function abortedRecordsOf(batch: KafkaJs.Batch): readonly unknown[] {
  return abortedOf.get(batch) ?? [];
}

/** The batch of a fetched partition that failed its check (record-batches.ts), as the error that halts the partition. */
export function corruptBatchOf(batch: KafkaJs.Batch): CorruptRecordBatchError | undefined {
  const invalid = fetchedSet(batch)?.invalid;
  return invalid === undefined
    ? undefined
    : new CorruptRecordBatchError(batch.topic, batch.partition, Number(invalid.baseOffset), invalid.reason);
}

replaceModule(kafkajsFile('protocol/recordBatch/crc32C/index.js'), (buffer: Buffer) => crc32c(buffer) >>> 0);
// Compressed with the codecs registered in kafkajs (its own gzip, and snappy, lz4 and zstd below).
const { lookupCodec } = require('kafkajs/src/protocol/message/compression') as { lookupCodec: CodecLookup };
replaceModule(kafkajsFile('protocol/requests/produce/v3/request.js'), (args: ProduceArgs) =>
  produceRequestV3(args, lookupCodec),
);
replaceModule(kafkajsFile('protocol/request.js'), frameRequest);

export interface GroupFetchLimits {
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  /** Bytes the compressed batches of one fetch may decompress into (decode-budget.ts); unset: no bound. */
  readonly decodedBytes?: number;
}
const groupFetchLimits = new Map<string, GroupFetchLimits>();
const CONFIGURED = Symbol('configured fetch limits');
type LimitedGroup = { groupId: string; [CONFIGURED]?: { maxBytes?: number; maxBytesPerPartition?: number } };
const ConsumerGroup = require(kafkajsFile('consumer/consumerGroup.js')) as {
  prototype: { fetch(this: LimitedGroup, nodeId: number): Promise<unknown[]> };
};
const groupFetch = ConsumerGroup.prototype.fetch;
// Each fetch of a group decodes within the group's decode budget.
ConsumerGroup.prototype.fetch = function fetch(this: LimitedGroup, nodeId: number) {
  const bytes = groupFetchLimits.get(this.groupId)?.decodedBytes;
  return bytes === undefined
    ? groupFetch.call(this, nodeId)
    : withDecodeBudget(bytes, () => groupFetch.call(this, nodeId));
};
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

// The order of a fetch's partitions (fetch-order.ts): kafkajs's Broker.fetch shuffles them at
// random before it encodes the request; with the shuffle told to keep the order while Broker.fetch
// starts, the request asks for them in the broker's FetchOrder, and the partitions a response
// served go to the end of it.
const shuffleFile = kafkajsFile('utils/shuffle.js');
const brokerFile = kafkajsFile('broker/index.js');
if (require.cache[brokerFile] !== undefined)
  throw new Error('kafkajs loaded its broker before the fetch order patch');
const shuffle = require(shuffleFile) as <T>(array: T[]) => T[];
let keepOrder = false;
replaceModule(shuffleFile, <T>(array: T[]) => (keepOrder ? array : shuffle(array)));
interface FetchedPartition {
  partition: number;
  messages: object;
}
interface BrokerFetch {
  fetch(request: {
    topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}
const Broker = require(brokerFile) as { prototype: BrokerFetch };
const brokerFetch = Broker.prototype.fetch;
const fetchOrders = new WeakMap<object, FetchOrder>();
Broker.prototype.fetch = function fetch(this: BrokerFetch, request) {
  let order = fetchOrders.get(this);
  if (order === undefined) fetchOrders.set(this, (order = new FetchOrder()));
  const topics = order.arrange(request.topics);
  let response: ReturnType<BrokerFetch['fetch']>;
  // Broker.fetch shuffles before its first await: the flag covers exactly that call.
  keepOrder = true;
  try {
    response = brokerFetch.call(this, { ...request, topics });
  } finally {
    keepOrder = false;
  }
  return response.then((fetched) => {
    // Served: bytes of the partition were decoded (Kafka's CompletedFetch.drain: bytesRead > 0).
    // A partition the decode budget cut before its first batch got nothing and keeps its place.
    const served: Array<{ topic: string; partition: number }> = [];
    for (const { topicName, partitions } of fetched.responses)
      for (const p of partitions) {
        const set = fetchedSets.get(p.messages);
        if ((set?.wireBytes ?? (p.messages as unknown[]).length) > 0)
          served.push({ topic: topicName, partition: p.partition });
      }
    order.served(served);
    return fetched;
  });
};

const READER = Symbol('response reader of the socket');
interface ConnectionState {
  socket?: Socket;
  [READER]?: ResponseReader;
  authHandlers?: { onSuccess(data: Buffer): void; onError(): void } | null;
  authExpectResponse?: boolean;
  requestQueue: { fulfillRequest(response: { size: number; correlationId: number; payload: Buffer }): void };
  isConnected(): boolean;
  broker: string;
  clientId: string;
  logger: { namespace(name: string): { error(message: string, extra: object): void } };
}
const Connection = require(kafkajsFile('network/connection.js')) as {
  prototype: { connect(): Promise<boolean>; disconnect(): Promise<boolean> };
};
const { connect, disconnect } = Connection.prototype;

/**
 * kafkajs keeps a Connection as long as its Broker and connects it again after its socket dropped
 * (ConnectionPool.getConnection), while what was read of a response cut part way belongs to the
 * dropped socket only: each socket gets a reader of its own (response-reader.ts). The socket a
 * new one replaces is destroyed, so that nothing it still brings reaches the new reader: kafkajs
 * only half-closes it, and replaces it only once disconnected, every request on it answered or
 * failed.
 */
Object.defineProperty(Connection.prototype, 'connect', {
  value: function (this: ConnectionState): Promise<boolean> {
    const previous = this.socket;
    const connecting = connect.call(this); // kafkajs makes the socket at once, unless connected
    if (this.socket !== undefined && this.socket !== previous) {
      previous?.destroy();
      this[READER] = new ResponseReader((frame) => deliver(this, frame));
    }
    return connecting;
  },
  writable: true,
  configurable: true,
});

/** Once kafkajs has disconnected, what the old socket still brings answers no request: not read. */
Object.defineProperty(Connection.prototype, 'disconnect', {
  value: async function (this: ConnectionState): Promise<boolean> {
    const reader = this[READER];
    const disconnected = await disconnect.call(this);
    if (this[READER] === reader && !this.isConnected()) this[READER] = undefined;
    return disconnected;
  },
  writable: true,
  configurable: true,
});

/**
 * kafkajs's Connection.processData, reading each response into one buffer of its size as its bytes
 * arrive. kafkajs kept every socket chunk until the response was complete, then concatenated them
 * (a second copy of every fetched byte, in a new buffer per response); this copies each chunk
 * once and keeps none, so a socket may read into a buffer it reuses (readIntoOneBuffer). Bytes
 * that cannot be a response close the socket (closeMisframed) instead of throwing out of the
 * socket's data handler, where nothing catches them.
 */
Object.defineProperty(Connection.prototype, 'processData', {
  value: function processData(this: ConnectionState, data: Buffer): void {
    // kafkajs's conditions (authHandlers is null, not undefined, outside authentication)
    if (this.authHandlers && !this.authExpectResponse) {
      this.authHandlers.onSuccess(Buffer.from(data));
      return;
    }
    const reader = this[READER];
    if (reader === undefined) return; // disconnected: every request of the socket has failed
    try {
      reader.feed(data);
    } catch (error) {
      if (!(error instanceof ResponseFramingError)) throw error;
      closeMisframed(this, error);
    }
  },
  writable: true,
  configurable: true,
});

/** A complete response, to the authentication under way or to its request, as kafkajs does. */
function deliver(connection: ConnectionState, frame: Buffer): void {
  if (connection.authHandlers) {
    // During authentication the handler takes the response whole, size included (as kafkajs).
    connection.authHandlers.onSuccess(frame);
    return;
  }
  const size = frame.length - 4;
  if (size < 4)
    throw new ResponseFramingError(`a size of ${size} bytes, too small for a correlation id`, size);
  connection.requestQueue.fulfillRequest({
    size,
    correlationId: frame.readInt32BE(4),
    payload: frame.subarray(8),
  });
}

/**
 * Nothing after bytes that are not a Kafka response can be read. As Kafka's Selector closes a
 * channel whose NetworkReceive threw InvalidReceiveException (clients/.../network/Selector.java):
 * the socket is destroyed with the error, kafkajs's error handler fails the connection's requests
 * with a retriable KafkaJSConnectionError that carries its code and disconnects, and the next
 * request connects a new socket. An authentication under way fails as when the broker closes
 * (kafkajs's error handler leaves it waiting).
 */
function closeMisframed(connection: ConnectionState, error: ResponseFramingError): void {
  connection[READER] = undefined;
  // Not in kafkajs's Connection namespace, whose errors are retried connection failures (debug).
  connection.logger.namespace('ResponseReader').error(`closing the connection: ${error.message}`, {
    broker: connection.broker,
    clientId: connection.clientId,
    err: error,
  });
  connection.authHandlers?.onError();
  connection.socket?.destroy(error);
}

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
const snappy = require('kafkajs-snappy') as () => { compress(encoder: { buffer: Buffer }): Promise<Buffer> };
const { CompressionCodecs, CompressionTypes } = kafkajs;
const { KafkaJSPartialMessageError } = require(kafkajsFile('errors.js')) as {
  KafkaJSPartialMessageError: new (message: string) => Error;
};
/**
 * A codec's decompression within the decode budget of the fetch it runs in (decode-budget.ts): a
 * batch refused is left for the next fetch the way kafkajs leaves a batch the size limit cut.
 */
const budgeted =
  (decompress: (buffer: Buffer) => Buffer | Promise<Buffer>) =>
  async (buffer: Buffer): Promise<Buffer> => {
    const budget = decodeBudget();
    if (budget !== undefined && !budget.admit())
      throw new KafkaJSPartialMessageError('the decode budget of this fetch is spent');
    const decoded = await decompress(buffer);
    budget?.charge(decoded);
    return decoded;
  };
const gzip = CompressionCodecs[CompressionTypes.GZIP]();
CompressionCodecs[CompressionTypes.GZIP] = () => ({
  ...gzip,
  decompress: budgeted((b) => gzip.decompress(b)),
});
CompressionCodecs[CompressionTypes.Snappy] = () => ({
  compress: snappy().compress,
  // Into one buffer (snappy.ts): kafkajs-snappy copied a batch's output once per block.
  decompress: budgeted(decompressSnappy),
});
// Both ways in JavaScript (lz4.ts explains why): every buffer stays visible to the garbage collector.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: budgeted(decompressFrame),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder: { buffer: Buffer }) => zstdCompress(encoder.buffer),
  decompress: budgeted(zstdDecompress),
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
