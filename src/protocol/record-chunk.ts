// A run of records already in Kafka's v2 record format: what the flow queues and the writers send
// (issue 8). A queued record used to be a handful of JavaScript objects (the record, its header
// list, its provenance offset pair, the Buffer view of its value, its timestamp string), about 500
// bytes of heap each that lived until the target acknowledged it; at 60,000 records a second the
// collector spent as much CPU as the copy, and the heap, not the queue budget, set the memory
// used. A chunk is one Buffer and two typed arrays however many records it holds: its records are
// encoded once, when they are queued, and sent as they are (produce-request.ts writes the batch
// header around the body).
import { InternalInvariantError } from '../errors/index.ts';
import type { Compression, TargetRecord } from './records.ts';
import { readVarInt, recordBodySize, sizeOfVarInt, writeRecord } from './record-format.ts';

export interface RecordChunk {
  /**
   * The records, each as in a v2 record batch: offset deltas 0 to count - 1, timestamp deltas from
   * `firstTimestamp`, headers in order.
   */
  readonly body: Buffer;
  readonly count: number;
  /** The smallest timestamp (the batch's base timestamp); `maxTimestamp` the largest. */
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  /** Each record's timestamp, epoch ms (latency metrics once it is written). */
  readonly timestamps: Float64Array;
  /** Where each record ends in `body`. */
  readonly ends: Uint32Array;
  /** How its records were compressed on the source, when known (`producer.compression: source`). */
  readonly compression: Compression | undefined;
}

/**
 * Free bytes every chunk's body has before it in its own buffer: an uncompressed produce request
 * of the chunk writes its header and frame there, so the records are never copied again
 * (produce-request.ts).
 */
export const CHUNK_HEADROOM = 512;
const withHeadroom = new WeakSet<Buffer>();

/** Whether `body` is a chunk body with CHUNK_HEADROOM bytes before it that nothing else uses. */
export const hasHeadroom = (body: Buffer): boolean => withHeadroom.has(body);

/**
 * What the queue charges a chunk: its body and headroom, its typed arrays (12 bytes a record) and
 * its objects (the chunk, the views and their array buffers: about 2.6 KiB of heap measured on
 * Node 24, test/unit/replication/record-memory.test.ts checks the total).
 */
export const chunkCharge = (chunk: RecordChunk): number =>
  CHUNK_HEADROOM + chunk.body.length + 12 * chunk.count + 4096;

export function encodeChunk(records: readonly TargetRecord[], compression?: Compression): RecordChunk {
  const count = records.length;
  const timestamps = new Float64Array(count);
  let first = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const ts = Number((records[i] as TargetRecord).timestamp);
    timestamps[i] = ts;
    if (ts < first) first = ts;
    if (ts > max) max = ts;
  }
  if (count === 0) first = max = 0;
  // Sized in a first pass (each record's body size kept in `ends` until it is written), written in a second.
  const ends = new Uint32Array(count);
  let size = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i] as TargetRecord;
    const delta = (timestamps[i] as number) - first;
    const body = recordBodySize(r.headers, delta, i, r.key, r.value, r.tail, r.offset);
    ends[i] = body;
    size += sizeOfVarInt(body) + body;
  }
  // A buffer of its own (never a slice of Node's shared pool): its headroom is the chunk's to write.
  const body = Buffer.allocUnsafeSlow(CHUNK_HEADROOM + size).subarray(CHUNK_HEADROOM);
  withHeadroom.add(body);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i] as TargetRecord;
    const delta = (timestamps[i] as number) - first;
    at = writeRecord(body, at, r.key, r.value, r.headers, i, delta, r.tail, r.offset, ends[i]);
    ends[i] = at;
  }
  if (at !== size) throw new InternalInvariantError(`chunk encoder wrote ${at} of ${size} bytes`);
  return { body, count, firstTimestamp: first, maxTimestamp: max, timestamps, ends, compression };
}

/** The records of a chunk, as they will be on the target (header values as Buffers). */
export function decodeChunk(chunk: RecordChunk): TargetRecord[] {
  const { body } = chunk;
  const records: TargetRecord[] = [];
  const cursor = { at: 0 };
  const bytes = (): Buffer | null => {
    const length = readVarInt(body, cursor);
    if (length < 0) return null;
    const value = body.subarray(cursor.at, cursor.at + length);
    cursor.at += length;
    return value;
  };
  for (let i = 0; i < chunk.count; i++) {
    readVarInt(body, cursor); // record length
    cursor.at++; // attributes
    const delta = readVarInt(body, cursor);
    readVarInt(body, cursor); // offset delta
    const key = bytes();
    const value = bytes();
    const headers: Array<readonly [string, Buffer | null]> = [];
    for (let h = readVarInt(body, cursor); h > 0; h--) headers.push([String(bytes()), bytes()]);
    records.push({ key, value, headers, timestamp: String(chunk.firstTimestamp + delta) });
    if (cursor.at !== chunk.ends[i])
      throw new InternalInvariantError(`chunk record ${i} ends at ${cursor.at}, not ${chunk.ends[i]}`);
  }
  return records;
}

/** Records [from, to) of a chunk as a chunk of their own (offset deltas from 0 again). */
export function sliceChunk(chunk: RecordChunk, from: number, to: number): RecordChunk {
  return encodeChunk(decodeChunk(chunk).slice(from, to), chunk.compression);
}

/**
 * Cuts a chunk into runs of at most `maxBytes` of body each, in order (a record larger than that
 * alone makes a run of one): one produce request each. A chunk within the limit, the usual case
 * (the flow cuts chunks at the request size), is returned as it is.
 */
export function* requestChunks(chunk: RecordChunk, maxBytes: number): Generator<RecordChunk> {
  if (chunk.body.length <= maxBytes) {
    yield chunk;
    return;
  }
  let start = 0;
  while (start < chunk.count) {
    const base = start === 0 ? 0 : (chunk.ends[start - 1] as number);
    let end = start + 1;
    while (end < chunk.count && (chunk.ends[end] as number) - base <= maxBytes) end++;
    yield sliceChunk(chunk, start, end);
    start = end;
  }
}
