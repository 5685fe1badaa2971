// The lifecycle of the daemon's DR drills (src/offsets/drill-runner.ts) over fake clients: a run
// in progress is never doubled by the timer; close() lets it finish before it disconnects;
// destroy() disconnects at once (the run cut off is not counted), is idempotent, and close() after
// it resolves. The drill itself against brokers: test/integration/drill.test.ts.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { parseConfig } from '../../../src/config/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { DrillRunner } from '../../../src/offsets/drill-runner.ts';

/**
 * A client of one cluster: its admin lists the topics (a drill's first step) only when the test
 * lets it, and fails that listing when disconnected, as a real client's request would.
 */
function fakeCluster(name: string, events: string[]) {
  let release!: () => void;
  let fail!: (error: Error) => void;
  const listing = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  listing.catch(() => {});
  const admin = {
    connect: async () => {},
    disconnect: async () => {
      events.push(`${name} admin disconnected`);
      fail(new Error('disconnected'));
    },
    listTopics: async () => {
      events.push(`${name} topics listed`);
      await listing;
      return [];
    },
  };
  const cluster = {
    connect: async () => {},
    disconnect: async () => void events.push(`${name} cluster disconnected`),
  };
  const kafka = {
    admin: () => admin,
    [Symbol('private:Kafka:createCluster')]: () => cluster,
  } as unknown as KafkaClient;
  return { kafka, release: () => release() };
}

function setup() {
  const config = parseConfig({
    clusters: { us: { bootstrapServers: ['us:9092'] }, eu: { bootstrapServers: ['eu:9092'] } },
    flows: [{ source: 'us', target: 'eu', drill: { intervalMs: 5 } }],
  });
  const events: string[] = [];
  const source = fakeCluster('source', events);
  const target = fakeCluster('target', events);
  const metrics = new Metrics();
  const runner = new DrillRunner(
    config,
    config.flows[0] as (typeof config.flows)[number],
    { source: source.kafka, target: target.kafka },
    createLogger({ level: 'silent' }),
    metrics,
  );
  const runs = async (result: string) =>
    (await metrics.drillRuns.get()).values.find((v) => v.labels.result === result)?.value;
  return { runner, events, source, target, runs };
}

const DISCONNECTED = [
  'source admin disconnected',
  'source cluster disconnected',
  'target admin disconnected',
  'target cluster disconnected',
];

test('a run in progress is not doubled; close() waits for it, then disconnects', async () => {
  const { runner, events, source, target, runs } = setup();
  await runner.connect();
  runner.start();
  assert.equal(await runs('pass'), 0, 'the counters start at 0');
  while (events.length < 2) await sleep(5); // the first run started
  await sleep(50); // ten intervals more
  assert.deepEqual(events.sort(), ['source topics listed', 'target topics listed'], 'one run at a time');
  let closed = false;
  const closing = runner.close().then(() => (closed = true));
  assert.equal(runner.close(), runner.close(), 'a second close() returns the same promise');
  await sleep(20);
  assert.equal(closed, false, 'close() waits for the run');
  source.release();
  target.release();
  await closing;
  assert.deepEqual(events.slice(2).sort(), DISCONNECTED);
  // Nothing to compare (no topics): the run counts as an error, and /status says so.
  assert.equal(await runs('error'), 1);
  assert.equal(runner.status().lastResult, 'error');
});

test('destroy() disconnects at once, is idempotent, does not count the run it cuts off; close() after it resolves', async () => {
  const { runner, events, runs } = setup();
  await runner.connect();
  runner.start();
  while (events.length < 2) await sleep(5); // a run started
  const first = runner.destroy();
  assert.equal(runner.destroy(), first, 'a second destroy() returns the same promise');
  await first;
  assert.deepEqual(events.slice(2).sort(), DISCONNECTED);
  await runner.close();
  await sleep(30);
  assert.equal(events.length, 6, 'disconnected once, no run after it');
  assert.equal(await runs('error'), 0, 'the run cut off is not counted');
  assert.equal(runner.status().lastResult, null);
});
