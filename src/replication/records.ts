// The record shapes the replication core works with. They carry nothing of the Kafka client, so
// the queue, tracker and guard are tested with plain values.

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
}

export interface TargetRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: HeaderList;
  readonly timestamp: string;
}

/**
 * What a queued record costs beyond its bytes: the JavaScript objects that hold it (the record,
 * its header list and pairs, the Buffer views of key and value). Measured on Node 24 with small
 * records; it makes the queue's byte budget a budget of memory, not of payload.
 */
export const RECORD_OVERHEAD_BYTES = 320;

/** What each header costs beyond its key and value bytes: the pair array and its strings. */
export const HEADER_OVERHEAD_BYTES = 48;

/** Key, value, header keys and values: the bytes a record carries. */
export function payloadBytes(record: SourceRecord | TargetRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [key, value] of record.headers) bytes += key.length + (value?.length ?? 0);
  return bytes;
}

/** Memory a record holds for the queue budget: its payload plus the objects that hold it. */
export function recordBytes(record: SourceRecord | TargetRecord): number {
  return RECORD_OVERHEAD_BYTES + HEADER_OVERHEAD_BYTES * record.headers.length + payloadBytes(record);
}
