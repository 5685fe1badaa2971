// Replaces kafkajs/src/protocol/requests/produce/v3/request.js, the Produce v3 request encoder
// (which produce v4 to v7 reuse), with protocol/produce-request.ts's produceRequestV3.
//
// Why: speed (issue 8 profiles). kafkajs encodes each record, then each batch, then the request,
// copying the bytes at every level; produceRequestV3 sizes the request first and writes it in one
// pass, with the same bytes (test/unit/protocol/produce-request.test.ts), and sends a chunk of
// records already in Kafka's format (record-chunk.ts) as it is. Batches are compressed with the
// codecs registered in kafkajs (its own gzip, and those of codecs.ts).
import { produceRequestV3, type CodecLookup, type ProduceArgs } from '../../protocol/produce-request.ts';
import { kafkajsModule, replaceModule, type ModuleSwap } from './module-cache.ts';

export const swap: ModuleSwap = {
  module: 'protocol/requests/produce/v3/request.js',
  capturedBy: [
    'protocol/requests/produce/index.js',
    'protocol/requests/produce/v4/request.js',
    'protocol/requests/produce/v5/request.js',
  ],
};

export function installProduceRequest(): void {
  const { lookupCodec } = kafkajsModule<{ lookupCodec: CodecLookup }>(
    'protocol/message/compression/index.js',
  );
  replaceModule('produce-request.ts', swap, (args: ProduceArgs) => produceRequestV3(args, lookupCodec));
}
