// What the patched kafkajs fetch path hands on, from Fetch v11 responses built as bytes
// (test/support/record-batches.ts): only the data records a read_committed consumer must see,
// however the transactions of several producers interleave and in whatever order they abort, and
// nothing of a batch that fails its CRC check.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../src/kafka/kafkajs/index.ts';
import { committedRead, type FetchedPartition } from '../../../src/kafka/raw-client.ts';
import { mulberry32 } from '../../support/random.ts';
import {
  fetchAt,
  fetchResponseV11,
  partitionLog,
  recordBatch,
  type BatchSpec,
  type PartitionLog,
  type Step,
} from '../../support/record-batches.ts';

const require = createRequire(import.meta.url);
interface Message {
  offset: string;
  value: Buffer | null;
}
interface PartitionData {
  messages: Message[];
  abortedTransactions: unknown[];
}
const { decode } = require('kafkajs/src/protocol/requests/fetch/v11/response.js') as {
  decode(raw: Buffer): Promise<{ responses: Array<{ partitions: PartitionData[] }> }>;
};
const Batch = require('kafkajs/src/consumer/batch.js') as new (
  topic: string,
  fetchedOffset: string,
  data: PartitionData,
) => { messages: Message[] };

/** One fetch as kafkajs's consumer sees it: the response decoded, then its Batch. */
async function fetched(log: PartitionLog, offset: number, maxBatches: number) {
  const answer = fetchAt(log, offset, maxBatches);
  const response = await decode(
    fetchResponseV11('t', [
      {
        partition: 0,
        highWatermark: answer.highWatermark,
        abortedTransactions: answer.abortedTransactions,
        records: answer.records,
      },
    ]),
  );
  const data = response.responses[0]?.partitions[0] as PartitionData;
  return { batch: new Batch('t', String(offset), data), data, next: answer.next, end: answer.highWatermark };
}

/**
 * A consumer's read from `from` to the end, `maxBatches` record batches per fetch: the values it
 * got. Both readers of the fetch path: kafkajs's consumer (the patched Batch) and raw-client's.
 */
async function consume(log: PartitionLog, from: number, maxBatches: number): Promise<string[]> {
  const values: string[] = [];
  for (let offset = from, fetches = 0; fetches < 10_000; fetches++) {
    const { batch, data, next, end } = await fetched(log, offset, maxBatches);
    const consumed = batch.messages.map((m) => String(m.value));
    const read = committedRead('t', data as unknown as FetchedPartition, offset);
    assert.deepEqual(
      read.records.map((r) => String(r.value)),
      consumed,
      `raw-client's read at ${offset} as the consumer's`,
    );
    assert.equal(read.next, next, 'raw-client goes on after the last batch');
    values.push(...consumed);
    if (next >= end) return values;
    offset = next;
  }
  throw new Error('no end reached');
}

const committedFrom = (log: PartitionLog, from: number) =>
  log.records.filter((r) => r.committed && r.offset >= from).map((r) => r.value);

/** From every offset, in fetches of so many batches: each fetch starts inside whatever is open there. */
async function assertReadCommitted(
  log: PartitionLog,
  label: string,
  sizes: readonly number[] = [1, 2, 3, Infinity],
): Promise<void> {
  const end = log.records.at(-1)?.offset ?? 0;
  for (let from = 0; from <= end; from++) {
    for (const maxBatches of sizes) {
      assert.deepEqual(
        await consume(log, from, maxBatches),
        committedFrom(log, from),
        `${label}: from ${from}, ${maxBatches} batches per fetch`,
      );
    }
  }
}

test('two interleaved transactions, the one begun second aborted first: none of their records is returned', async () => {
  const log = partitionLog([
    { producer: 1, write: 3 },
    { producer: 2, write: 2 },
    { producer: 1, write: 2 },
    { producer: 2, write: 3 },
    { producer: 2, end: 'abort' },
    { producer: 1, write: 1 },
    { producer: 1, end: 'abort' },
    { plain: 2 },
  ]);
  // The broker lists them in marker order: producer 2's (first offset 3) before producer 1's (0).
  assert.deepEqual(
    log.aborted.map((a) => [a.producerId, a.firstOffset]),
    [
      [2, 3],
      [1, 0],
    ],
  );
  await assertReadCommitted(log, 'reverse abort order');
});

