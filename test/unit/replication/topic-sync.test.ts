// One pass of the topic synchroniser over clusters held in memory: what it creates, and what it
// says about a remote topic deleted on the target (it never recreates one the flow replicated
// into before).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../src/observability/logger.ts';
import { syncTopics, type TopicCatalog, type TopicCreation } from '../../../src/replication/topic-sync.ts';
import { flowConfig } from '../../support/flow-config.ts';

/** One cluster's topics in memory: topic -> partition count. */
class Catalog implements TopicCatalog {
  readonly topics: Map<string, number>;
  /** Source side: topics the flow's group has committed offsets for. */
  readonly committed = new Set<string>();

  constructor(topics: Record<string, number> = {}) {
    this.topics = new Map(Object.entries(topics));
  }

  async partitionCounts(): Promise<Map<string, number>> {
    return new Map(this.topics);
  }

  async topicConfigs(topics: readonly string[]): Promise<Map<string, Record<string, string>>> {
    return new Map(topics.map((t) => [t, {}]));
  }

  async topicOverrides(topics: readonly string[]): Promise<Map<string, Record<string, string>>> {
    return new Map(topics.map((t) => [t, {}]));
  }

  async alterTopicConfigs(changes: ReadonlyMap<string, unknown>): Promise<Map<string, null>> {
    return new Map([...changes.keys()].map((t) => [t, null]));
  }

  /** Topics another instance creates between this one's listing and its CreateTopics. */
  readonly racing = new Set<string>();

  async createTopic(name: string, partitions: number): Promise<TopicCreation> {
    const exists = this.topics.has(name) || this.racing.has(name);
    this.topics.set(name, partitions);
    return exists ? 'exists' : 'created';
  }

  async addPartitions(name: string, count: number): Promise<void> {
    this.topics.set(name, count);
  }

  async committedTopics(_group: string, topics: readonly string[]): Promise<Set<string>> {
    return new Set(topics.filter((t) => this.committed.has(t)));
  }
}

function logs() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => lines.push(line) } });
  const logged = (msg: string) =>
    lines
      .map(
        (line) =>
          JSON.parse(line) as { msg: string; level: number; remoteTopic?: string; err?: { code?: string } },
      )
      .filter((entry) => entry.msg === msg);
  return { logger, logged };
}

const DELETED = 'remote topic was deleted; not recreating it (see the runbook: target topic deleted)';
const BACK = 'remote topic exists again';

test('a remote topic deleted on the target is reported once while it stays missing, and again only after it came back and went again', async () => {
  const flow = flowConfig();
  const source = new Catalog({ orders: 3, payments: 2 });
  const target = new Catalog({ payments: 2 });
  source.committed.add('orders'); // the flow replicated into it before: an operator deleted it
  const { logger, logged } = logs();
  // Kept by the caller from one pass to the next (the flow's refresh every refresh interval).
  const reported = new Set<string>();
  const pass = () => syncTopics(flow, ['us', 'asia'], source, target, logger, [], reported);

  for (let refresh = 0; refresh < 3; refresh++) {
    const result = await pass();
    assert.deepEqual(result.created, [], 'never recreated');
    assert.deepEqual(
      result.ready.sort(),
      ['orders', 'payments'],
      'still ready: its writes halt the partitions',
    );
  }
  const deleted = logged(DELETED);
  assert.equal(deleted.length, 1, 'logged once, not at every refresh');
  assert.equal(deleted[0]?.level, 50);
  assert.equal(deleted[0]?.remoteTopic, 'orders');
  assert.equal(deleted[0]?.err?.code, 'KM_TARGET_TOPIC_MISSING');

  // Recreated by an operator (the runbook): said once, and nothing more while it exists.
  target.topics.set('orders', 3);
  await pass();
  await pass();
  assert.equal(logged(BACK).length, 1);
  assert.equal(logged(DELETED).length, 1);

  // Deleted again: a new state, reported again.
  target.topics.delete('orders');
  await pass();
  await pass();
  assert.equal(logged(DELETED).length, 2);
  assert.equal(logged(BACK).length, 1);
});

test('a missing remote topic the flow never replicated into is created, not reported as deleted', async () => {
  const source = new Catalog({ orders: 3 });
  const target = new Catalog();
  const { logger, logged } = logs();
  const result = await syncTopics(flowConfig(), ['us', 'asia'], source, target, logger, [], new Set());
  assert.deepEqual(result.created, ['orders']);
  assert.equal(target.topics.get('orders'), 3);
  assert.equal(logged(DELETED).length, 0);
});

test('a remote topic another instance created first is ready: neither created again nor failed', async () => {
  const source = new Catalog({ orders: 3, payments: 2 });
  const target = new Catalog();
  target.racing.add('orders');
  const { logger, logged } = logs();
  const result = await syncTopics(flowConfig(), ['us', 'asia'], source, target, logger, [], new Set());
  assert.deepEqual(result.ready.sort(), ['orders', 'payments']);
  assert.deepEqual(result.created, ['payments']);
  assert.deepEqual([...result.failed], []);
  assert.equal(logged('cannot prepare remote topic; will retry').length, 0);
  assert.deepEqual(
    logged('created remote topic').map((l) => l.remoteTopic),
    ['payments'],
  );
});
