// Topic ACL sync runs after a topic refresh pass, in the background: the pass (and so the flow's
// start, which awaits the first) does not wait on its admin requests, a second sync never starts
// while one runs, and close() waits for the one under way before the admins are closed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { TopicRefresh } from '../../../src/replication/topic-refresh.ts';
import type { TopicCatalog } from '../../../src/replication/topic-sync.ts';
import { flowConfig } from '../../support/flow-config.ts';

/** A cluster with the topic `orders` of one partition, and nothing else to do. */
const catalog = (): TopicCatalog => ({
  partitionCounts: async () => new Map([['orders', 1]]),
  topicConfigs: async () => new Map(),
  createTopic: async () => 'created',
  addPartitions: async () => {},
  committedTopics: async () => new Set(),
  topicOverrides: async () => new Map(),
  alterTopicConfigs: async () => new Map(),
});

test('ACL sync runs after a pass without the pass waiting on it, one at a time, and close() waits for it', async () => {
  const flow = flowConfig({ topics: { include: ['orders'], exclude: [] } });
  const syncs: Array<{ ready: readonly string[]; finish: () => void }> = [];
  let subscribed: readonly string[] = [];
  const refresh = new TopicRefresh({
    config: flow,
    aliases: ['us', 'asia'],
    catalogs: { source: catalog(), target: catalog() },
    source: {
      get topics() {
        return subscribed;
      },
      setTopics: async (topics) => {
        subscribed = topics;
      },
    },
    internal: [],
    metrics: new Metrics().flow(flow.name),
    logger: createLogger({ level: 'silent' }),
    beforeResubscribe: async () => {},
    acls: {
      sync: (ready) =>
        new Promise<void>((resolve) => {
          syncs.push({ ready, finish: resolve });
        }),
    },
  });
  await refresh.refresh(); // resolves while the ACL sync it started is still under way
  assert.deepEqual(subscribed, ['orders']);
  assert.equal(syncs.length, 1);
  assert.deepEqual(syncs[0]?.ready, ['orders']);
  await refresh.refresh();
  assert.equal(syncs.length, 1, 'no second sync while one runs');
  let closed = false;
  const closing = refresh.close().then(() => (closed = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'close waits for the sync under way');
  syncs[0]?.finish();
  await closing;
  assert.equal(closed, true);
});
