// Replaces kafkajs/src/protocol/recordBatch/record/v0/decoder.js, the decoder of one record of a
// v2 record batch, which recordBatch/v0/decoder.js captures.
//
// Why: record fidelity and speed. kafkajs decodes headers into an object keyed by name, so an
// interleaved order (a, b, a) comes back regrouped (a, a, b); a replicator copies headers byte for
// byte and in order (DESIGN.md invariant 3), so headers are decoded as an ordered [key, value]
// list (wire-headers.ts). And this runs once per fetched record, the hot path of the daemon:
// kafkajs allocated several Long objects per record; offsets and timestamps are computed here in
// plain numbers while they are exact (below 2^53; Kafka offsets and epoch-millisecond timestamps
// are far below), with kafkajs's Long arithmetic beyond. Otherwise the same fields as kafkajs.
import { kafkajsModule, replaceModule, type ModuleSwap } from './module-cache.ts';
import type { WireHeaders } from './wire-headers.ts';

const PATCH = 'record-decoder.ts';

export const swap: ModuleSwap = {
  module: 'protocol/recordBatch/record/v0/decoder.js',
  capturedBy: ['protocol/recordBatch/v0/decoder.js'],
};

/** kafkajs's Decoder (protocol/decoder.js), what a record decoder reads with. */
export interface Decoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarLong(): { toString(): string };
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
}

/** The batch a record belongs to, as kafkajs's record batch decoder passes it. */
interface BatchContext {
  firstOffset?: string;
  firstTimestamp?: string;
  magicByte?: number;
  isControlBatch?: boolean;
  timestampType?: number;
  maxTimestamp?: string;
}

/** What the decoder uses of kafkajs: its Long, its header decoder and LogAppendTime's code. */
interface KafkaJsParts {
  Long: { fromValue(v: unknown): { add(v: unknown): { toString(): string } } };
  decodeHeader(d: Decoder): { key: string; value: Buffer | null };
  logAppendTime: number;
}

const EXACT = Number.MAX_SAFE_INTEGER;
/** Batch-level numbers parsed once per batch, not once per record. */
const batchBase = new WeakMap<BatchContext, { offset: number; timestamp: number }>();
const NO_HEADERS: WireHeaders = Object.freeze([]);

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

function baseOf(batchContext: BatchContext): { offset: number; timestamp: number } {
  let base = batchBase.get(batchContext);
  if (base === undefined) {
    base = { offset: Number(batchContext.firstOffset), timestamp: Number(batchContext.firstTimestamp) };
    batchBase.set(batchContext, base);
  }
  return base;
}

/** An ordered list, duplicates kept (kafkajs's own decoder regroups headers by key). */
function readHeaders(decoder: Decoder, kafkajs: KafkaJsParts): WireHeaders {
  const count = decoder.readVarInt();
  if (count <= 0) return NO_HEADERS;
  const pairs: Array<readonly [string, Buffer | null]> = new Array(count);
  for (let i = 0; i < count; i++) {
    const header = kafkajs.decodeHeader(decoder);
    pairs[i] = [header.key, header.value];
  }
  return pairs;
}

function decodeRecord(decoder: Decoder, batchContext: BatchContext, kafkajs: KafkaJsParts) {
  const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const base = baseOf(batchContext);
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLongNumber(decoder);
  let timestamp: string;
  if (timestampType === kafkajs.logAppendTime && maxTimestamp) {
    if (timestampDelta === undefined) decoder.readVarLong();
    timestamp = maxTimestamp;
  } else if (timestampDelta !== undefined && Math.abs(base.timestamp) + Math.abs(timestampDelta) <= EXACT) {
    timestamp = String(base.timestamp + timestampDelta);
  } else {
    const delta = timestampDelta ?? decoder.readVarLong();
    timestamp = kafkajs.Long.fromValue(batchContext.firstTimestamp).add(delta).toString();
  }
  const offsetDelta = decoder.readVarInt();
  const offset =
    base.offset + offsetDelta <= EXACT
      ? String(base.offset + offsetDelta)
      : kafkajs.Long.fromValue(batchContext.firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = readHeaders(decoder, kafkajs);
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

export function installRecordDecoder(): void {
  const kafkajs: KafkaJsParts = {
    Long: kafkajsModule('utils/long.js'),
    decodeHeader: kafkajsModule('protocol/recordBatch/header/v0/decoder.js'),
    logAppendTime: kafkajsModule<{ LOG_APPEND_TIME: number }>('protocol/timestampTypes.js').LOG_APPEND_TIME,
  };
  replaceModule(PATCH, swap, (decoder: Decoder, batchContext: BatchContext = {}) =>
    decodeRecord(decoder, batchContext, kafkajs),
  );
}
