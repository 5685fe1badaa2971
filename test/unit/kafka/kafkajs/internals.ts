// The table of internals.test.ts: every kafkajs 2.2.4 file a patch of src/kafka/kafkajs/ replaces
// or reaches into, its sha256 as installed, and the shape the patch relies on. A shape receives
// kafkajs's own module (its file evaluated apart from the patched module cache) and its text, and
// throws where they differ from what the patch expects.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encodeHeaders, encodeRecord } from '../../../../src/protocol/record-format.ts';

const require = createRequire(import.meta.url);

/** A kafkajs module as a shape sees it. */
export interface Loaded {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JavaScript module of any shape
  readonly exports: any;
  readonly source: string;
}
type Shape = (loaded: Loaded) => void;

export interface Internal {
  /** Relative to the kafkajs package. */
  readonly file: string;
  readonly sha256: string;
  /** The files under src/kafka/kafkajs/ to re-check when it changes. */
  readonly patches: readonly string[];
  /** What they rely on, in words. */
  readonly relies: string;
  readonly shape: Shape;
}

const all =
  (...shapes: Shape[]): Shape =>
  (loaded) => {
    for (const shape of shapes) shape(loaded);
  };
/** An exported function of this arity (or the export named `key`). */
const fn =
  (arity: number, key?: string): Shape =>
  ({ exports }) => {
    const f = key === undefined ? exports : exports[key];
    assert.equal(typeof f, 'function', `${key ?? 'the export'} is a function`);
    assert.equal(f.length, arity, `${key ?? 'the export'} takes ${arity} arguments`);
  };
/** An exported class with these prototype methods, each of this arity. */
const methods =
  (arities: Record<string, number>): Shape =>
  ({ exports }) => {
    for (const [name, arity] of Object.entries(arities)) {
      assert.equal(typeof exports.prototype?.[name], 'function', `prototype.${name}`);
      assert.equal(exports.prototype[name].length, arity, `prototype.${name} takes ${arity} arguments`);
    }
  };
/** Source text the patch relies on (fields assigned, calls made), each matched. */
const has =
  (...patterns: RegExp[]): Shape =>
  ({ source }) => {
    for (const pattern of patterns) assert.match(source, pattern);
  };
const run =
  (check: (exports: Loaded['exports']) => void): Shape =>
  ({ exports }) =>
    check(exports);

type KafkaDecoder = new (buffer: Buffer) => { readVarIntBytes(): Buffer };
const Decoder = (): KafkaDecoder => require('kafkajs/src/protocol/decoder.js') as KafkaDecoder;
const sampleRecord = {
  offsetDelta: 3,
  timestampDelta: 5,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  headers: { a: Buffer.from('1') },
};

/** kafkajs's record decoder returns the fields and values of the patched one (headers apart). */
function sameRecordFields(
  kafkajsDecode: (decoder: object, context: object) => Record<string, unknown>,
): void {
  const patched = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as typeof kafkajsDecode;
  const context = { firstOffset: '100', firstTimestamp: '1700000000000', magicByte: 2, timestampType: 0 };
  const bytes = () => new (Decoder())(encodeRecord(sampleRecord).buffer).readVarIntBytes();
  const { headers: theirs, ...kafkajs } = kafkajsDecode(new (Decoder())(bytes()), context);
  const { headers: ours, ...patch } = patched(new (Decoder())(bytes()), context);
  assert.deepEqual(patch, kafkajs);
  assert.deepEqual([theirs, ours], [{ a: Buffer.from('1') }, [['a', Buffer.from('1')]]]);
}

