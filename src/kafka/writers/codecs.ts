// The compression codec of a produce request: the configured one, or the one the records had on
// the source (`producer.compression: source`).
import type { Compression, TargetCompression } from '../../config/index.ts';
import type { RecordChunk } from '../../protocol/record-chunk.ts';
import { kafkajs } from '../kafkajs/index.ts';

const { CompressionTypes } = kafkajs;

/** kafkajs's codec id of each codec kafka-mirror writes with (its codecs are registered in kafkajs/index.ts). */
export const COMPRESSION: Readonly<Record<Compression, number>> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The codec a chunk is written with: the configured one, or with `source` the one its records had there. */
export const codecOf = (setting: TargetCompression, chunk: RecordChunk): number =>
  COMPRESSION[setting === 'source' ? (chunk.compression ?? 'none') : setting];
