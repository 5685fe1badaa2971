// kafkajs 2.2.4's RequestQueue schedules its "pending requests" check at `throttledUntil - now`
// after every response, with throttledUntil -1 while no broker throttles: a timer of about
// -1.8e12 ms. Node 24 warns (TimeoutNegativeWarning) and runs it after 1 ms, and since the check
// schedules the next one, every connection that has answered once polls every millisecond for
// ever (issue 20). The patch (src/kafka/kafkajs/request-queue.ts) checks only when something waits.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import '../../../../src/kafka/client.ts';

const require = createRequire(import.meta.url);

interface Queue {
  throttleCheckTimeoutId: unknown;
  pending: unknown[];
  push(request: object): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue;
const logger = { debug() {}, info() {}, warn() {}, error() {} };

function queue(t: TestContext, maxInFlightRequests: number | null = null): Queue {
  const q = new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    clientId: 'c',
    broker: 'b',
    logger,
  });
  t.after(() => q.destroy());
  return q;
}

/** A request that records when it is sent. */
function request(correlationId: number, sent: number[]) {
  return {
    entry: { correlationId, apiKey: 3, apiName: 'Metadata', apiVersion: 6, resolve() {}, reject() {} },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

/** Warnings Node emits while `fn` runs and a little after (a 1 ms timer has time to fire). */
async function warningsDuring(fn: () => void): Promise<string[]> {
  const warnings: string[] = [];
  const listener = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', listener);
  try {
    fn();
    await sleep(20);
  } finally {
    process.off('warning', listener);
  }
  return warnings;
}

test('a response with nothing pending schedules no timer: no negative timeout, no 1 ms polling', async (t) => {
  const q = queue(t);
  const sent: number[] = [];
  const warnings = await warningsDuring(() => {
    q.push(request(1, sent));
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
  });
  assert.deepEqual(sent, [1]);
  assert.deepEqual(
    warnings.filter((w) => w.startsWith('TimeoutNegativeWarning')),
    [],
  );
  assert.equal(q.throttleCheckTimeoutId, null, 'no check scheduled while nothing waits');
});

test('a request held by client-side throttling is sent once the throttle ends', async (t) => {
  const q = queue(t);
  const sent: number[] = [];
  q.maybeThrottle(30);
  q.push(request(1, sent));
  assert.deepEqual(sent, [], 'throttled: held');
  assert.equal(q.pending.length, 1);
  for (let i = 0; i < 200 && sent.length === 0; i++) await sleep(10);
  assert.deepEqual(sent, [1]);
  assert.equal(q.pending.length, 0);
});

test('a request held by the in-flight limit is sent when a response frees a slot', async (t) => {
  const q = queue(t, 1);
  const sent: number[] = [];
  q.push(request(1, sent));
  q.push(request(2, sent));
  assert.deepEqual(sent, [1]);
  q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
  assert.deepEqual(sent, [1, 2]);
  q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
  await sleep(20);
  assert.equal(q.throttleCheckTimeoutId, null);
});
