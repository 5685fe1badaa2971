import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter, type Clock } from '../../../src/replication/rate-limiter.ts';

/** A clock that only moves when the limiter sleeps: what it slept is what a real one would wait. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('a stream of writes is held to the rate after one burst', async () => {
  const clock = fakeClock();
  const limiter = new RateLimiter(1_000_000, clock); // 1 MB/s, 1 s burst
  const start = clock.now();
  for (let i = 0; i < 100; i++) await limiter.take(100_000); // 10 MB
  const elapsed = clock.now() - start;
  // The first second of bytes goes at once; the other 9 MB take 9 s.
  assert.equal(elapsed, 9000);
});

test('bytes spread over time are not delayed', async () => {
  const clock = fakeClock();
  const limiter = new RateLimiter(1_000_000, clock);
  await limiter.take(500_000);
  assert.deepEqual(clock.slept, []);
});

test('idle time is not saved up beyond one burst', async () => {
  const clock = fakeClock();
  const limiter = new RateLimiter(1_000_000, clock, 1000);
  await clock.sleep(60_000); // a minute idle
  clock.slept.length = 0;
  const start = clock.now();
  for (let i = 0; i < 30; i++) await limiter.take(100_000); // 3 MB
  assert.equal(clock.now() - start, 2000, 'one burst (1 MB) free, then 2 MB at 1 MB/s');
});

test('a write larger than a burst waits for the part above the burst', async () => {
  const clock = fakeClock();
  const limiter = new RateLimiter(1_000_000, clock, 1000);
  await limiter.take(5_000_000);
  assert.deepEqual(clock.slept, [4000]);
  await limiter.take(1000);
  assert.equal(clock.slept.length, 2);
  assert.ok(Math.abs((clock.slept[1] ?? 0) - 1) < 1e-6, 'the next write waits only for its own bytes');
});

test('concurrent writers share the rate', async () => {
  const slept: number[] = [];
  // Time stands still: four writes arrive at once and each is scheduled behind the others.
  const limiter = new RateLimiter(2_000_000, { now: () => 0, sleep: async (ms) => void slept.push(ms) }, 0);
  await Promise.all(Array.from({ length: 4 }, () => limiter.take(1_000_000)));
  assert.deepEqual(slept, [500, 1000, 1500, 2000]);
});

test('a rate that is not positive is refused', () => {
  assert.throws(() => new RateLimiter(0, fakeClock()), /rate must be positive/);
});
