// The reader over kafkajs's own consumer runner and the patched Batch, fed Fetch v11 responses
// built as bytes (test/support/record-batches.ts): where a fetch that ends past its last data
// record (a transaction marker, records of an aborted transaction, a batch emptied by compaction)
// leaves the flow's batch and kafkajs's fetch position. As Kafka's consumer
// (CompletedFetch.nextFetchedRecord, FetchCollector.fetchRecords), both move past every fetched
// batch, also when nothing in it is returned.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import '../../../src/kafka/kafkajs/index.ts';
import { SourceReader, type BatchHandler } from '../../../src/kafka/source-reader.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { FetchedBatch } from '../../../src/replication/ports.ts';
import { fetchResponseV11, recordBatch, type BatchSpec } from '../../support/record-batches.ts';

const require = createRequire(import.meta.url);
const { decode } = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as {
  decode(raw: Buffer): Promise<{ responses: Array<{ partitions: object[] }> }>;
};
const Batch = require('kafkajs/src/consumer/batch.js') as new (
  topic: string,
  fetchedOffset: string,
  data: object,
) => object;
const Runner = require('kafkajs/src/consumer/runner.js') as new (options: object) => {
  running: boolean;
  handleBatch(batch: object): Promise<void>;
};

/**
 * A batch compaction emptied: Kafka keeps the header of a producer's last batch (its offset range
 * and producer state) after removing every record of it (LogCleaner, KIP-98).
 */
function emptiedBatch(baseOffset: number, lastOffset: number, producerId: number): Buffer {
  const batch = recordBatch({ baseOffset, producerId, transactional: true, values: [] });
  batch.writeInt32BE(lastOffset - baseOffset, 23);
  const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Uint8Array): number };
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** kafkajs's runner over one fetched batch, with the consumer group as far as it uses it: the offsets it resolved. */
async function runOne(
  batch: object,
  handlers: { eachBatch?: unknown; eachMessage?: unknown },
): Promise<string[]> {
  const resolved: string[] = [];
  const silent = { debug() {}, info() {}, warn() {}, error() {}, namespace: () => silent };
  const runner = new Runner({
    logger: silent,
    consumerGroup: {
      resolveOffset: ({ offset }: { offset: string }) => resolved.push(String(offset)),
      hasSeekOffset: () => false,
      isPaused: () => false,
      heartbeat: async () => {},
      commitOffsets: async () => {},
      commitOffsetsIfNecessary: async () => {},
    },
    instrumentationEmitter: { emit() {} },
    eachBatchAutoResolve: false,
    autoCommit: false,
    ...handlers,
    concurrency: 1,
    onCrash: () => {},
  });
  runner.running = true;
  await runner.handleBatch(batch);
  return resolved;
}

async function decodedBatch(
  fetchOffset: number,
  batches: readonly Buffer[],
  abortedTransactions: ReadonlyArray<{ producerId: number; firstOffset: number }> = [],
): Promise<object> {
  const response = await decode(
    fetchResponseV11('t', [
      { partition: 0, highWatermark: 1000, abortedTransactions, records: Buffer.concat(batches) },
    ]),
  );
  return new Batch('t', String(fetchOffset), response.responses[0]?.partitions[0] as object);
}

