// The order a fetch asks for its partitions in (src/kafka/kafkajs/fetch-order.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchOrder } from '../../../../src/kafka/kafkajs/fetch-order.ts';

const flat = (topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number }> }>) =>
  topics.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p.partition}`));
const request = (spec: Record<string, number[]>) =>
  Object.entries(spec).map(([topic, partitions]) => ({
    topic,
    partitions: partitions.map((partition) => ({ partition })),
  }));

test('partitions are asked for in the order first seen; those a fetch served move to the end (SubscriptionState.movePartitionToEnd)', () => {
  const order = new FetchOrder();
  const asked = request({ a: [0, 1], b: [0] });
  assert.deepEqual(flat(order.arrange(asked)), ['a-0', 'a-1', 'b-0']);
  order.served([
    { topic: 'a', partition: 0 },
    { topic: 'b', partition: 0 },
  ]);
  // a-1 got nothing: it leads the next fetch, across topics.
  assert.deepEqual(flat(order.arrange(asked)), ['a-1', 'a-0', 'b-0']);
  order.served([{ topic: 'a', partition: 1 }]);
  assert.deepEqual(flat(order.arrange(asked)), ['a-0', 'b-0', 'a-1']);
  // A partition seen for the first time goes last; one not asked for now keeps its place.
  assert.deepEqual(flat(order.arrange(request({ c: [3], a: [1, 0] }))), ['a-0', 'a-1', 'c-3']);
  assert.deepEqual(flat(order.arrange(asked)), ['a-0', 'b-0', 'a-1']);
});

/**
 * A broker as KIP-74 has it: partitions read in request order, the first with data returns at
 * least its first whole batch, any other only batches that fit its share and what is left of the
 * response's; a partition whose first batch does not fit returns nothing.
 */
function kip74Fetch(
  asked: string[],
  nextBatch: (partition: string) => number,
  limits: { partition: number; response: number },
): string[] {
  const served: string[] = [];
  let left = limits.response;
  for (const partition of asked) {
    const size = nextBatch(partition);
    if (size === 0) continue;
    if (served.length > 0 && size > Math.min(limits.partition, left)) continue;
    served.push(partition);
    left -= size;
  }
  return served;
}

test('a partition whose batches exceed its share, beside partitions that always have data, is served every third fetch at least', () => {
  const order = new FetchOrder();
  const busy = Array.from({ length: 30 }, (_, p) => p);
  const asked = request({ t: [...busy, 30] });
  const batch = (partition: string) => (partition === 't-30' ? 512 * 1024 : 2 * 1024);
  // 16 of the 2 KiB batches fill a response: those ahead of the large partition are served within
  // two fetches and move behind it, then it leads and gets its whole batch. (Shuffled, as kafkajs
  // asks, it leads one fetch in 31 on average, and nothing bounds the wait.)
  let sinceServed = 0;
  let served = 0;
  for (let fetch = 0; fetch < 200; fetch++) {
    const got = kip74Fetch(flat(order.arrange(asked)), batch, { partition: 32 * 1024, response: 32 * 1024 });
    order.served(got.map((id) => ({ topic: 't', partition: Number(id.slice(2)) })));
    if (got.includes('t-30')) {
      served++;
      sinceServed = 0;
    } else sinceServed++;
    assert.ok(
      sinceServed <= 2,
      `fetch ${fetch}: the large partition went ${sinceServed} fetches without data`,
    );
  }
  assert.ok(served >= 66, `served in ${served} of 200 fetches`);
});
