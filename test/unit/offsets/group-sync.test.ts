// The lifecycle of group offset sync (src/offsets/group-sync.ts) over fake clients: close() lets
// a pass in progress finish before it disconnects; destroy() disconnects at once, is idempotent,
// and close() after it resolves. The sync itself against brokers: test/integration/disaster-recovery.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { parseConfig } from '../../../src/config/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { GroupOffsetSync } from '../../../src/offsets/group-sync.ts';

/** Lets pending promise callbacks run. */
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * A client of one cluster: its admin lists the groups only when the test lets it (a pass in
 * progress), and fails that listing when disconnected, as a real client's request would.
 */
function fakeCluster(name: string, events: string[]) {
  let release!: () => void;
  let fail!: (error: Error) => void;
  const listing = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  listing.catch(() => {}); // only the source's pass waits on it
  const admin = {
    connect: async () => {},
    disconnect: async () => {
      events.push(`${name} admin disconnected`);
      fail(new Error('disconnected'));
    },
    listGroups: async () => {
      events.push(`${name} groups listed`);
      await listing;
      return { groups: [] };
    },
  };
  const cluster = {
    connect: async () => {},
    disconnect: async () => void events.push(`${name} cluster disconnected`),
  };
  const kafka = {
    admin: () => admin,
    // What raw-client.ts's clusterOf looks for on a kafkajs client.
    [Symbol('private:Kafka:createCluster')]: () => cluster,
  } as unknown as KafkaClient;
  return { kafka, release: () => release() };
}

function setup() {
  const config = parseConfig({
    clusters: { us: { bootstrapServers: ['us:9092'] }, eu: { bootstrapServers: ['eu:9092'] } },
    flows: [{ source: 'us', target: 'eu', groupOffsetSync: { enabled: true } }],
  });
  const events: string[] = [];
  const source = fakeCluster('source', events);
  const target = fakeCluster('target', events);
  const lines: Array<{ msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const sync = new GroupOffsetSync(
    config,
    config.flows[0] as (typeof config.flows)[number],
    { source: source.kafka, target: target.kafka },
    logger,
  );
  return { sync, events, source, lines };
}

test('close() waits for the pass in progress, then disconnects', async () => {
  const { sync, events, source } = setup();
  await sync.connect();
  sync.start();
  await turns();
  assert.deepEqual(events, ['source groups listed'], 'the first pass runs at once');
  let closed = false;
  const closing = sync.close().then(() => (closed = true));
  assert.equal(sync.close(), sync.close(), 'a second close() returns the same promise');
  await turns();
  assert.equal(closed, false, 'close() waits for the pass');
  assert.deepEqual(events, ['source groups listed'], 'nothing disconnected while the pass runs');
  source.release();
  await closing;
  assert.deepEqual(events.slice(1).sort(), [
    'source admin disconnected',
    'source cluster disconnected',
    'target admin disconnected',
    'target cluster disconnected',
  ]);
});

test('destroy() disconnects at once, is idempotent, and close() after it resolves', async () => {
  const { sync, events, lines } = setup();
  await sync.connect();
  sync.start();
  await turns();
  const first = sync.destroy();
  assert.equal(sync.destroy(), first, 'a second destroy() returns the same promise');
  await first;
  assert.deepEqual(events.slice(1).sort(), [
    'source admin disconnected',
    'source cluster disconnected',
    'target admin disconnected',
    'target cluster disconnected',
  ]);
  await sync.close();
  await turns();
  assert.equal(events.length, 5, 'disconnected once');
  assert.deepEqual(
    lines.filter((l) => l.msg === 'group offset sync failed; will retry'),
    [],
    'the pass cut off by destroy() is no failure to report',
  );
});
