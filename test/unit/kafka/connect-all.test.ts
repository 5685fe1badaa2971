import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAll, type Connectable } from '../../../src/kafka/connect-all.ts';

/** A client that connects after `delayMs` (or fails), recording its lifecycle. */
function client(
  name: string,
  events: string[],
  options: { delayMs?: number; fails?: boolean } = {},
): Connectable {
  return {
    async connect() {
      await sleep(options.delayMs ?? 0);
      if (options.fails === true) throw new Error(`${name} refused`);
      events.push(`${name} connected`);
    },
    async close() {
      events.push(`${name} closed`);
    },
  };
}

test('a failed connect closes every client, also one that connects after the failure', async () => {
  const events: string[] = [];
  await assert.rejects(
    connectAll([client('slow', events, { delayMs: 30 }), client('bad', events, { fails: true })]),
    /bad refused/,
  );
  // The slow client connected after the other had failed: it is closed all the same.
  assert.deepEqual(events, ['slow connected', 'slow closed', 'bad closed']);
});

test('the first failure is the one rethrown', async () => {
  const events: string[] = [];
  await assert.rejects(
    connectAll([client('a', events, { fails: true, delayMs: 10 }), client('b', events, { fails: true })]),
    /a refused/,
  );
});

test('when every client connects, none is closed', async () => {
  const events: string[] = [];
  await connectAll([client('a', events), client('b', events, { delayMs: 5 })]);
  assert.deepEqual(events, ['a connected', 'b connected']);
});
