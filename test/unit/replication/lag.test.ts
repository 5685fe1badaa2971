import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TopicPartition } from '../../../src/replication/ports.ts';
import { measureLag, type OffsetCatalog } from '../../../src/replication/lag.ts';

type Marks = Array<{ partition: number; low: number; high: number }>;

/** Source offsets in memory; records what was asked. */
class FakeOffsets implements OffsetCatalog {
  readonly marks: Map<string, Marks>;
  readonly commits: Array<TopicPartition & { offset: number }>;
  readonly watermarkCalls: string[] = [];
  readonly committedCalls: Array<{ group: string; topics: string[] }> = [];

  constructor(marks: Record<string, Marks>, commits: Array<TopicPartition & { offset: number }> = []) {
    this.marks = new Map(Object.entries(marks));
    this.commits = commits;
  }

  async watermarks(topic: string): Promise<Marks> {
    this.watermarkCalls.push(topic);
    return this.marks.get(topic) ?? [];
  }

  async committed(
    group: string,
    topics: readonly string[],
  ): Promise<Array<TopicPartition & { offset: number }>> {
    this.committedCalls.push({ group, topics: [...topics] });
    // As Kafka answers: every partition of the topics, -1 where the group has no offset.
    return topics.flatMap((topic) =>
      (this.marks.get(topic) ?? []).map(({ partition }) => ({
        topic,
        partition,
        offset: this.commits.find((c) => c.topic === topic && c.partition === partition)?.offset ?? -1,
      })),
    );
  }
}

const tp = (topic: string, partition: number): TopicPartition => ({ topic, partition });

test('lag is the log-end offset minus the committed offset, per assigned partition', async () => {
  const catalog = new FakeOffsets(
    {
      orders: [
        { partition: 0, low: 0, high: 100 },
        { partition: 1, low: 10, high: 50 },
      ],
      payments: [{ partition: 0, low: 5, high: 7 }],
    },
    [
      { topic: 'orders', partition: 0, offset: 60 },
      { topic: 'orders', partition: 1, offset: 50 },
      { topic: 'payments', partition: 0, offset: 6 },
    ],
  );
  const lag = await measureLag(catalog, 'kafka-mirror.us-asia', 'earliest', [
    tp('orders', 0),
    tp('orders', 1),
    tp('payments', 0),
  ]);
  assert.deepEqual(lag, [
    { topic: 'orders', partition: 0, logEnd: 100, committed: 60, lag: 40 },
    { topic: 'orders', partition: 1, logEnd: 50, committed: 50, lag: 0 },
    { topic: 'payments', partition: 0, logEnd: 7, committed: 6, lag: 1 },
  ]);
  assert.deepEqual(catalog.committedCalls, [
    { group: 'kafka-mirror.us-asia', topics: ['orders', 'payments'] },
  ]);
  assert.deepEqual(catalog.watermarkCalls.sort(), ['orders', 'payments'], 'each topic is asked once');
});

test('a partition the group never committed counts from where the flow starts', async () => {
  const marks = { orders: [{ partition: 0, low: 30, high: 100 }] };
  const earliest = await measureLag(new FakeOffsets(marks), 'g', 'earliest', [tp('orders', 0)]);
  assert.deepEqual(
    earliest,
    [{ topic: 'orders', partition: 0, logEnd: 100, committed: 30, lag: 70 }],
    'earliest: from the log start, not from offset 0',
  );
  const latest = await measureLag(new FakeOffsets(marks), 'g', 'latest', [tp('orders', 0)]);
  assert.deepEqual(latest, [{ topic: 'orders', partition: 0, logEnd: 100, committed: 100, lag: 0 }]);
});

test('a committed offset of 0 is a commit, not "none"', async () => {
  const catalog = new FakeOffsets({ orders: [{ partition: 0, low: 0, high: 9 }] }, [
    { topic: 'orders', partition: 0, offset: 0 },
  ]);
  assert.deepEqual(await measureLag(catalog, 'g', 'latest', [tp('orders', 0)]), [
    { topic: 'orders', partition: 0, logEnd: 9, committed: 0, lag: 9 },
  ]);
});

test('a commit past the log end (truncated log) is lag 0, never negative', async () => {
  const catalog = new FakeOffsets({ orders: [{ partition: 0, low: 0, high: 10 }] }, [
    { topic: 'orders', partition: 0, offset: 15 },
  ]);
  const [lag] = await measureLag(catalog, 'g', 'earliest', [tp('orders', 0)]);
  assert.equal(lag?.lag, 0);
});

test('only assigned partitions are reported, in assignment order', async () => {
  const catalog = new FakeOffsets({
    orders: [0, 1, 2, 3].map((partition) => ({ partition, low: 0, high: 10 * (partition + 1) })),
    other: [{ partition: 0, low: 0, high: 5 }],
  });
  const lag = await measureLag(catalog, 'g', 'earliest', [tp('orders', 3), tp('orders', 1)]);
  assert.deepEqual(
    lag.map((p) => [p.topic, p.partition, p.lag]),
    [
      ['orders', 3, 40],
      ['orders', 1, 20],
    ],
  );
  assert.deepEqual(catalog.watermarkCalls, ['orders'], 'topics with nothing assigned are not read');
});

test('an assigned partition the source does not report is skipped', async () => {
  const catalog = new FakeOffsets({ orders: [{ partition: 0, low: 0, high: 10 }] });
  const lag = await measureLag(catalog, 'g', 'earliest', [tp('orders', 0), tp('orders', 5), tp('gone', 0)]);
  assert.deepEqual(lag, [{ topic: 'orders', partition: 0, logEnd: 10, committed: 0, lag: 10 }]);
});

test('no assigned partition: [] without asking the source', async () => {
  const catalog = new FakeOffsets({ orders: [{ partition: 0, low: 0, high: 10 }] });
  assert.deepEqual(await measureLag(catalog, 'g', 'earliest', []), []);
  assert.deepEqual(catalog.watermarkCalls, []);
  assert.deepEqual(catalog.committedCalls, []);
});

test('a source that cannot answer rejects (the caller keeps the last value and its age)', async () => {
  const catalog = new FakeOffsets({});
  catalog.watermarks = async () => {
    throw new Error('There is no leader for this topic-partition');
  };
  await assert.rejects(measureLag(catalog, 'g', 'earliest', [tp('orders', 0)]), /no leader/);
});
