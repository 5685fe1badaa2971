// The record batches of a fetched record set, read from their headers and checked. kafkajs decodes
// records one by one and never checks a batch's CRC, so a batch corrupted on the broker's disk or
// on the way would be copied as it is; and its records do not say where their batch ends, which
// the aborted-transaction filter needs (aborted-transactions.ts). Pure: imports no client, so it
// can move to a protocol layer.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Uint8Array): number };

// Offsets in a v2 record batch, as Kafka's DefaultRecordBatch
// (clients/src/main/java/org/apache/kafka/common/record/DefaultRecordBatch.java).
const LENGTH_OFFSET = 8;
/** Base offset and length: what the batch length does not count. */
const LOG_OVERHEAD = 12;
const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const PRODUCER_ID_OFFSET = 43;
const RECORDS_COUNT_OFFSET = 57;
const RECORD_BATCH_OVERHEAD = 61;
/** The smallest entry of any message format (LegacyRecord.RECORD_OVERHEAD_V0). */
const RECORD_OVERHEAD_V0 = 14;
const COMPRESSION_CODEC_MASK = 0x07;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;

/** ControlRecordType ids. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;

/** What the aborted-transaction filter and the fetch position need of one v2 batch. */
export interface RecordBatchHeader {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** -1 when the batch has none (RecordBatch.NO_PRODUCER_ID). */
  readonly producerId: bigint;
  readonly transactional: boolean;
  readonly control: boolean;
  /** A control batch's ControlRecordType, from its first record's key; undefined for data batches. */
  readonly controlType: number | undefined;
  /** attributes & 7. */
  readonly codec: number;
  /** Where the batch starts in the buffer, and its size with the base offset and length fields. */
  readonly position: number;
  readonly size: number;
}

/** The first batch of a record set that is not valid: nothing from it on may be used. */
export interface InvalidBatch {
  readonly baseOffset: bigint;
  readonly position: number;
  readonly reason: string;
}

export interface RecordSet {
  /** The complete v2 batches before the first invalid one (a trailing partial batch, cut by the size limit, is not one). */
  readonly batches: readonly RecordBatchHeader[];
  /** Wire bytes of the complete entries before the first invalid one (legacy message sets too). */
  readonly wireBytes: number;
  /** Where the valid entries end (the first invalid batch, or the end of the last complete entry). */
  readonly validEnd: number;
  readonly invalid: InvalidBatch | undefined;
}

/** A zigzag varint at `cursor.at`, or undefined if it runs past `end`. */
function varint(buffer: Buffer, cursor: { at: number }, end: number): number | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10 && cursor.at < end; i++) {
    const byte = buffer[cursor.at++] as number;
    result += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }
  return undefined;
}

/**
 * The control record type of an uncompressed control batch: its first record's key (int16 version,
 * int16 type), as Kafka's ControlRecordType.parseTypeId; undefined when it cannot be read.
 */
function controlTypeOf(buffer: Buffer, position: number, end: number): number | undefined {
  if (buffer.readInt32BE(position + RECORDS_COUNT_OFFSET) < 1) return undefined;
  const cursor = { at: position + RECORD_BATCH_OVERHEAD };
  const length = varint(buffer, cursor, end);
  if (length === undefined || length < 0 || cursor.at + length > end) return undefined;
  const recordEnd = cursor.at + length;
  cursor.at += 1; // attributes
  if (varint(buffer, cursor, recordEnd) === undefined) return undefined; // timestamp delta
  if (varint(buffer, cursor, recordEnd) === undefined) return undefined; // offset delta
  const keyLength = varint(buffer, cursor, recordEnd);
  if (keyLength === undefined || keyLength < 4 || cursor.at + keyLength > recordEnd) return undefined;
  if (buffer.readInt16BE(cursor.at) < 0) return undefined; // version: "may indicate data corruption"
  return buffer.readInt16BE(cursor.at + 2);
}

/**
 * Walks the entries of a record set in `buffer[from, to)` and checks each complete v2 batch as
 * Kafka's consumer does with check.crcs (CompletedFetch.maybeEnsureValid ->
 * DefaultRecordBatch.ensureValid: the size at least the batch header, the CRC-32C of everything
 * from the attributes to the end equal to the stored one; ByteBufferLogInputStream.nextBatchSize:
 * a size and a magic byte that can be valid). It stops at the first invalid batch. Legacy message
 * sets (magic 0 and 1, which Kafka 4 no longer writes) are counted but not checked.
 */
export function readRecordSet(buffer: Buffer, from: number, to: number): RecordSet {
  const batches: RecordBatchHeader[] = [];
  let at = from;
  let invalid: InvalidBatch | undefined;
  const fail = (reason: string) => {
    invalid = { baseOffset: buffer.readBigInt64BE(at), position: at, reason };
  };
  while (to - at >= LOG_OVERHEAD) {
    const length = buffer.readInt32BE(at + LENGTH_OFFSET);
    if (length < RECORD_OVERHEAD_V0) {
      fail(`size ${length} below the minimum record overhead ${RECORD_OVERHEAD_V0}`);
      break;
    }
    if (to - at <= MAGIC_OFFSET) break; // partial: cut by the response's size limit
    const magic = buffer.readInt8(at + MAGIC_OFFSET);
    if (magic < 0 || magic > 2) {
      fail(`invalid magic ${magic}`);
      break;
    }
    const size = LOG_OVERHEAD + length;
    if (size > to - at) break; // partial
    if (magic === 2) {
      if (size < RECORD_BATCH_OVERHEAD) {
        fail(`size ${size} below the record batch overhead ${RECORD_BATCH_OVERHEAD}`);
        break;
      }
      const stored = buffer.readUInt32BE(at + CRC_OFFSET);
      const computed = crc32c(buffer.subarray(at + ATTRIBUTES_OFFSET, at + size)) >>> 0;
      if (stored !== computed) {
        fail(`stored crc ${stored}, computed crc ${computed}`);
        break;
      }
      const attributes = buffer.readInt16BE(at + ATTRIBUTES_OFFSET);
      const baseOffset = buffer.readBigInt64BE(at);
      const control = (attributes & CONTROL_FLAG_MASK) !== 0;
      const codec = attributes & COMPRESSION_CODEC_MASK;
      let controlType: number | undefined;
      if (control) {
        // Brokers write end-transaction markers uncompressed (MemoryRecords.withEndTransactionMarker);
        // a marker that cannot be read cannot be applied, and guessing would copy aborted records
        // or drop committed ones.
        controlType = codec === 0 ? controlTypeOf(buffer, at, at + size) : undefined;
        if (controlType === undefined) {
          fail(codec === 0 ? 'unreadable control record' : 'compressed control batch');
          break;
        }
      }
      batches.push({
        baseOffset,
        lastOffset: baseOffset + BigInt(buffer.readInt32BE(at + LAST_OFFSET_DELTA_OFFSET)),
        producerId: buffer.readBigInt64BE(at + PRODUCER_ID_OFFSET),
        transactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
        control,
        controlType,
        codec,
        position: at,
        size,
      });
    }
    at += size;
  }
  return { batches, wireBytes: (invalid?.position ?? at) - from, validEnd: invalid?.position ?? at, invalid };
}
