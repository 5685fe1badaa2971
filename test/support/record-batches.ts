// Kafka record batches (magic 2) and Fetch v11 responses as bytes, built here from Kafka's format
// (DefaultRecordBatch, DefaultRecord, ControlRecordType, EndTransactionMarker; FetchResponse v11)
// and not with kafka-mirror's own encoders, so tests of the fetch decoding and of the aborted
// transaction filter read what a broker would send.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Uint8Array): number };

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

export interface BatchSpec {
  readonly baseOffset: number;
  /** -1 (the default): no producer id, as a plain producer writes. */
  readonly producerId?: number;
  readonly transactional?: boolean;
  /** A control batch with one end-transaction marker instead of data records. */
  readonly marker?: 'abort' | 'commit';
  /** The data records' values, at offsets baseOffset, baseOffset + 1, ... */
  readonly values?: readonly string[];
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 128) {
    bytes.push((zigzag % 128) | 0x80);
    zigzag = Math.floor(zigzag / 128);
  }
  bytes.push(zigzag);
  return Buffer.from(bytes);
}

const sized = (bytes: Buffer | null) =>
  bytes === null ? varint(-1) : Buffer.concat([varint(bytes.length), bytes]);

/** One record (DefaultRecord): attributes, timestamp delta 0, its offset delta, key, value, no headers. */
function record(offsetDelta: number, key: Buffer | null, value: Buffer | null): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]),
    varint(0),
    varint(offsetDelta),
    sized(key),
    sized(value),
    varint(0),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

/** A v2 record batch with its CRC-32C (over attributes to the end, as DefaultRecordBatch). */
export function recordBatch(spec: BatchSpec): Buffer {
  const producerId = spec.producerId ?? -1;
  let records: Buffer[];
  if (spec.marker !== undefined) {
    // ControlRecordType key (version 0, type: 0 ABORT, 1 COMMIT); EndTransactionMarker value
    // (version 0, coordinator epoch).
    const key = Buffer.alloc(4);
    key.writeInt16BE(spec.marker === 'abort' ? 0 : 1, 2);
    const value = Buffer.alloc(6);
    records = [record(0, key, value)];
  } else {
    records = (spec.values ?? []).map((v, i) => record(i, null, Buffer.from(v)));
  }
  const body = Buffer.concat(records);
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(BigInt(spec.baseOffset), 0);
  header.writeInt32BE(49 + body.length, 8);
  header.writeInt32BE(0, 12); // partition leader epoch
  header.writeInt8(2, 16); // magic
  const attributes =
    (spec.transactional || spec.marker !== undefined ? TRANSACTIONAL : 0) | (spec.marker ? CONTROL : 0);
  header.writeInt16BE(attributes, 21);
  header.writeInt32BE(Math.max(0, records.length - 1), 23); // last offset delta
  header.writeBigInt64BE(1_700_000_000_000n, 27);
  header.writeBigInt64BE(1_700_000_000_000n, 35);
  header.writeBigInt64BE(BigInt(producerId), 43);
  header.writeInt16BE(producerId < 0 ? -1 : 0, 51);
  header.writeInt32BE(producerId < 0 ? -1 : 0, 53);
  header.writeInt32BE(records.length, 57);
  const batch = Buffer.concat([header, body]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

export interface PartitionSpec {
  readonly partition: number;
  readonly highWatermark: number;
  /** As a broker lists them: in the order of their abort markers. */
  readonly abortedTransactions: ReadonlyArray<{ producerId: number; firstOffset: number }>;
  readonly records: Buffer;
}

/** A Fetch v11 response body (what follows the correlation id) with one topic. */
export function fetchResponseV11(topic: string, partitions: readonly PartitionSpec[]): Buffer {
  const int16 = (v: number) => Buffer.from([(v >> 8) & 0xff, v & 0xff]);
  const int32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  };
  const int64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return b;
  };
  const parts = partitions.map((p) =>
    Buffer.concat([
      int32(p.partition),
      int16(0), // error code
      int64(p.highWatermark),
      int64(p.highWatermark), // last stable offset
      int64(0), // log start offset
      int32(p.abortedTransactions.length),
      ...p.abortedTransactions.map((a) => Buffer.concat([int64(a.producerId), int64(a.firstOffset)])),
      int32(-1), // preferred read replica
      int32(p.records.length),
      p.records,
    ]),
  );
  return Buffer.concat([
    int32(0), // throttle time
    int16(0), // error code
    int32(0), // session id
    int32(1),
    int16(Buffer.byteLength(topic)),
    Buffer.from(topic),
    int32(parts.length),
    ...parts,
  ]);
}

