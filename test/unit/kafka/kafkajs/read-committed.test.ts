// What the patched kafkajs fetch path hands on, from Fetch v11 responses built as bytes
// (test/support/record-batches.ts): only the data records a read_committed consumer must see,
// however the transactions of several producers interleave and in whatever order they abort
// (src/kafka/kafkajs/read-committed.ts, through the patched Batch and raw-client's reads). Nothing
// of a batch that fails its CRC check: batch.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';
import { Batch, decode, type PartitionData } from './fixtures/fetched-batch.ts';
import { committedRead, type FetchedPartition } from '../../../../src/kafka/raw-client.ts';
import { mulberry32 } from '../../../support/random.ts';
import {
  fetchAt,
  fetchResponseV11,
  partitionLog,
  type PartitionLog,
  type Step,
} from '../../../support/record-batches.ts';

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
