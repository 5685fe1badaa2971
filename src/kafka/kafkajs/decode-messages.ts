// Replaces kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js, the decoder of one fetched
// partition's record set, which the Fetch v4 to v11 response decoders capture. kafkajs's own
// decoder still decodes the records: this wraps it.
//
// Why: memory (issue 3) and integrity. The record set's batch headers are read and checked first
// (record-batches.ts, as Kafka's consumer with check.crcs), and what they hold is recorded
// (record-sets.ts) for the fetch sizer, the fetch order and the patched Batch. A batch that fails
// its check is never decoded, nor anything after it: kafkajs would decode it, or skip it for a
// later one (Kafka's consumer raises an error there). A record set the decode budget cut short
// (decode-budget.ts) is recorded as far as its records were decoded.
import { decodeBudget } from './decode-budget.ts';
import { kafkajsModule, replaceModule, type ModuleSwap } from './module-cache.ts';
import { cutShort, recordFetchedSet, recordSetOf } from './record-sets.ts';

export const swap: ModuleSwap = {
  module: 'protocol/requests/fetch/v4/decodeMessages.js',
  capturedBy: [
    'protocol/requests/fetch/v4/response.js',
    'protocol/requests/fetch/v5/response.js',
    'protocol/requests/fetch/v7/response.js',
    'protocol/requests/fetch/v8/response.js',
    'protocol/requests/fetch/v11/response.js',
  ],
};

/** kafkajs's Decoder (protocol/decoder.js): what decodeMessages reads from. */
interface Decoder {
  buffer: Buffer;
  offset: number;
}
type DecodeMessages = (decoder: Decoder) => Promise<unknown[]>;

/** The records of the record set at the decoder's offset, decoded by kafkajs up to the first invalid batch. */
async function decodeValid(
  decoder: Decoder,
  decodeMessages: DecodeMessages,
  KafkaDecoder: new (buffer: Buffer) => Decoder,
): Promise<unknown[]> {
  const start = decoder.offset;
  const { end, ...set } = recordSetOf(decoder.buffer, start);
  const budget = decodeBudget();
  const refused = budget?.refused ?? 0;
  let records: unknown[];
  if (set.invalid === undefined) records = await decodeMessages(decoder);
  else {
    // Only the batches before the invalid one are decoded: its bytes cannot be trusted.
    const valid = decoder.buffer.subarray(start + 4, set.invalid.position);
    const size = Buffer.alloc(4);
    size.writeInt32BE(valid.length);
    records = await decodeMessages(new KafkaDecoder(Buffer.concat([size, valid])));
    decoder.offset = end;
  }
  recordFetchedSet(records, budget !== undefined && budget.refused > refused ? cutShort(set, records) : set);
  return records;
}

export function installDecodeMessages(): void {
  const KafkaDecoder = kafkajsModule<new (buffer: Buffer) => Decoder>('protocol/decoder.js');
  const decodeMessages = kafkajsModule<DecodeMessages>(swap.module);
  replaceModule('decode-messages.ts', swap, (decoder: Decoder) =>
    decodeValid(decoder, decodeMessages, KafkaDecoder),
  );
}
