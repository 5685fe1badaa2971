// The one place that loads kafkajs (2.2.4). Everything else imports the client from here, because
// kafkajs's internals are patched before its own modules load; each patch is a file of this folder
// that says which kafkajs file or function it replaces and why:
//
// 1. Record fidelity (DESIGN.md invariant 3): headers copied byte for byte and in order
//    (record-decoder.ts, record-encoder.ts, wire-headers.ts).
// 2. Codecs: snappy, lz4 and zstd, within each fetch's decode budget (codecs.ts, decode-budget.ts).
// 3. Speed (issue 8 profiles): message grouping (group-messages.ts), batch CRC-32C (crc32c.ts),
//    produce requests and request framing in one pass (produce-request.ts, request-framing.ts),
//    the offset filter of fetched batches in numbers (batch.ts), sockets that read into one buffer
//    (socket-factory.ts, connection.ts), no timer after every response (request-queue.ts).
// 4. Memory (issue 3): fetched record sets recorded (decode-messages.ts, record-sets.ts), fetch
//    limits and decode budget per consumer group (group-fetch-limits.ts).
// 5. Kafka's consumer where kafkajs departs from it: read_committed per record batch, corrupt
//    batches never passed over, markers moving the position (batch.ts, read-committed.ts,
//    runner.ts), partitions asked for in a rotating order (broker-fetch.ts, fetch-order.ts), each
//    socket with a response reader of its own (connection.ts).
//
// A patch that swaps a module in Node's module cache must run before the kafkajs modules that
// capture it load (module-cache.ts refuses otherwise), hence the order below.
// test/unit/kafka/kafkajs/internals.test.ts fails when a kafkajs file a patch relies on changes.
import type * as KafkaJs from 'kafkajs';
import { KafkaJsPatchError } from '../../errors/index.ts';
import { installBatch } from './batch.ts';
import { installBrokerFetch } from './broker-fetch.ts';
import { installCodecs } from './codecs.ts';
import { installConnection } from './connection.ts';
import { installCrc32c } from './crc32c.ts';
import { installDecodeMessages } from './decode-messages.ts';
import { installGroupFetchLimits } from './group-fetch-limits.ts';
import { installGroupMessages } from './group-messages.ts';
import { isLoaded, kafkajsRequire } from './module-cache.ts';
import { installProduceRequest } from './produce-request.ts';
import { installReauthentication } from './reauthentication.ts';
import { installRecordDecoder } from './record-decoder.ts';
import { installRecordEncoder } from './record-encoder.ts';
import { installRequestFraming } from './request-framing.ts';
import { installRequestQueue } from './request-queue.ts';
import { installRunner } from './runner.ts';

// Either kafkajs's package (require('kafkajs') loads no record batch decoder yet) or the first
// module that captures a patched one.
const kafkajsIndex = kafkajsRequire.resolve('kafkajs');
if (kafkajsRequire.cache[kafkajsIndex] !== undefined || isLoaded('protocol/recordBatch/v0/decoder.js'))
  throw new KafkaJsPatchError(
    'index.ts',
    'kafkajs was loaded before src/kafka/kafkajs/index.ts: import the client only from there',
  );

installRequestQueue();
// Before kafkajs's record batch modules capture the record codec and the CRC (decode-messages.ts
// loads them).
installRecordDecoder();
installRecordEncoder();
installGroupMessages();
installCrc32c();
// Before the fetch response decoders capture decodeMessages (Broker loads them).
installDecodeMessages();
// Before consumerGroup.js captures Batch (group-fetch-limits.ts loads it).
installBatch();
installRunner();
// Before the produce request versions and the Connection capture them.
installProduceRequest();
installRequestFraming();
installGroupFetchLimits();
// Before Broker and BrokerPool capture shuffle.
installBrokerFetch();
installConnection();
installReauthentication();

const kafkajs = kafkajsRequire(kafkajsIndex) as typeof KafkaJs;
installCodecs(kafkajs);

export { kafkajs };
export const { Kafka, logLevel } = kafkajs;
export { abortedRecordsOf, corruptBatchOf } from './batch.ts';
export { setGroupFetchLimits, type GroupFetchLimits } from './group-fetch-limits.ts';
export { splitCommitted } from './read-committed.ts';
export { fetchedRecordSet, fetchedSet, type FetchedRecordSet } from './record-sets.ts';
export { readIntoOneBuffer } from './socket-factory.ts';
export { producerHeaders, wireHeaders, type WireHeaders } from './wire-headers.ts';
