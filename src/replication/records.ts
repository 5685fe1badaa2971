// The record shapes the replication core works with. They carry nothing of the Kafka client, so
// the queue, tracker and guard are tested with plain values.
import type { Compression } from '../config/index.ts';

/**
 * Headers in wire order, duplicates kept: [key, value] pairs. A null value is a header without
 * value. Values read from Kafka are Buffers; the daemon's own (provenance) headers are ASCII strings,
 * which the encoder writes as their bytes and which cost far less memory than a Buffer each.
 */
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

export interface TargetRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: HeaderList;
  readonly timestamp: string;
}

/**
 * Heap a queued record holds beyond its payload: the record object, the Buffer views of key and
 * value, its header list with the per-record offset pair (the other provenance pairs are shared,
 * provenance.ts), and its offset and timestamp strings. Measured on Node 24 at about 490 bytes
 * (test/unit/replication/record-memory.test.ts checks the figure); it makes the queue's byte
 * budget a budget of memory, not of payload.
 */
export const RECORD_OVERHEAD_BYTES = 512;

/** Heap of each header carried over from the source record: its pair, key string and value view (about 130 bytes). */
export const HEADER_OVERHEAD_BYTES = 144;

/** Key, value, header keys and values: the bytes a record carries. */
export function payloadBytes(record: SourceRecord | TargetRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [key, value] of record.headers) bytes += key.length + (value?.length ?? 0);
  return bytes;
}

/**
 * What the queue charges a record: its payload (provenance headers included, `payloadBytes`)
 * plus the objects that hold it, `sourceHeaders` being the headers it brought from the source
 * (the provenance pairs are shared and cost only their bytes).
 */
export function queueCharge(payload: number, sourceHeaders: number): number {
  return RECORD_OVERHEAD_BYTES + HEADER_OVERHEAD_BYTES * sourceHeaders + payload;
}

/** Upper bound of a record's size in a produce request: payload plus its varint framing. */
export function wireBytes(record: TargetRecord): number {
  return 24 + 8 * record.headers.length + payloadBytes(record);
}
