// The pipelined writer's ordering logic (src/kafka/writers/idempotent-writer.ts) against a model of a
// broker's idempotence checks: it appends a batch only right after the one before it, answers a
// resend of one of the producer's last 5 batches as a duplicate, and loses requests and answers at
// random. Whatever fails, every record must land, first occurrences in order. The real broker is
// exercised by the integration and fault suites, which run with this writer by default; this test
// reaches the orderings that real faults reach only by luck.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { EarlierWriteFailedError, WriterClosedError } from '../../../../src/errors/index.ts';
import { IdempotentWriter } from '../../../../src/kafka/writers/idempotent-writer.ts';
import { kafkajs } from '../../../../src/kafka/kafkajs/index.ts';
import { encodeChunk, type RecordChunk } from '../../../../src/protocol/record-chunk.ts';
import { createLogger } from '../../../../src/observability/logger.ts';
import { mulberry32 } from '../../../support/random.ts';
import { fakeTarget } from './fake-target.ts';
import {
  assertOrderedOnce,
  bounded,
  chunks,
  ERROR,
  ModelBroker,
  modelCluster,
  quiet,
  totalOf,
} from './model-broker.ts';

function writer(broker: ModelBroker, maxRequestBytes = 300) {
  return new IdempotentWriter(modelCluster(broker), {
    compression: 'none',
    maxRequestBytes,
    requestTimeoutMs: 1000,
    maxInFlightPerPartition: 5,
    retryBackoffMs: 1,
    logger: quiet,
  });
}

/** Writes the chunks as the flow's queue does: in order, at most `window` unresolved at once. */
async function writeAll(
  target: Pick<IdempotentWriter, 'write'>,
  all: readonly RecordChunk[],
  window = 5,
): Promise<void> {
  const running = new Set<Promise<void>>();
  for (const chunk of all) {
    while (running.size >= window) await Promise.race(running);
    const write = target.write('t', 0, chunk).finally(() => running.delete(write));
    running.add(write);
  }
  await Promise.all(running);
}

test(
  'with requests and answers lost at random, every record lands, first occurrences in order',
  bounded,
  async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const next = mulberry32(seed);
      const broker = new ModelBroker(next, { lost: 0.1, unanswered: 0.1, refused: 0.05, lenient: false });
      const target = writer(broker);
      const all = chunks(120, next);
      await writeAll(target, all);
      assertOrderedOnce(broker.log, totalOf(all), seed);
      assert.ok(broker.log.length < totalOf(all) * 2, `seed ${seed}: ${broker.log.length} appends`);
      await target.close();
    }
  },
);

test(
  'a broker that takes any first sequence for a new producer id still gets the records in order',
  bounded,
  async () => {
    // Kafka accepts any sequence number from a producer id it has no state for: if a second request
    // went out before the first was acknowledged and the first were lost, the second would land first.
    for (let seed = 101; seed <= 112; seed++) {
      const next = mulberry32(seed);
      const broker = new ModelBroker(next, { lost: 0.2, unanswered: 0.05, refused: 0.05, lenient: true });
      const target = writer(broker);
      const all = chunks(60, next);
      await writeAll(target, all);
      assertOrderedOnce(broker.log, totalOf(all), seed);
      await target.close();
    }
  },
);

test(
  'when the broker forgets the producer id, what is unacknowledged is renumbered and sent again in order',
  bounded,
  async () => {
    for (let seed = 201; seed <= 206; seed++) {
      const next = mulberry32(seed);
      const broker = new ModelBroker(next, { lost: 0.05, unanswered: 0.05, refused: 0, lenient: false });
      const target = writer(broker);
      const all = chunks(150, next);
      // The producer state goes away now and then (as retention can remove it on a real broker).
      let forgetting = true;
      const forget = (async () => {
        while (forgetting) {
          await sleep(3);
          broker.producers.clear();
        }
      })();
      await writeAll(target, all);
      forgetting = false;
      await forget;
      assertOrderedOnce(broker.log, totalOf(all), seed);
      await target.close();
    }
  },
);

test(
  'a request the broker finds too large is split in place; a single record too large fails the partition',
  bounded,
  async () => {
    const next = mulberry32(7);
    const broker = new ModelBroker(next, {
      lost: 0,
      unanswered: 0,
      refused: 0,
      lenient: false,
      maxRequestBytes: 150,
    });
    const target = writer(broker, 10_000);
    const all = chunks(30, next);
    await writeAll(target, all);
    assertOrderedOnce(broker.log, totalOf(all), 7);

    const huge = encodeChunk([
      { key: null, value: Buffer.alloc(400, 1), timestamp: '1700000000000', headers: [] },
    ]);
    const after = encodeChunk([
      { key: null, value: Buffer.from('after'), timestamp: '1700000000000', headers: [] },
    ]);
    const refused = target.write('t', 0, huge);
    const behind = target.write('t', 0, after);
    await assert.rejects(refused, /MESSAGE_TOO_LARGE/);
    await assert.rejects(behind, EarlierWriteFailedError);
    assert.ok(!broker.log.includes('after'), 'nothing after the refused record is written');
    await target.close();
  },
);