/** What one fetch at `fetchOffset` hands the reader's eachBatch through kafkajs's runner, and where kafkajs's position goes. */
async function readThroughRunner(
  fetchOffset: number,
  batches: readonly Buffer[],
  abortedTransactions: ReadonlyArray<{ producerId: number; firstOffset: number }> = [],
) {
  const handed: FetchedBatch[] = [];
  const handler: BatchHandler = {
    onBatch: async (batch) => {
      handed.push(batch);
      return true;
    },
    onAssignment: () => {},
    onRebalancing: () => {},
    onCrash: () => {},
    onCorruptBatch: () => {},
  };
  // kafkajs's consumer as far as the reader uses it: run() hands over the eachBatch to test.
  let eachBatch: ((payload: object) => Promise<void>) | undefined;
  const consumer = {
    events: {},
    on: () => () => {},
    subscribe: async () => {},
    run: async (options: { eachBatch: (payload: object) => Promise<void> }) => {
      eachBatch = options.eachBatch;
    },
    stop: async () => {},
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  const reader = new SourceReader(
    kafka,
    {
      group: `reader-test-${fetchOffset}`,
      startFrom: 'earliest',
      consumer: {
        maxBytes: 1 << 20,
        maxBytesPerPartition: 1 << 20,
        maxWaitMs: 100,
        sessionTimeoutMs: 10_000,
      },
      logger: createLogger({ level: 'silent', destination: { write: () => {} } }),
    } as unknown as ConstructorParameters<typeof SourceReader>[1],
    handler,
  );
  await reader.setTopics(['t']);
  assert.ok(eachBatch !== undefined);
  const resolved = await runOne(await decodedBatch(fetchOffset, batches, abortedTransactions), { eachBatch });
  // kafkajs fetches next from the last resolved offset + 1 (OffsetManager.resolveOffset).
  const position = resolved.length === 0 ? fetchOffset : Number(resolved.at(-1)) + 1;
  return { handed, position };
}

const committed = (baseOffset: number, values: string[], producerId = 7): BatchSpec => ({
  baseOffset,
  producerId,
  transactional: true,
  values,
});

test('a transaction and its commit marker: the records are handed on with the fetch ending past the marker', async () => {
  const { handed, position } = await readThroughRunner(0, [
    recordBatch(committed(0, ['a', 'b', 'c'])),
    recordBatch({ baseOffset: 3, producerId: 7, marker: 'commit' }),
  ]);
  assert.deepEqual(
    handed.map((b) => ({ offsets: b.records.map((r) => r.offset), nextOffset: b.nextOffset })),
    [{ offsets: ['0', '1', '2'], nextOffset: 4 }],
  );
  assert.equal(position, 4);
});

test('a fetch of nothing but an aborted transaction and its marker is handed on, empty, ending past the marker', async () => {
  const { handed, position } = await readThroughRunner(
    4,
    [
      recordBatch(committed(4, ['x', 'y', 'z'], 9)),
      recordBatch({ baseOffset: 7, producerId: 9, marker: 'abort' }),
    ],
    [{ producerId: 9, firstOffset: 4 }],
  );
  assert.deepEqual(
    handed.map((b) => ({ records: b.records.length, nextOffset: b.nextOffset })),
    [{ records: 0, nextOffset: 8 }],
  );
  assert.equal(position, 8);
});

test('a fetch of nothing but a commit marker is handed on, empty, ending past it', async () => {
  const { handed, position } = await readThroughRunner(3, [
    recordBatch({ baseOffset: 3, producerId: 7, marker: 'commit' }),
  ]);
  assert.deepEqual(
    handed.map((b) => ({ records: b.records.length, nextOffset: b.nextOffset })),
    [{ records: 0, nextOffset: 4 }],
  );
  assert.equal(position, 4);
});

test('batches emptied by compaction: the fetch ends past their offset range, with or without records before them', async () => {
  const alone = await readThroughRunner(10, [emptiedBatch(10, 14, 5)]);
  assert.deepEqual(
    alone.handed.map((b) => ({ records: b.records.length, nextOffset: b.nextOffset })),
    [{ records: 0, nextOffset: 15 }],
  );
  assert.equal(alone.position, 15, 'kafkajs would fetch the emptied batch again and again');
  const after = await readThroughRunner(8, [
    recordBatch({ baseOffset: 8, values: ['p', 'q'] }),
    emptiedBatch(10, 14, 5),
  ]);
  assert.deepEqual(
    after.handed.map((b) => ({ offsets: b.records.map((r) => r.offset), nextOffset: b.nextOffset })),
    [{ offsets: ['8', '9'], nextOffset: 15 }],
  );
  assert.equal(after.position, 15);
});

test('a fetch that ends with its last record is handed on as before, and a fetch of nothing hands nothing on', async () => {
  const { handed, position } = await readThroughRunner(0, [
    recordBatch({ baseOffset: 0, values: ['a', 'b'] }),
  ]);
  assert.deepEqual(
    handed.map((b) => ({ offsets: b.records.map((r) => r.offset), nextOffset: b.nextOffset })),
    [{ offsets: ['0', '1'], nextOffset: 2 }],
  );
  assert.equal(position, 2);
  const idle = await readThroughRunner(2, []);
  assert.deepEqual(idle.handed, []);
  assert.equal(idle.position, 2);
});

test("an eachMessage consumer keeps kafkajs's own path: it moves past a fetch of nothing but markers or aborted records", async () => {
  const eachMessage = async () => assert.fail('nothing to hand on');
  const marker = await decodedBatch(3, [recordBatch({ baseOffset: 3, producerId: 7, marker: 'commit' })]);
  assert.deepEqual(await runOne(marker, { eachMessage }), ['3']);
  const aborted = await decodedBatch(
    4,
    [
      recordBatch(committed(4, ['x', 'y'], 9)),
      recordBatch({ baseOffset: 6, producerId: 9, marker: 'abort' }),
    ],
    [{ producerId: 9, firstOffset: 4 }],
  );
  assert.deepEqual(await runOne(aborted, { eachMessage }), ['6']);
});
