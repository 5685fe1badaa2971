// Registers compression codecs in kafkajs's registry (CompressionCodecs of kafkajs's index.js, from
// kafkajs/src/protocol/message/compression/index.js): snappy, lz4 and zstd, which kafkajs 2.2.4
// does not ship, and its own gzip wrapped; each decompresses within the decode budget of the fetch
// it runs in (decode-budget.ts).
//
// Why: a replicator must read whatever codec the source topics use. snappy: kafkajs-snappy (pure
// JS) to compress and protocol/snappy.ts to decompress into one buffer (kafkajs-snappy copied a
// batch's output once per block); lz4: protocol/lz4.ts both ways in JavaScript, Kafka's LZ4 frame
// format (every buffer stays visible to the garbage collector); zstd: Node 24's built-in zlib.
// A batch the budget refuses fails as kafkajs's KafkaJSPartialMessageError, which kafkajs's fetch
// decoder takes for a batch the size limit cut: it is left for the next fetch.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type * as KafkaJs from 'kafkajs';
import { compressFrame, decompressFrame } from '../../protocol/lz4.ts';
import { decompressSnappy } from '../../protocol/snappy.ts';
import { decodeBudget } from './decode-budget.ts';
import { kafkajsModule, kafkajsRequire } from './module-cache.ts';

type Decompress = (buffer: Buffer) => Buffer | Promise<Buffer>;

/** A codec's decompression within the decode budget of the fetch it runs in (decode-budget.ts). */
const budgeted =
  (decompress: Decompress, PartialMessageError: new (message: string) => Error) =>
  async (buffer: Buffer): Promise<Buffer> => {
    const budget = decodeBudget();
    if (budget !== undefined && !budget.admit())
      throw new PartialMessageError('the decode budget of this fetch is spent');
    const decoded = await decompress(buffer);
    budget?.charge(decoded);
    return decoded;
  };

export function installCodecs(kafkajs: typeof KafkaJs): void {
  const zstdCompress = promisify(zlib.zstdCompress);
  const zstdDecompress = promisify(zlib.zstdDecompress);
  const snappy = kafkajsRequire('kafkajs-snappy') as () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  };
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  const { KafkaJSPartialMessageError } = kafkajsModule<{
    KafkaJSPartialMessageError: new (message: string) => Error;
  }>('errors.js');
  const within = (decompress: Decompress) => budgeted(decompress, KafkaJSPartialMessageError);
  const gzip = CompressionCodecs[CompressionTypes.GZIP]();
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    ...gzip,
    decompress: within((b) => gzip.decompress(b)),
  });
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: snappy().compress,
    decompress: within(decompressSnappy),
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
    decompress: within(decompressFrame),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: (encoder: { buffer: Buffer }) => zstdCompress(encoder.buffer),
    decompress: within(zstdDecompress),
  });
}