test(
  'requests of a partition reach the connection in sequence order, also when a later one is built first',
  bounded,
  async (t) => {
    // A codec whose compression takes longer for more bytes, as a real one does on its thread: a
    // small request sent after a large one is built first. Before, it was queued first too, and
    // the broker refused it with OUT_OF_ORDER_SEQUENCE_NUMBER (issue 19, defect 8).
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    const lz4 = CompressionCodecs[CompressionTypes.LZ4];
    CompressionCodecs[CompressionTypes.LZ4] = () => ({
      compress: async (encoder: { buffer: Buffer }) => {
        await sleep(Math.ceil(encoder.buffer.length / 1000));
        return Buffer.from(encoder.buffer);
      },
      decompress: async (buffer: Buffer) => buffer,
    });
    t.after(() => (CompressionCodecs[CompressionTypes.LZ4] = lz4));
    const broker = new ModelBroker(mulberry32(301), { lost: 0, unanswered: 0, refused: 0, lenient: false });
    const resent: string[] = [];
    const target = new IdempotentWriter(modelCluster(broker), {
      compression: 'lz4',
      maxRequestBytes: 1_000_000,
      requestTimeoutMs: 1000,
      maxInFlightPerPartition: 5,
      retryBackoffMs: 1,
      logger: quiet,
      onResend: (reason) => resent.push(reason),
    });
    // Large and small chunks in turn: about 20 KB (20 ms to compress here) and one record.
    let value = 0;
    const record = (size: number) => ({
      key: null,
      value: Buffer.from(String(value++).padStart(size, '0')),
      timestamp: '1700000000000',
      headers: [],
    });
    const all = Array.from({ length: 40 }, (_, i) =>
      encodeChunk(i % 2 === 0 ? Array.from({ length: 100 }, () => record(200)) : [record(40)]),
    );
    await writeAll(target, all);
    await target.close();
    assertOrderedOnce(broker.log, totalOf(all), 301);
    assert.equal(
      broker.answers.get(ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER) ?? 0,
      0,
      'a request overtook one sent before it',
    );
    assert.deepEqual(resent, [], 'nothing was sent twice');
  },
);

test(
  'every resend is counted with its reason; answers the writer handles itself are logged at debug only',
  bounded,
  async () => {
    const next = mulberry32(401);
    const broker = new ModelBroker(next, { lost: 0.1, unanswered: 0.1, refused: 0.05, lenient: false });
    const lines: Array<Record<string, unknown>> = [];
    const resent: string[] = [];
    const target = new IdempotentWriter(modelCluster(broker), {
      compression: 'none',
      maxRequestBytes: 300,
      requestTimeoutMs: 1000,
      maxInFlightPerPartition: 5,
      retryBackoffMs: 1,
      logger: createLogger({
        level: 'debug',
        destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
      }),
      onResend: (reason) => resent.push(reason),
    });
    const all = chunks(120, next);
    await writeAll(target, all);
    await target.close();
    assertOrderedOnce(broker.log, totalOf(all), 401);
    // Lost requests leave the ones behind them refused as out of order, and lost answers come back
    // as duplicates: the test reaches both.
    const outOfOrder = broker.answers.get(ERROR.OUT_OF_ORDER_SEQUENCE_NUMBER) ?? 0;
    assert.ok(outOfOrder > 0 && (broker.answers.get(ERROR.DUPLICATE_SEQUENCE_NUMBER) ?? 0) > 0);
    assert.equal(resent.length, broker.failures, 'each failed attempt is sent again once, and counted');
    assert.equal(resent.filter((r) => r === 'OUT_OF_ORDER_SEQUENCE_NUMBER').length, outOfOrder);
    assert.ok(resent.includes('KafkaJSConnectionError') && resent.includes('NOT_LEADER_OR_FOLLOWER'));
    // A request refused because one before it is not appended yet is resent behind it: at debug.
    // Only the oldest request refused out of order means the broker lost the producer's state
    // (here when a lost resend let five later batches pass it): a new producer id, at warn.
    const behind = lines.filter(
      (l) => l['msg'] === 'a request behind an unacknowledged one was refused; resending it behind that one',
    );
    const lost = lines.filter(
      (l) => l['msg'] === 'write to target failed; retrying' && /out of order/.test(JSON.stringify(l['err'])),
    );
    assert.ok(behind.length > 0);
    assert.ok(behind.every((l) => l['level'] === 20));
    assert.equal(behind.length + lost.length, outOfOrder, 'every out-of-order answer is logged once');
    const duplicates = lines.filter(
      (l) => Number(l['level']) > 20 && /duplicate sequence|DUPLICATE_SEQUENCE/i.test(JSON.stringify(l)),
    );
    assert.deepEqual(duplicates, [], 'a duplicate is an acknowledgement');
    assert.equal(broker.loggedByClient, 0, "kafkajs's own log line for an error answer");
  },
);

test('destroy() rejects the writes in flight at once, is idempotent, and close() after it resolves', async () => {
  // A target that never answers (tests of the lifecycle: fake-target.ts).
  const target = fakeTarget();
  const writer = new IdempotentWriter(target.cluster, {
    compression: 'none',
    maxRequestBytes: 300,
    requestTimeoutMs: 1000,
    maxInFlightPerPartition: 5,
    retryBackoffMs: 1,
    logger: quiet,
  });
  await writer.connect();
  const [chunk] = chunks(1, mulberry32(501));
  const write = writer.write('t', 0, chunk as RecordChunk);
  await sleep(5);
  assert.equal(typeof writer.pendingSince(), 'number', 'the write waits for the target');
  const destroyed = writer.destroy();
  await assert.rejects(write, WriterClosedError);
  await destroyed;
  await writer.destroy();
  await writer.close();
  assert.equal(target.disconnects.cluster, 1);
  await assert.rejects(writer.write('t', 0, chunk as RecordChunk), WriterClosedError);
});

test('close() is idempotent', async () => {
  const target = fakeTarget();
  const writer = new IdempotentWriter(target.cluster, {
    compression: 'none',
    maxRequestBytes: 300,
    requestTimeoutMs: 1000,
    logger: quiet,
  });
  await writer.connect();
  await Promise.all([writer.close(), writer.close()]);
  await writer.destroy();
  assert.equal(target.disconnects.cluster, 1);
});
