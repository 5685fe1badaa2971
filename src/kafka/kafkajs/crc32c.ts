// Replaces kafkajs/src/protocol/recordBatch/crc32C/index.js, the CRC-32C of a record batch, which
// protocol/recordBatch/v0/index.js (kafkajs's RecordBatch encoder) captures.
//
// Why: speed (issue 8 profiles). kafkajs computes it in JavaScript a byte at a time (5 ms per
// MiB); @node-rs/crc32's CRC-32C (N-API, prebuilt, hardware instructions) gives the same value
// (test/unit/kafka/kafkajs/crc32c.test.ts), as kafkajs's unsigned number. It must be installed
// before anything loads kafkajs's record batch modules (the fetch decoder does:
// decode-messages.ts), or RecordBatch keeps kafkajs's own.
import { crc32c } from '../../protocol/record-format.ts';
import { replaceModule, type ModuleSwap } from './module-cache.ts';

export const swap: ModuleSwap = {
  module: 'protocol/recordBatch/crc32C/index.js',
  capturedBy: ['protocol/recordBatch/v0/index.js'],
};

export function installCrc32c(): void {
  replaceModule('crc32c.ts', swap, (buffer: Buffer) => crc32c(buffer) >>> 0);
}