test('aborted and committed transactions interleaved: every committed record, in order, and no aborted one', async () => {
  const log = partitionLog([
    { producer: 1, write: 2 },
    { producer: 3, write: 2 },
    { producer: 2, write: 2 },
    { plain: 1 },
    { producer: 3, write: 1 },
    { producer: 1, write: 2 },
    { producer: 2, end: 'abort' },
    { producer: 3, end: 'commit' },
    { producer: 2, write: 2 }, // producer 2's next transaction, committed
    { producer: 1, end: 'abort' },
    { producer: 1, write: 1 }, // producer 1's next one: aborted again
    { producer: 2, end: 'commit' },
    { producer: 1, end: 'abort' },
    { plain: 1 },
  ]);
  await assertReadCommitted(log, 'mixed');
});

test('many producers, transactions interleaved at random and ended in any order (seeded)', async () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const random = mulberry32(seed);
    const producers = 2 + Math.floor(random() * 7);
    const open = new Set<number>();
    const steps: Step[] = [];
    for (let i = 0; i < 60; i++) {
      const producer = 1 + Math.floor(random() * producers);
      const roll = random();
      if (roll < 0.1) steps.push({ plain: 1 + Math.floor(random() * 2) });
      else if (open.has(producer) && roll < 0.45) {
        steps.push({ producer, end: random() < 0.6 ? 'abort' : 'commit' });
        open.delete(producer);
      } else {
        steps.push({ producer, write: 1 + Math.floor(random() * 3) });
        open.add(producer);
      }
    }
    for (const producer of open) steps.push({ producer, end: random() < 0.5 ? 'abort' : 'commit' });
    const log = partitionLog(steps);
    assert.ok(log.aborted.length > 0, `seed ${seed} aborts something`);
    await assertReadCommitted(log, `seed ${seed}, ${producers} producers`, [Infinity]);
    assert.deepEqual(await consume(log, 0, 1), committedFrom(log, 0), `seed ${seed}: a batch per fetch`);
  }
});

test('a batch that fails its CRC-32C check is not handed on, nor anything after it, and its partition says why', async () => {
  const log = partitionLog([{ plain: 2 }, { plain: 3 }, { plain: 1 }]);
  const answer = fetchAt(log, 0);
  const second = recordBatch(log.batches[1] as BatchSpec);
  const at = recordBatch(log.batches[0] as BatchSpec).length;
  for (const flip of [at + second.length - 2, at + 21, at + 23, at + 60]) {
    // One bit flipped: in a record's value, the attributes, the last offset delta, the record count.
    const records = Buffer.from(answer.records);
    records[flip] = (records[flip] as number) ^ 0x04;
    const response = await decode(
      fetchResponseV11('t', [{ partition: 0, highWatermark: 6, abortedTransactions: [], records }]),
    );
    const data = response.responses[0]?.partitions[0] as PartitionData;
    const batch = new Batch('t', '0', data) as InstanceType<typeof Batch> & {
      isEmpty(): boolean;
      lastOffset(): string;
    };
    assert.deepEqual(
      batch.messages.map((m) => String(m.value)),
      ['plain.0.0', 'plain.0.1'],
      `byte ${flip}: only the batch before the corrupt one`,
    );
    const { corruptBatchOf } = await import('../../../src/kafka/kafkajs/index.ts');
    const error = corruptBatchOf(batch as never);
    assert.equal(error?.code, 'KM_CORRUPT_RECORD_BATCH');
    assert.equal(error?.offset, 2, 'the corrupt batch named by its base offset');
    assert.match(String(error?.message), /t\/0 at offset 2.*crc/i);
    // Never skipped: the consumer's position stops before it, and kafkajs hands the batch on.
    assert.equal(batch.isEmpty(), false);
    assert.equal(batch.lastOffset(), '1');
    assert.throws(() => committedRead('t', data as unknown as FetchedPartition, 0), {
      code: 'KM_CORRUPT_RECORD_BATCH',
    });
  }
  // A batch whose size is below a record batch's header cannot be valid (DefaultRecordBatch.ensureValid).
  const records = Buffer.from(answer.records);
  records.writeInt32BE(40, at + 8);
  const response = await decode(
    fetchResponseV11('t', [{ partition: 0, highWatermark: 6, abortedTransactions: [], records }]),
  );
  const batch = new Batch('t', '0', response.responses[0]?.partitions[0] as PartitionData);
  const { corruptBatchOf } = await import('../../../src/kafka/kafkajs/index.ts');
  assert.equal(batch.messages.length, 2);
  assert.equal(corruptBatchOf(batch as never)?.offset, 2);
});

test('a partition without a corrupt batch names none', async () => {
  const log = partitionLog([{ plain: 2 }, { producer: 1, write: 1 }, { producer: 1, end: 'commit' }]);
  const { batch } = await fetched(log, 0, Infinity);
  const { corruptBatchOf } = await import('../../../src/kafka/kafkajs/index.ts');
  assert.equal(corruptBatchOf(batch as never), undefined);
  assert.equal(batch.messages.length, 3);
});