export const internals: readonly Internal[] = [
  {
    file: 'src/protocol/recordBatch/record/v0/decoder.js',
    sha256: '86d740054c8be29b02873bf2871eb43ba5004af94324610541dbab2d9fabcc65',
    patches: ['record-decoder.ts'],
    relies: '(decoder, batchContext = {}) => the record, same fields as the patch',
    shape: all(fn(1), run(sameRecordFields)),
  },
  {
    file: 'src/protocol/recordBatch/header/v0/decoder.js',
    sha256: '050b16c7a8541207dbd34e847b337c1dd1d9587ebd3324126fcafa528eb6a4c6',
    patches: ['record-decoder.ts'],
    relies: '(decoder) => { key, value }',
    shape: all(
      fn(1),
      run((decode) =>
        assert.deepEqual(decode(new (Decoder())(encodeHeaders([['k', Buffer.from('v')]]))), {
          key: 'k',
          value: Buffer.from('v'),
        }),
      ),
    ),
  },
  {
    file: 'src/protocol/timestampTypes.js',
    sha256: '378af03d76b5bdc25bd8796ebfe37a4a24b7ce443164601d2232a445858be96d',
    patches: ['record-decoder.ts'],
    relies: 'LOG_APPEND_TIME',
    shape: run((types) => assert.equal(types.LOG_APPEND_TIME, 1)),
  },
  {
    file: 'src/utils/long.js',
    sha256: 'c85b8ecea7cf07520328e3e9c3b205c4fab5b68a657e3a92c400b582a5c1aa2c',
    patches: ['record-decoder.ts'],
    relies: 'Long.fromValue(v).add(n).toString()',
    shape: run((Long) =>
      assert.equal(Long.fromValue('9007199254740993').add(2).toString(), '9007199254740995'),
    ),
  },
  {
    file: 'src/protocol/decoder.js',
    sha256: '83c43fac8d6b8ef2dcf0dfe8bc4494e84c2c94d2b59fbe41a670505a5fcba41b',
    patches: ['record-decoder.ts', 'decode-messages.ts'],
    relies: 'new Decoder(buffer) with fields buffer and offset, and its read methods',
    shape: all(
      methods({ readInt8: 0, readInt32: 0, readVarLong: 0, readVarInt: 0, readVarIntBytes: 0 }),
      run((KafkaDecoder) => {
        const buffer = Buffer.from([1]);
        const decoder = new KafkaDecoder(buffer);
        assert.equal(decoder.buffer, buffer);
        assert.equal(decoder.offset, 0);
      }),
    ),
  },
  {
    file: 'src/protocol/recordBatch/record/v0/index.js',
    sha256: 'ffbc628c1f35f5de8ba798165616b1009d9af1c27ca959999a10e6e3c18f8215',
    patches: ['record-encoder.ts'],
    relies: '({ offsetDelta, timestampDelta, key, value, headers }) => an Encoder of the record, same bytes',
    shape: all(
      fn(1),
      run((Record) => assert.deepEqual(Record(sampleRecord).buffer, encodeRecord(sampleRecord).buffer)),
    ),
  },
  {
    file: 'src/producer/groupMessagesPerPartition.js',
    sha256: 'ea72357721fbf67770b5e06b9bf4260faa1e60f3affb556bff2cc7892c1881fb',
    patches: ['group-messages.ts'],
    relies: '({ topic, partitionMetadata, messages, partitioner }) => partition -> messages in order',
    shape: all(
      fn(1),
      run((group) => {
        const messages = [{ p: 1 }, { p: 0 }, { p: 1 }];
        const grouped = group({
          topic: 't',
          partitionMetadata: [{}, {}],
          messages,
          partitioner: ({ message }: { message: { p: number } }) => message.p,
        });
        assert.deepEqual(grouped, { 0: [messages[1]], 1: [messages[0], messages[2]] });
      }),
    ),
  },
  {
    file: 'src/protocol/recordBatch/crc32C/index.js',
    sha256: '0826ea7387f25400b1a24bacdbba85db9c1f2e932f168874728a9ecaf1eb2379',
    patches: ['crc32c.ts'],
    relies: '(buffer) => the CRC-32C',
    shape: all(
      fn(1),
      run((crc) => assert.equal(crc(Buffer.from('123456789')) >>> 0, 0xe3069283)),
    ),
  },
  {
    file: 'src/protocol/recordBatch/v0/decoder.js',
    sha256: '38cae7fc865f9bc51941353e1f6e9419227a8799ba4efb437199393a4eb94819',
    patches: ['index.ts', 'record-decoder.ts', 'codecs.ts'],
    relies:
      'its load means kafkajs is loaded; it decodes records with record/v0/decoder and awaits codec.decompress per batch',
    shape: all(
      fn(1),
      has(/require\('\.\.\/record\/v0\/decoder'\)/, /await codec\.decompress\(compressedRecordsBuffer\)/),
    ),
  },
  {
    file: 'src/protocol/requests/fetch/v4/decodeMessages.js',
    sha256: 'd9fede59bebf84ee15169d0ecc54df594a11722b6ba8d5db535ed1d8548d4fcc',
    patches: ['decode-messages.ts', 'codecs.ts'],
    relies:
      'async (decoder) => records, from the int32 size at the offset; a KafkaJSPartialMessageError ends the record set',
    shape: all(
      fn(1),
      has(
        /const messagesSize = decoder\.readInt32\(\)/,
        /if \(e\.name === 'KafkaJSPartialMessageError'\) \{\s*break/,
      ),
    ),
  },
  {
    file: 'src/consumer/batch.js',
    sha256: '04ee8657247441599f200af5871ce6b3c4463abe941b97405502f8f5f683face',
    patches: ['batch.ts'],
    relies: 'new Batch(topic, fetchedOffset, partitionData) with these fields; isEmpty(), lastOffset()',
    shape: all(
      methods({ isEmpty: 0, lastOffset: 0 }),
      run((Batch) => {
        assert.equal(Batch.length, 3);
        const data = { partition: 0, highWatermark: '0', messages: [], abortedTransactions: [] };
        assert.deepEqual(Object.keys(new Batch('t', '0', data)).sort(), [
          'fetchedOffset',
          'highWatermark',
          'messages',
          'messagesWithinOffset',
          'partition',
          'rawMessages',
          'topic',
        ]);
      }),
    ),
  },
  {
    file: 'src/consumer/runner.js',
    sha256: 'fad3247df2e3ba483b94e014e5c5916fd72d7bdfc3b3dfccc5232b60da18306d',
    patches: ['runner.ts', 'batch.ts'],
    relies: 'prototype.handleBatch(batch) for every fetched batch; this.eachBatch set by the constructor',
    shape: all(
      methods({ handleBatch: 1 }),
      has(/this\.eachBatch = eachBatch/, /handler: batch => this\.handleBatch\(batch\)/),
    ),
  },
  {
    file: 'src/protocol/requests/produce/v3/request.js',
    sha256: '993a3db997827088f5acb08cacf3c67a99ec2886303ff465d244329b8a1c7f99',
    patches: ['produce-request.ts'],
    relies:
      '({ acks, timeout, transactionalId, producerId, producerEpoch, compression, topicData }) => request',
    shape: all(
      fn(1),
      has(
        /module\.exports = \(\{\s*acks,\s*timeout,\s*transactionalId = null,\s*producerId = [^,]+,\s*producerEpoch = 0,\s*compression = Types\.None,\s*topicData,\s*\}\)/,
      ),
    ),
  },
  {
    file: 'src/protocol/message/compression/index.js',
    sha256: '666ec6400225fe90e42f6a59d7bbda2028f4150699dda04524689ccf1f0cb2c1',
    patches: ['produce-request.ts', 'codecs.ts'],
    relies: 'lookupCodec(type) and the Codecs registry, by these Types',
    shape: all(
      fn(1, 'lookupCodec'),
      run(({ Types, Codecs }) => {
        assert.deepEqual(Types, { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 });
        assert.equal(typeof Codecs[Types.GZIP], 'function');
      }),
    ),
  },
  {
    file: 'src/protocol/request.js',
    sha256: '2270900ca6474026c11957fe71ac586881985460ed2554db22ad8870dcaff634',
    patches: ['request-framing.ts'],
    relies: 'async ({ correlationId, clientId, request: { apiKey, apiVersion, encode } }) => the frame',
    shape: all(
      fn(1),
      has(/async \(\{ correlationId, clientId, request: \{ apiKey, apiVersion, encode \} \}\)/),
    ),
  },
  {
    file: 'src/consumer/consumerGroup.js',
    sha256: 'f3e461738585a8dc6574c647123a18afc732f81cdee4f9f7bb62e4aa1dffbfbb',
    patches: ['group-fetch-limits.ts', 'batch.ts'],
    relies:
      'prototype.fetch(nodeId) reads this.maxBytes and this.maxBytesPerPartition, which the constructor sets',
    shape: all(
      methods({ fetch: 1 }),
      has(
        /this\.groupId = groupId/,
        /this\.maxBytesPerPartition = maxBytesPerPartition/,
        /this\.maxBytes = maxBytes/,
        /maxBytes: this\.maxBytesPerPartition/,
        /maxBytes: this\.maxBytes,/,
        /new Batch\(/,
      ),
    ),
  },
  {
    file: 'src/utils/shuffle.js',
    sha256: 'dc15861f6c700863176d62d968f77632552b78a5affaea1de720e35d750cd83a',
    patches: ['broker-fetch.ts'],
    relies: '(array) => the same elements, reordered',
    shape: all(
      fn(1),
      run((shuffle) => assert.deepEqual([...shuffle([1, 2, 3])].sort(), [1, 2, 3])),
    ),
  },
  {
    file: 'src/broker/index.js',
    sha256: '9cbea8898528c439c213080f99d86974460114f81b5034c49aeb593a0337ca90',
    patches: ['broker-fetch.ts'],
    relies: 'prototype.fetch(request) shuffles its partitions before its first await',
    shape: all(methods({ fetch: 1 }), ({ source }) => {
      const body = source.slice(source.indexOf('  async fetch({'));
      const shuffled = body.indexOf('shuffle(flattenedTopicPartitions)');
      assert.ok(shuffled > 0 && shuffled < body.indexOf('await '), 'shuffle before the first await');
    }),
  },
  {
    file: 'src/network/connection.js',
    sha256: '2a993b2e74421ca6d846efd59e4ba74b11100dbe7d40d0f52ea3218e917aafdd',
    patches: ['connection.ts'],
    relies: 'connect() makes this.socket at once; processData(rawData) per socket read; these fields',
    shape: all(
      methods({ connect: 0, disconnect: 0, processData: 1, isConnected: 0 }),
      run((Connection) => assert.equal(Connection.prototype.connect.constructor.name, 'Function')),
      has(
        /connect\(\) \{\s*return new Promise\(/,
        /this\.socket = createSocket\(/,
        /this\.processData\(data\)/,
        /this\.authHandlers = null/,
        /this\.authExpectResponse = false/,
        /if \(this\.authHandlers && !this\.authExpectResponse\)/,
        /this\.requestQueue = new RequestQueue\(/,
        /this\.requestQueue\.fulfillRequest\(\{/,
        /this\.broker = /,
        /this\.clientId = clientId/,
        /this\.logger = logger\.namespace\('Connection'\)/,
      ),
    ),
  },
  {
    file: 'src/network/connection.js',
    sha256: '2a993b2e74421ca6d846efd59e4ba74b11100dbe7d40d0f52ea3218e917aafdd',
    patches: ['reauthentication.ts'],
    relies:
      'isAuthenticated() alone decides re-authentication (send() and Broker.connect ask it); authenticatedAt from process.hrtime(), sessionLifetime a Long',
    shape: all(
      methods({ isAuthenticated: 0 }),
      has(
        /this\.authenticatedAt = process\.hrtime\(\)/,
        /this\.sessionLifetime = Long\.fromValue\(authenticator\.sessionLifetime\)/,
        /if \(!this\.isAuthenticated\(\) && isAuthenticatedRequest\(request\)\)/,
        /if \(this\.sasl && !this\.isAuthenticated\(\)\)/,
      ),
    ),
  },
  {
    file: 'src/network/requestQueue/index.js',
    sha256: 'b55986089c14f8f7bfc377922e2e65b3e4c1e7c7af2752d3b10a75dfe9e9260c',
    patches: ['request-queue.ts', 'connection.ts'],
    relies:
      'prototype.scheduleCheckPendingRequests(), checkPendingRequests(), fulfillRequest(response); these fields',
    shape: all(
      methods({ scheduleCheckPendingRequests: 0, checkPendingRequests: 0, fulfillRequest: 1 }),
      has(
        /this\.pending = \[\]/,
        /this\.throttledUntil = -1/,
        /this\.throttleCheckTimeoutId = null/,
        /const CHECK_PENDING_REQUESTS_INTERVAL = 10\b/,
        /fulfillRequest\(\{ correlationId, payload, size \}\)/,
      ),
    ),
  },
  {
    file: 'src/network/socketFactory.js',
    sha256: '1493fc580263350fdbe75fa633b6df70f39d4b11d0520b45243cb1df45168577',
    patches: ['socket-factory.ts'],
    relies: '() => ({ host, port, ssl, onConnect }) => socket',
    shape: all(
      fn(0),
      run((factory) => assert.equal(factory().length, 1)),
    ),
  },
  {
    file: 'src/errors.js',
    sha256: 'bb3e50177a7b73f4cd35b3318d50a2fc50d9e631488c6ae89669b31aee25c926',
    patches: ['codecs.ts'],
    relies: 'KafkaJSPartialMessageError, named so',
    shape: run(({ KafkaJSPartialMessageError }) =>
      assert.equal(new KafkaJSPartialMessageError('m').name, 'KafkaJSPartialMessageError'),
    ),
  },
  {
    file: 'index.js',
    sha256: '96168b2062437618fa495313315a9cf8166c0c8d1a533d01cb2d744f67e5b380',
    patches: ['index.ts', 'codecs.ts'],
    relies: 'Kafka, logLevel, and CompressionCodecs as the registry lookupCodec reads',
    shape: run((kafkajs) => {
      assert.equal(typeof kafkajs.Kafka, 'function');
      assert.equal(typeof kafkajs.logLevel, 'object');
      const compression = require('kafkajs/src/protocol/message/compression/index.js');
      assert.equal(kafkajs.CompressionCodecs, compression.Codecs);
      assert.equal(kafkajs.CompressionTypes, compression.Types);
    }),
  },
];
