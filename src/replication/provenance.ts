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
 * Stamps records of one source partition; the constant headers are encoded once. Returns
 * `undefined` for a record the target cluster already has (its id is in the record's hops).
 */
export function provenanceStamp(
  origin: Origin,
): (headers: HeaderList, offset: number | string) => HeaderList | undefined {
  const fixed = [
    [ProvenanceHeader.cluster, origin.cluster],
    [ProvenanceHeader.topic, origin.topic],
    [ProvenanceHeader.partition, String(origin.partition)],
  ] as const;
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
    const path = hops === undefined || hops === '' ? [origin.sourceId] : hops.split(',');
    if (path.includes(origin.targetId)) return undefined;
    const kept = reserved ? headers.filter(([key]) => !RESERVED.has(key)) : headers;
    return [
      ...kept,
      ...fixed,
      [ProvenanceHeader.offset, String(offset)],
      [ProvenanceHeader.origin, originId ?? path[0] ?? origin.sourceId],
      [ProvenanceHeader.hops, `${path.join(',')},${origin.targetId}`],
    ];
  };
}
