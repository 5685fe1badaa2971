import { encodeHeaders } from '../protocol/record-format.ts';
import type { HeaderList, ProvenanceTail } from '../protocol/records.ts';

/**
 * Provenance headers stamped on every replicated record. These names are reserved: a record
 * that already carries them (from an earlier hop) has them replaced; every other header is kept
 * byte for byte and in order.
 *
 * - `km.src.*`: the immediate source: cluster alias, topic, partition and offset. Offsets are not
 *   preserved, so `km.src.offset` is how a consumer that moves to the target finds its position.
 * - `km.origin`: the Kafka cluster id where the record was first written.
 * - `km.hops`: the cluster ids the record has been written to, origin first, comma-separated.
 *   A flow never writes a record into a cluster already in its hops: that is the loop guard, and
 *   it holds in any topology, identity names included (a ring A -> B -> C -> A stops at A).
 */
export const ProvenanceHeader = {
  cluster: 'km.src.cluster',
  topic: 'km.src.topic',
  partition: 'km.src.partition',
  offset: 'km.src.offset',
  origin: 'km.origin',
  hops: 'km.hops',
} as const;

const RESERVED: ReadonlySet<string> = new Set(Object.values(ProvenanceHeader));

export interface Origin {
  /** The source cluster's alias. */
  readonly cluster: string;
  readonly topic: string;
  readonly partition: number;
  /** Kafka cluster ids of the flow's source and target (aliases when unknown). */
  readonly sourceId: string;
  readonly targetId: string;
}

const text = (value: Buffer | string | null | undefined) =>
  value === null || value === undefined ? undefined : value.toString();

/**
 * The source offset a record carries when it was replicated from this source partition (its
 * km.src.cluster, topic and partition match); undefined for a record written on its own cluster or
 * replicated from elsewhere (fan-in, the other direction of active-active).
 */
export function replicatedFrom(
  headers: HeaderList,
  source: { readonly cluster: string; readonly topic: string; readonly partition: number },
): number | undefined {
  let cluster: string | undefined;
  let topic: string | undefined;
  let partition: string | undefined;
  let offset: string | undefined;
  for (const [key, value] of headers) {
    if (key === ProvenanceHeader.cluster) cluster = text(value);
    else if (key === ProvenanceHeader.topic) topic = text(value);
    else if (key === ProvenanceHeader.partition) partition = text(value);
    else if (key === ProvenanceHeader.offset) offset = text(value);
  }
  if (cluster !== source.cluster || topic !== source.topic || partition !== String(source.partition))
    return undefined;
  return offset === undefined ? undefined : Number(offset);
}

/** A record as stamped: the headers it keeps from the source, then the provenance tail. */
export interface Stamped {
  readonly headers: HeaderList;
  readonly tail: ProvenanceTail;
}

/**
 * Stamps records of one source partition. Returns `undefined` for a record the target cluster
 * already has (its id is in the record's hops).
 *
 * Everything but the offset is the same for consecutive records (cluster, topic, partition, and
 * origin and hops for records that share a path, which is all of them on a first hop), so it is
 * one tail, encoded once (issue 8: the six pairs written string by string were a tenth of the
 * copy's CPU); the record's offset goes between its two parts when the record is encoded.
 */
export function provenanceStamp(origin: Origin): (headers: HeaderList) => Stamped | undefined {
  const fixed = [
    [ProvenanceHeader.cluster, origin.cluster],
    [ProvenanceHeader.topic, origin.topic],
    [ProvenanceHeader.partition, String(origin.partition)],
  ] as const;
  const before = encodeHeaders(fixed);
  const offsetKey = encodeHeaders([[ProvenanceHeader.offset, null]]).subarray(0, -1); // the key alone
  const beforeOffset = Buffer.concat([before, offsetKey]);
  /** The tail of the last path seen, keyed by the record's incoming origin and hops headers. */
  let last: { hops: string | undefined; originId: string | undefined; tail: ProvenanceTail } | undefined;
  const tailOf = (originId: string | undefined, hops: string | undefined): ProvenanceTail | undefined => {
    if (last !== undefined && last.hops === hops && last.originId === originId) return last.tail;
    const path = hops === undefined || hops === '' ? [origin.sourceId] : hops.split(',');
    if (path.includes(origin.targetId)) return undefined;
    const pathPairs = [
      [ProvenanceHeader.origin, originId ?? path[0] ?? origin.sourceId],
      [ProvenanceHeader.hops, `${path.join(',')},${origin.targetId}`],
    ] as const;
    const pairs = [...fixed, ...pathPairs];
    let payload = ProvenanceHeader.offset.length;
    for (const [key, value] of pairs) payload += Buffer.byteLength(key) + Buffer.byteLength(value);
    const tail = { before: beforeOffset, after: encodeHeaders(pathPairs), payload, pairs };
    last = { hops, originId, tail };
    return tail;
  };
  return (headers) => {
    let originId: string | undefined;
    let hops: string | undefined;
    let reserved = false;
    for (const [key, value] of headers) {
      if (!RESERVED.has(key)) continue;
      reserved = true;
      if (key === ProvenanceHeader.origin) originId = text(value);
      else if (key === ProvenanceHeader.hops) hops = text(value);
    }
    const tail = tailOf(originId, hops);
    if (tail === undefined) return undefined;
    return { headers: reserved ? headers.filter(([key]) => !RESERVED.has(key)) : headers, tail };
  };
}

/** Every header of a stamped record with this source offset, in the order it is written. */
export function stampedHeaders(stamped: Stamped, offset: number | string): HeaderList {
  const { pairs } = stamped.tail;
  return [
    ...stamped.headers,
    ...pairs.slice(0, 3),
    [ProvenanceHeader.offset, String(offset)],
    ...pairs.slice(3),
  ];
}
