import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FetchSizer, MIN_FETCH_BYTES } from '../../../src/kafka/fetch-sizer.ts';

const MiB = 2 ** 20;
const budget = { maxBytes: 4 * MiB, maxBytesPerPartition: 1 * MiB };

test('before any batch, fetches assume uncompressed records of about 1 KiB (1.5 times their wire size)', () => {
  assert.deepEqual(new FetchSizer(budget).limits(), {
    maxBytes: Math.floor((4 * MiB) / 1.5),
    maxBytesPerPartition: Math.floor(MiB / 1.5),
    decodedBytes: 4 * MiB,
  });
});

test('batches that expand 20 times at once shrink the wire limits by 20', () => {
  const sizer = new FetchSizer(budget);
  sizer.observe(100_000, 2_000_000);
  assert.equal(sizer.ratio, 20);
  const { maxBytes, maxBytesPerPartition } = sizer.limits();
  assert.equal(maxBytes, Math.floor((4 * MiB) / 20));
  assert.equal(maxBytesPerPartition, Math.floor(MiB / 20));
  // A fetch at these limits decodes to at most the budget.
  assert.ok(maxBytes * sizer.ratio <= budget.maxBytes);
});

test('uncompressed data converges to nearly the whole budget on the wire, never above it', () => {
  const sizer = new FetchSizer(budget);
  for (let i = 0; i < 50; i++) sizer.observe(1_000_000, 1_000_000 * 1.1);
  assert.ok(Math.abs(sizer.ratio - 1.1) < 0.01, `ratio ${sizer.ratio}`);
  assert.ok(sizer.limits().maxBytes <= budget.maxBytes);
  assert.ok(sizer.limits().maxBytes > 3.5 * MiB);
  // Memory below the wire size (cannot be: decoding adds objects) is taken as 1:1.
  for (let i = 0; i < 50; i++) sizer.observe(1_000_000, 10);
  assert.ok(sizer.limits().maxBytes >= budget.maxBytes * 0.999);
  assert.ok(sizer.limits().maxBytes <= budget.maxBytes);
});

test('the estimate rises at once and falls gradually', () => {
  const sizer = new FetchSizer(budget);
  sizer.observe(100_000, 100_000);
  assert.equal(sizer.ratio, 1.25, 'a lower sample moves it half of the way');
  sizer.observe(100_000, 3_000_000);
  assert.equal(sizer.ratio, 30);
});

test('tiny batches do not move the estimate, and the limits never go below the floor', () => {
  const sizer = new FetchSizer(budget);
  sizer.observe(100, 1_000_000);
  assert.equal(sizer.ratio, 1.5);
  sizer.observe(10_000, 100 * 1_000_000);
  assert.deepEqual(sizer.limits(), {
    maxBytes: MIN_FETCH_BYTES,
    maxBytesPerPartition: MIN_FETCH_BYTES,
    decodedBytes: 4 * MiB,
  });
});

test('what the compressed batches of one fetch may decompress into is the memory budget, whatever the estimate', () => {
  const sizer = new FetchSizer(budget);
  sizer.observe(10_000, 100 * 1_000_000);
  assert.equal(sizer.limits().decodedBytes, budget.maxBytes);
});
