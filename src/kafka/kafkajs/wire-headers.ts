// The headers of a record as the patched record codec has them (record-decoder.ts decodes them,
// protocol/record-format.ts's encodeRecord, installed by record-encoder.ts, writes them): an
// ordered list of [key, value] pairs, exactly as on the wire, in place of kafkajs's object keyed
// by name (which regroups duplicates and cannot size a null value).
import { KafkaJsPatchError } from '../../errors/index.ts';
import type * as KafkaJs from 'kafkajs';

/** Ordered `[key, value]` header pairs of a record, exactly as on the wire. */
export type WireHeaders = ReadonlyArray<readonly [string, Buffer | null]>;

/** The ordered headers of a consumed record (the patched decoder's list). */
export function wireHeaders(headers: unknown): WireHeaders {
  if (!Array.isArray(headers))
    throw new KafkaJsPatchError(
      'record-decoder.ts',
      'record headers were not decoded by the patched decoder',
    );
  return headers as WireHeaders;
}

/**
 * A `headers` value for kafkajs's producer that the patched encoder writes in exactly this order.
 * String values are written as their UTF-8 bytes.
 */
export function producerHeaders(
  list: ReadonlyArray<readonly [string, Buffer | string | null]>,
): KafkaJs.IHeaders {
  return list as unknown as KafkaJs.IHeaders;
}
