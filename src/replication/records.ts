// The record shapes the replication core works with. They carry nothing of the Kafka client, so
// the queue, tracker and guard are tested with plain values.

/** Headers in wire order, duplicates kept: [key, value] pairs. A null value is a header without value. */
export type HeaderList = ReadonlyArray<readonly [string, Buffer | null]>;

export interface SourceRecord {
  readonly offset: number;
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

/** Bytes a record holds in memory for the queue budget: key, value and header keys and values. */
export function recordBytes(record: SourceRecord | TargetRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [key, value] of record.headers) bytes += key.length + (value?.length ?? 0);
  return bytes;
}
