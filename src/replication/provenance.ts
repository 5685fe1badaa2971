import type { HeaderList } from './records.ts';

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

/**
 * Stamps records of one source partition; the constant headers are encoded once. Returns
 * `undefined` for a record the target cluster already has (its id is in the record's hops).
 *
 * Memory: a queued record's headers are most of its heap cost, so every pair that is the same for
 * consecutive records (cluster, topic, partition, and origin and hops for records that share a
 * path, which is all of them on a first hop) is one shared array, not one per record. Only the
 * offset pair is per record.
 */
export function provenanceStamp(
  origin: Origin,
): (headers: HeaderList, offset: number | string) => HeaderList | undefined {
  const fixed = [
    [ProvenanceHeader.cluster, origin.cluster],
    [ProvenanceHeader.topic, origin.topic],
    [ProvenanceHeader.partition, String(origin.partition)],
  ] as const;
  /** Origin and hops pairs of the last path seen, keyed by the record's incoming hops header. */
  let last: { hops: string | undefined; originId: string | undefined; pairs: HeaderList } | undefined;
  const pathPairs = (originId: string | undefined, hops: string | undefined): HeaderList | undefined => {
    if (last !== undefined && last.hops === hops && last.originId === originId) return last.pairs;
    const path = hops === undefined || hops === '' ? [origin.sourceId] : hops.split(',');
    if (path.includes(origin.targetId)) return undefined;
    const pairs: HeaderList = [
      [ProvenanceHeader.origin, originId ?? path[0] ?? origin.sourceId],
      [ProvenanceHeader.hops, `${path.join(',')},${origin.targetId}`],
    ];
    last = { hops, originId, pairs };
    return pairs;
  };
  return (headers, offset) => {
    let originId: string | undefined;
    let hops: string | undefined;
    let reserved = false;
    for (const [key, value] of headers) {
      if (!RESERVED.has(key)) continue;
      reserved = true;
      if (key === ProvenanceHeader.origin) originId = text(value);
      else if (key === ProvenanceHeader.hops) hops = text(value);
    }
    const path = pathPairs(originId, hops);
    if (path === undefined) return undefined;
    const kept = reserved ? headers.filter(([key]) => !RESERVED.has(key)) : headers;
    const out: Array<HeaderList[number]> = new Array(kept.length + 6);
    let i = 0;
    for (const pair of kept) out[i++] = pair;
    out[i++] = fixed[0];
    out[i++] = fixed[1];
    out[i++] = fixed[2];
    out[i++] = [ProvenanceHeader.offset, String(offset)];
    out[i++] = path[0] as HeaderList[number];
    out[i] = path[1] as HeaderList[number];
    return out;
  };
}
