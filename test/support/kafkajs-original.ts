// kafkajs's own modules, as shipped, for tests that compare the patched encoders and decoders of
// src/kafka/ with what kafkajs itself computes; and sample records that exercise every field.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TargetRecord } from '../../src/protocol/records.ts';
import type { CodecLookup } from '../../src/protocol/produce-request.ts';

const require = createRequire(import.meta.url);

/** A kafkajs module (`kafkajs/src/<relative>`) evaluated apart from the patched module cache. */
export function original<T>(relative: string): T {
  const file = require.resolve(`kafkajs/src/${relative}`);
  const module = { exports: {} as T };
  const load = new Function('require', 'module', 'exports', readFileSync(file, 'utf8'));
  load(createRequire(file), module, module.exports);
  return module.exports;
}

type Request = { encode(): Promise<{ buffer: Buffer }> };
export const kafkajsProduce = original<(args: object) => Request>('protocol/requests/produce/v3/request.js');
export const kafkajsFrame = original<(args: object) => Promise<{ buffer: Buffer }>>('protocol/request.js');

/** Records with null and present keys and values, timestamps out of order, duplicate, null and empty headers. */
export const sampleRecords = (count: number): TargetRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: i % 5 === 0 ? null : randomBytes(i * 37),
    // Out of order, as records of one source partition can be (CreateTime is the producer's).
    timestamp: String(1_700_000_000_000 + ((i * 7919) % 1000)),
    headers: [
      ['trace', Buffer.from('a')],
      ['trace', null],
      ['empty', Buffer.alloc(0)],
      ['km.src.offset', String(i)],
    ],
  }));

/** The compression codecs registered in kafkajs (the patched index registers snappy, lz4 and zstd). */
export const kafkajsCodecs = (
  require('kafkajs/src/protocol/message/compression') as { lookupCodec: CodecLookup }
).lookupCodec;
