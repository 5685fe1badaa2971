// A fetched batch made into what the flow's queue holds: each record stamped with provenance (or
// passed over by the loop guard), and the records cut into chunks, each encoded once in Kafka's
// record format (protocol/record-chunk.ts).
import { chunkCharge, encodeChunk, type RecordChunk } from '../protocol/record-chunk.ts';
import {
  payloadBytes,
  wireBytes,
  type HeaderList,
  type SourceBatch,
  type SourceRecord,
  type TargetRecord,
} from '../protocol/records.ts';
import type { Ticket } from './offset-tracker.ts';
import { partitionKey } from './ports.ts';
import { ProvenanceHeader, provenanceStamp, type Origin, type Stamped } from './provenance.ts';

/** Heartbeats are copied like data, and measured apart from it. */
export type RecordKind = 'data' | 'heartbeat';

/** A chunk as the flow's queue holds it, on its way to the target. */
export interface WriteItem {
  readonly kind: RecordKind;
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  /** The exactly-once lane epoch it was read in. */
  readonly epoch: number;
  /** Key, value and header bytes (what `kafka_mirror_bytes_total` counts). */
  readonly payload: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: RecordChunk;
  /** What the queue charges it (chunkCharge). */
  readonly bytes: number;
  readonly ticket: Ticket;
}

/** A chunk once written: what its completion counts, without the records themselves. */
export type WrittenChunk = Pick<WriteItem, 'kind' | 'sourceTopic' | 'payload' | 'ticket'> & {
  /** Each record's timestamp, epoch ms. */
  readonly timestamps: Float64Array;
};

/** One cut of a batch: its ticket commits up to `nextOffset`. */
export interface Cut {
  /**
   * What the queue is to hold, once the cut's ticket is begun; undefined when the loop guard
   * passed over every record of the cut.
   */
  readonly item: Omit<WriteItem, 'ticket'> | undefined;
  readonly nextOffset: number;
  /** Timestamp of the cut's first record (NaN when it has none): the age its ticket reports. */
  readonly firstTimestamp: number;
  /** Records of the cut the loop guard passed over (the target cluster has them already). */
  readonly loops: number;
}

/** Where a batch's chunks go: the remote topic (same partition), and the lane epoch it was read in. */
export interface Destination {
  readonly kind: RecordKind;
  readonly topic: string;
  readonly epoch: number;
}

/** Where a chunk is cut: at the largest produce request, or at 1/16 of the queue budget. */
export interface ChunkLimits {
  readonly records: number;
  readonly bytes: number;
  readonly requestBytes: number;
}

/** Who stamps: the source cluster's alias, and the cluster ids of source and target. */
export type Stamper = Pick<Origin, 'cluster' | 'sourceId' | 'targetId'>;

/** Chunk limits from the queue budget and the largest produce request. */
export function chunkLimits(
  queue: { readonly maxRecords: number; readonly maxBytes: number },
  maxRequestBytes: number,
): ChunkLimits {
  return {
    records: Math.max(1, Math.floor(queue.maxRecords / 16)),
    bytes: Math.max(1, Math.floor(queue.maxBytes / 16)),
    requestBytes: maxRequestBytes,
  };
}

/**
 * Stamps and cuts the batches of one flow. A fetch is sized in compressed bytes, so one
 * partition's batch can decode to far more than the queue budget. It is queued in chunks of at
 * most one produce request and 1/16 of the budget, each with its own ticket, so the queue holds
 * its budget plus at most one chunk.
 */
export class Chunker {
  readonly #stamper: Stamper;
  readonly #limits: ChunkLimits;
  /** The provenance stamp of each source partition, kept across batches (it caches its tail). */
  readonly #stamps = new Map<string, (headers: HeaderList) => Stamped | undefined>();

  constructor(stamper: Stamper, limits: ChunkLimits) {
    this.#stamper = stamper;
    this.#limits = limits;
  }

  /**
   * The cuts of `records` (of `batch`'s partition, in order), the last one ending at `end` (where
   * the fetch ends). Lazy: a cut is made when the caller asks for it, after it queued the one
   * before, so no more than one cut's records are held beside the queue.
   */
  *cuts(batch: SourceBatch, records: readonly SourceRecord[], end: number, to: Destination): Generator<Cut> {
    const stamp = this.#stamp(batch.topic, batch.partition);
    let out: TargetRecord[] = [];
    /** Upper bound of `out` encoded (wireBytes). */
    let wire = 0;
    let payload = 0;
    let loops = 0;
    const cut = (nextOffset: number): Cut => {
      const made = {
        item: out.length === 0 ? undefined : item(batch, out, payload, to),
        nextOffset,
        firstTimestamp: Number(out[0]?.timestamp),
        loops,
      };
      out = [];
      wire = payload = loops = 0;
      return made;
    };
    let previous = -1;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as SourceRecord;
      const record = stamped(r, stamp, to.kind);
      if (record === 'loop')
        loops++; // the target already has it; committed past like any other
      else if (record !== 'relayed') {
        const size = wireBytes(record);
        // A chunk is one produce request: it is cut before the record that would make it larger.
        if (out.length > 0 && wire + size > this.#limits.requestBytes) yield cut(previous + 1);
        out.push(record);
        wire += size;
        payload += payloadBytes(record);
      }
      previous = Number(r.offset);
      const last = i === records.length - 1;
      if (last || wire + 12 * out.length >= this.#limits.bytes || out.length >= this.#limits.records)
        yield cut(last ? end : previous + 1);
    }
  }

  #stamp(topic: string, partition: number): (headers: HeaderList) => Stamped | undefined {
    const lane = partitionKey(topic, partition);
    let stamp = this.#stamps.get(lane);
    if (stamp === undefined) {
      stamp = provenanceStamp({ ...this.#stamper, topic, partition });
      this.#stamps.set(lane, stamp);
    }
    return stamp;
  }
}

/** The queue item of a cut's records. */
function item(
  batch: SourceBatch,
  records: readonly TargetRecord[],
  payload: number,
  to: Destination,
): Omit<WriteItem, 'ticket'> {
  // Encoded now: the queue holds one buffer per chunk, not objects per record.
  const chunk = encodeChunk(records, batch.compression);
  return {
    kind: to.kind,
    sourceTopic: batch.topic,
    sourcePartition: batch.partition,
    epoch: to.epoch,
    payload,
    topic: to.topic,
    partition: batch.partition,
    records: chunk,
    bytes: chunkCharge(chunk),
  };
}

/**
 * The record as written to the target, or why it is not: `loop`, the target cluster has it
 * already (loop guard); `relayed`, a heartbeat that came to the source from another cluster.
 */
function stamped(
  r: SourceRecord,
  stampOf: (headers: HeaderList) => Stamped | undefined,
  kind: RecordKind,
): TargetRecord | 'loop' | 'relayed' {
  // Only heartbeats written on this source are copied: one that came here from another cluster
  // would measure that cluster's path, not this flow's.
  if (kind === 'heartbeat' && r.headers.some(([key]) => key === ProvenanceHeader.origin)) return 'relayed';
  const stamp = stampOf(r.headers);
  if (stamp === undefined) return 'loop';
  return {
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: stamp.headers,
    tail: stamp.tail,
    offset: r.offset,
  };
}
