// The patched Batch (src/kafka/kafkajs/batch.ts) keeps what kafkajs's Batch computes where kafkajs
// is right. Corrupt batches: below; read_committed: read-committed.test.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';
import { Batch, decode, type PartitionData } from './fixtures/fetched-batch.ts';
import { committedRead, type FetchedPartition } from '../../../../src/kafka/raw-client.ts';
import { original } from '../../../support/kafkajs-original.ts';
import {
  fetchAt,
  fetchResponseV11,
  partitionLog,
  recordBatch,
  type BatchSpec,
} from '../../../support/record-batches.ts';

const require = createRequire(import.meta.url);

// Without aborted transactions; with them, kafkajs's filter is wrong and the patched Batch filters as
// Kafka's consumer does (read-committed.test.ts).
test("a fetched batch keeps kafkajs's records: none before the fetched offset, and no control record", () => {
  type BatchClass = new (topic: string, offset: string, data: object) => Record<string, unknown>;
  const Original = original<BatchClass>('consumer/batch.js');
  const Patched = require('kafkajs/src/consumer/batch.js') as BatchClass;
  assert.notEqual(Patched, Original);
  const context = (producerId: string, inTransaction: boolean) => ({ producerId, inTransaction });
  const messages = [5, 6, 7, 8, 9, 10, 11, 12].map((offset) => ({
    offset: String(offset),
    key: offset === 10 ? Buffer.from([0, 0, 0, 0]) : null, // 10: the abort marker of producer 2
    isControlRecord: offset === 10,
    batchContext: offset === 8 || offset === 9 || offset === 10 ? context('2', true) : context('1', false),
  }));
  for (const fetched of ['0', '7', '13']) {
    const data = { partition: 3, highWatermark: '13', messages, abortedTransactions: [] };
    const ours = new Patched('t', fetched, data);
    const theirs = new Original('t', fetched, data);
    for (const field of ['messages', 'messagesWithinOffset', 'rawMessages'])
      assert.deepEqual(ours[field], theirs[field], `${field} from ${fetched}`);
    assert.equal((ours['lastOffset'] as () => string)(), (theirs['lastOffset'] as () => string)());
    assert.equal((ours['isEmpty'] as () => boolean)(), (theirs['isEmpty'] as () => boolean)());
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
    const { corruptBatchOf } = await import('../../../../src/kafka/kafkajs/index.ts');
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
  const { corruptBatchOf } = await import('../../../../src/kafka/kafkajs/index.ts');
  assert.equal(batch.messages.length, 2);
  assert.equal(corruptBatchOf(batch as never)?.offset, 2);
});

test('a partition without a corrupt batch names none', async () => {
  const log = partitionLog([{ plain: 2 }, { producer: 1, write: 1 }, { producer: 1, end: 'commit' }]);
  const answer = fetchAt(log, 0);
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
  const batch = new Batch('t', '0', response.responses[0]?.partitions[0] as PartitionData);
  const { corruptBatchOf } = await import('../../../../src/kafka/kafkajs/index.ts');
  assert.equal(corruptBatchOf(batch as never), undefined);
  assert.equal(batch.messages.length, 3);
});