/** One step of a partition's history: a producer writes a batch, or ends its transaction. */
export type Step =
  | { readonly producer: number; readonly write: number }
  | { readonly producer: number; readonly end: 'abort' | 'commit' }
  /** A batch of a producer outside transactions. */
  | { readonly plain: number };

export interface PartitionLog {
  /** Every batch, in offset order. */
  readonly batches: readonly BatchSpec[];
  /** Aborted transactions as a broker lists them: in the order of their markers. */
  readonly aborted: ReadonlyArray<{ producerId: number; firstOffset: number; markerOffset: number }>;
  /** Values of every data record, by offset, and whether a read_committed consumer must see it. */
  readonly records: ReadonlyArray<{ offset: number; value: string; committed: boolean }>;
}

/**
 * A partition's log from a history of steps: a transactional producer's first write begins its
 * transaction, its end writes the marker. Values name the producer, its transaction and the
 * record (`p2.t0.5`); transactions still open at the end are left open (not committed).
 */
export function partitionLog(steps: readonly Step[]): PartitionLog {
  const batches: BatchSpec[] = [];
  const aborted: Array<{ producerId: number; firstOffset: number; markerOffset: number }> = [];
  const records: Array<{ offset: number; value: string; committed: boolean }> = [];
  const open = new Map<number, { firstOffset: number; records: number[] }>();
  const transactions = new Map<number, number>();
  let offset = 0;
  let plainCount = 0;
  for (const step of steps) {
    if ('plain' in step) {
      const n = plainCount++;
      const values = Array.from({ length: step.plain }, (_, i) => `plain.${n}.${i}`);
      batches.push({ baseOffset: offset, values });
      values.forEach((value, i) => records.push({ offset: offset + i, value, committed: true }));
      offset += values.length;
    } else if ('write' in step) {
      let txn = open.get(step.producer);
      if (txn === undefined) {
        txn = { firstOffset: offset, records: [] };
        open.set(step.producer, txn);
      }
      const t = transactions.get(step.producer) ?? 0;
      const values = Array.from({ length: step.write }, (_, i) => `p${step.producer}.t${t}.${offset + i}`);
      batches.push({ baseOffset: offset, producerId: step.producer, transactional: true, values });
      values.forEach((value, i) => {
        txn.records.push(records.length);
        records.push({ offset: offset + i, value, committed: false });
      });
      offset += values.length;
    } else {
      const txn = open.get(step.producer);
      if (txn === undefined) throw new Error(`producer ${step.producer} has no open transaction`);
      open.delete(step.producer);
      transactions.set(step.producer, (transactions.get(step.producer) ?? 0) + 1);
      batches.push({ baseOffset: offset, producerId: step.producer, marker: step.end });
      if (step.end === 'commit')
        for (const i of txn.records) (records[i] as { committed: boolean }).committed = true;
      else aborted.push({ producerId: step.producer, firstOffset: txn.firstOffset, markerOffset: offset });
      offset += 1;
    }
  }
  return { batches, aborted, records };
}

/** The last offset of a batch (a control batch holds one record). */
const lastOffsetOf = (b: BatchSpec) =>
  b.baseOffset + Math.max(0, (b.marker === undefined ? (b.values?.length ?? 0) : 1) - 1);

/**
 * What a broker answers a read_committed fetch at `fetchOffset` with (as Kafka's
 * LogSegment/TransactionIndex collectAbortedTxns): the batches from the one holding the offset on
 * (at most `maxBatches`, as a size limit cuts them), and the aborted transactions that overlap
 * them (marker at or after the offset, first offset at or before the last batch), in marker order.
 * `next` is where the following fetch starts.
 */
export function fetchAt(log: PartitionLog, fetchOffset: number, maxBatches = Infinity) {
  const batches = log.batches.filter((b) => lastOffsetOf(b) >= fetchOffset).slice(0, maxBatches);
  const upTo = batches.length === 0 ? fetchOffset - 1 : lastOffsetOf(batches.at(-1) as BatchSpec);
  return {
    records: Buffer.concat(batches.map(recordBatch)),
    abortedTransactions: log.aborted
      .filter((a) => a.markerOffset >= fetchOffset && a.firstOffset <= upTo)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset })),
    highWatermark: log.batches.length === 0 ? 0 : lastOffsetOf(log.batches.at(-1) as BatchSpec) + 1,
    next: upTo + 1,
  };
}
