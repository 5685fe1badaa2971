import type { HeaderList } from './records.ts';

/**
 * Provenance headers stamped on every replicated record. The `km.src.` prefix is reserved:
 * headers under it that a record already carries from an earlier hop are replaced, every other header is
 * kept byte for byte and in order. `km.src.offset` is the source offset, so a consumer that moves
 * to the target can find its position (offsets themselves are not preserved).
 */
export const ProvenanceHeader = {
  cluster: 'km.src.cluster',
  topic: 'km.src.topic',
  partition: 'km.src.partition',
  offset: 'km.src.offset',
} as const;

const RESERVED = 'km.src.';

export interface Origin {
  /** The source cluster's alias. */
  readonly cluster: string;
  readonly topic: string;
  readonly partition: number;
}

/** Stamps records of one source partition; the constant headers are encoded once. */
export function provenanceStamp(
  origin: Origin,
): (headers: HeaderList, offset: number | string) => HeaderList {
  const fixed = [
    [ProvenanceHeader.cluster, origin.cluster],
    [ProvenanceHeader.topic, origin.topic],
    [ProvenanceHeader.partition, String(origin.partition)],
  ] as const;
  return (headers, offset) => {
    const kept = headers.some(([key]) => key.startsWith(RESERVED))
      ? headers.filter(([key]) => !key.startsWith(RESERVED))
      : headers;
    return [...kept, ...fixed, [ProvenanceHeader.offset, String(offset)]];
  };
}
