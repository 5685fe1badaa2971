// The record shapes the replication core works with. They carry nothing of the Kafka client, so
// the queue, tracker and guard are tested with plain values.

/**
 * Headers in wire order, duplicates kept: [key, value] pairs. A null value is a header without
 * value. Values read from Kafka are Buffers; the daemon's own (provenance) headers are ASCII strings,
 * which the encoder writes as their bytes and which cost far less memory than a Buffer each.
 */
/** A record batch's compression codec, by the name configs use. */
export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type HeaderList = ReadonlyArray<readonly [string, Buffer | string | null]>;

export interface SourceRecord {
  /** Kafka offset as a decimal string (as the client decodes it; int64 does not fit a number). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: HeaderList;
  /** Epoch milliseconds as Kafka carries them (CreateTime, or LogAppendTime if the topic uses it). */
  readonly timestamp: string;
}

/** Records of one source partition, in offset order, from one fetch. */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /** How the batch was compressed on the source (the first of its record batches), when known. */
  readonly compression?: Compression;
}

/**
 * The provenance headers records of one source partition and one path share (provenance.ts), encoded
 * once: a record adds only its offset's digits between `before` and `after`.
 */
export interface ProvenanceTail {
  /** The cluster, topic and partition pairs, then the offset pair's key, as encoded record headers. */
  readonly before: Buffer;
  /** The origin and hops pairs, encoded. */
  readonly after: Buffer;
  /** Key and value bytes of the six pairs, the offset's digits left out. */
  readonly payload: number;
  /** The same as pairs: cluster, topic, partition, origin, hops (the offset pair goes after the third). */
  readonly pairs: HeaderList;
}

export interface TargetRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Written first, in order. */
  readonly headers: HeaderList;
  readonly timestamp: string;
  /** Replicated records: provenance headers written after `headers`, `offset` (the source offset) as km.src.offset. */
  readonly tail?: ProvenanceTail;
  readonly offset?: string;
}

/**
 * Heap a decoded source record holds beyond its payload while its fetch waits to be queued: the
 * record object, the Buffer views of key and value, and its offset and timestamp strings.
 * Measured on Node 24 at about 390 bytes (test/unit/replication/record-memory.test.ts checks the
 * figure); the fetch sizer counts it, so consumer.maxBytes is a budget of memory. (Queued records
 * are encoded chunks, charged by protocol/record-chunk.ts chunkCharge.)
 */
export const RECORD_OVERHEAD_BYTES = 512;

/** Heap of each header carried over from the source record: its pair, key string and value view (about 130 bytes). */
export const HEADER_OVERHEAD_BYTES = 144;

/** Key, value, header keys and values: the bytes a record carries. */
export function payloadBytes(record: SourceRecord | TargetRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [key, value] of record.headers) bytes += key.length + (value?.length ?? 0);
  if ('tail' in record && record.tail !== undefined)
    bytes += record.tail.payload + (record.offset?.length ?? 0);
  return bytes;
}

/** The memory of a decoded source record: its payload plus the objects that hold it and its headers. */
export function queueCharge(payload: number, sourceHeaders: number): number {
  return RECORD_OVERHEAD_BYTES + HEADER_OVERHEAD_BYTES * sourceHeaders + payload;
}

/** Upper bound of a record's size in a produce request: payload plus its varint framing. */
export function wireBytes(record: TargetRecord): number {
  return 24 + 8 * (record.headers.length + (record.tail === undefined ? 0 : 6)) + payloadBytes(record);
}
