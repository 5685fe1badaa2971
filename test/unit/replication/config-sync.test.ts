// Topic config sync's decisions (src/replication/config-sync.ts) over clusters held in memory: what
// it sets and removes, what it never touches, and how a refusal is reported (once, until it clears).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { ConfigOperation, type AlterableConfig } from '../../../src/protocol/incremental-alter-configs.ts';
import {
  configChanges,
  configFilter,
  TopicConfigSync,
  type TopicConfigAnswer,
  type TopicConfigCatalog,
} from '../../../src/replication/config-sync.ts';

const { SET, DELETE } = ConfigOperation;
const defaults = parseConfig({
  clusters: { us: { bootstrapServers: ['a:9092'] }, asia: { bootstrapServers: ['b:9092'] } },
  flows: [{ source: 'us', target: 'asia' }],
}).flows[0]!.topicConfigSync;
const synced = configFilter(defaults.exclude);

test("the default exclude list is MirrorMaker 2's DefaultConfigPropertyFilter, plus the timestamp bounds of KIP-937", () => {
  assert.equal(defaults.enabled, true, 'on by default, as sync.topic.configs.enabled');
  for (const name of [
    'follower.replication.throttled.replicas',
    'leader.replication.throttled.replicas',
    'message.timestamp.difference.max.ms',
    'message.timestamp.type',
    'unclean.leader.election.enable',
    'min.insync.replicas',
    'message.timestamp.before.max.ms',
    'message.timestamp.after.max.ms',
  ])
    assert.equal(synced(name), false, name);
  for (const name of ['retention.ms', 'cleanup.policy', 'max.message.bytes', 'min.insync.replicasX'])
    assert.equal(synced(name), true, `${name} (patterns match the whole name)`);
});

test('an invalid exclude pattern is a config error naming the key', () => {
  assert.throws(
    () =>
      parseConfig({
        clusters: { us: { bootstrapServers: ['a:9092'] }, asia: { bootstrapServers: ['b:9092'] } },
        flows: [{ source: 'us', target: 'asia', topicConfigSync: { exclude: ['retention.(ms'] } }],
      }),
    (error: Error & { code?: string }) =>
      error.code === 'KM_CONFIG' && /flows\[0\]\.topicConfigSync\.exclude\[0\]/.test(error.message),
  );
});

test('the source wins for every config it sets; excluded ones and ones only the target sets are left alone', () => {
  const changes = configChanges(
    { 'retention.ms': '2', 'cleanup.policy': 'compact', 'min.insync.replicas': '1', 'segment.ms': '5' },
    { 'retention.ms': '1', 'min.insync.replicas': '2', 'segment.bytes': '9', 'segment.ms': '5' },
    synced,
  );
  assert.deepEqual(changes, [
    { name: 'cleanup.policy', operation: SET, value: 'compact', from: undefined },
    { name: 'retention.ms', operation: SET, value: '2', from: '1' },
  ]);
});

test('a config the source no longer sets is removed only if this process set it and the target still has that value', () => {
  const ours = new Map([
    ['retention.ms', '2'],
    ['max.message.bytes', '7'],
    ['segment.ms', '3'],
    ['min.insync.replicas', '2'],
  ]);
  const changes = configChanges(
    { 'segment.ms': '3' }, // still set by the source: kept
    {
      'retention.ms': '2', // ours, unchanged: removed
      'max.message.bytes': '8', // an operator changed it since: theirs now
      'segment.ms': '3',
      'min.insync.replicas': '2', // excluded since: never touched
      'segment.bytes': '9', // never ours
    },
    synced,
    ours,
  );
  assert.deepEqual(changes, [{ name: 'retention.ms', operation: DELETE, value: null, from: '2' }]);
});

/** Two clusters' topic configs in memory; the target refuses the topics in `refusing`. */
class Catalog implements TopicConfigCatalog {
  readonly configs = new Map<string, Record<string, string>>();
  readonly refusing = new Map<string, string>();
  readonly sent: Array<Map<string, readonly AlterableConfig[]>> = [];
  failing = false;

  /** Topics this cluster refuses to describe, with the error. */
  readonly describeRefusing = new Map<string, string>();

  async topicOverrides(topics: readonly string[], refused?: Map<string, NonNullable<TopicConfigAnswer>>) {
    if (this.failing) throw new Error('unreachable');
    const described = topics.filter((t) => {
      const error = this.describeRefusing.get(t);
      if (error !== undefined) refused?.set(t, { error, message: null });
      return error === undefined && this.configs.has(t);
    });
    return new Map(described.map((t) => [t, { ...this.configs.get(t) }]));
  }

  async alterTopicConfigs(changes: ReadonlyMap<string, readonly AlterableConfig[]>) {
    this.sent.push(new Map(changes));
    const answers = new Map<string, TopicConfigAnswer>();
    for (const [topic, list] of changes) {
      const refusal = this.refusing.get(topic);
      if (refusal !== undefined) {
        answers.set(topic, { error: refusal, message: null });
        continue;
      }
      const configs = { ...this.configs.get(topic) };
      for (const c of list) {
        if (c.value === null) delete configs[c.name];
        else configs[c.name] = c.value;
      }
      this.configs.set(topic, configs);
      answers.set(topic, null);
    }
    return answers;
  }
}

function harness(config = defaults) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const metrics = new Metrics();
  const sync = new TopicConfigSync(config, logger, metrics.flow('us->asia'));
  const source = new Catalog();
  const target = new Catalog();
  const logged = (msg: string) => lines.filter((l) => l['msg'] === msg);
  const metric = async (name: string, labels: Record<string, string>) => {
    const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  };
  return { sync, source, target, logged, metric };
}

const REFUSED = 'target refuses topic config changes; replication goes on, retried at every refresh';
const CLEARED = 'remote topic configs in step again';

test('each applied change is logged old -> new and counted; a DELETE of what a created topic got', async () => {
  const { sync, source, target, logged, metric } = harness();
  source.configs.set('orders', { 'retention.ms': '5' });
  target.configs.set('us.orders', { 'retention.ms': '5', 'max.message.bytes': '7' });
  sync.created('us.orders', { 'retention.ms': '5', 'max.message.bytes': '7' });
  source.configs.set('orders', { 'retention.ms': '6' });
  await sync.pass([['orders', 'us.orders']], source, target);
  assert.deepEqual(target.configs.get('us.orders'), { 'retention.ms': '6' });
  const set = logged('topic config set on the remote topic');
  assert.deepEqual(
    set.map((l) => [l['topic'], l['remoteTopic'], l['config'], l['from'], l['to']]),
    [['orders', 'us.orders', 'retention.ms', '5', '6']],
  );
  assert.deepEqual(
    logged('topic config removed on the remote topic').map((l) => [l['config'], l['from'], l['to']]),
    [['max.message.bytes', '7', null]],
  );
  assert.equal(
    await metric('kafka_mirror_topic_config_syncs_total', { flow: 'us->asia', result: 'applied' }),
    2,
  );
  // In step now: nothing more is sent.
  await sync.pass([['orders', 'us.orders']], source, target);
  assert.equal(target.sent.length, 1);
});

test('a refusal is logged once while it lasts, shown and gauged per topic, and logged again when it clears', async () => {
  const { sync, source, target, logged, metric } = harness();
  source.configs.set('a', { 'retention.ms': '1' });
  source.configs.set('b', { 'retention.ms': '1' });
  target.configs.set('a', {});
  target.configs.set('b', {});
  target.refusing.set('b', 'TOPIC_AUTHORIZATION_FAILED');
  const pairs = [
    ['a', 'a'],
    ['b', 'b'],
  ] as const;
  for (let i = 0; i < 3; i++) await sync.pass(pairs, source, target);
  assert.equal(logged(REFUSED).length, 1, 'logged once, not at every refresh');
  const [line] = logged(REFUSED);
  assert.equal(line?.['remoteTopic'], 'b');
  assert.deepEqual(
    [
      (line?.['err'] as Record<string, unknown>)['code'],
      (line?.['err'] as Record<string, unknown>)['kafkaError'],
    ],
    ['KM_TOPIC_CONFIG_REFUSED', 'TOPIC_AUTHORIZATION_FAILED'],
  );
  assert.deepEqual(
    sync.refusals().map((r) => [r.topic, r.remoteTopic, r.error, r.configs]),
    [['b', 'b', 'TOPIC_AUTHORIZATION_FAILED', ['retention.ms']]],
  );
  assert.equal(await metric('kafka_mirror_topic_config_sync_refused_topics', { flow: 'us->asia' }), 1);
  assert.equal(
    await metric('kafka_mirror_topic_config_syncs_total', { flow: 'us->asia', result: 'refused' }),
    3,
  );
  assert.deepEqual(target.configs.get('a'), { 'retention.ms': '1' }, 'the other topic is not held back');

  target.refusing.delete('b');
  await sync.pass(pairs, source, target);
  assert.equal(logged(CLEARED).length, 1);
  assert.deepEqual(sync.refusals(), []);
  assert.equal(await metric('kafka_mirror_topic_config_sync_refused_topics', { flow: 'us->asia' }), 0);
});

test('a topic described on one side only is skipped, never taken for one that sets nothing', async () => {
  const { sync, source, target } = harness();
  sync.created('t', { 'retention.ms': '1' });
  target.configs.set('t', { 'retention.ms': '1' });
  // The source topic could not be described (gone, or not allowed): no DELETE of what we set.
  await sync.pass([['t', 't']], source, target);
  assert.equal(target.sent.length, 0);
  assert.deepEqual(target.configs.get('t'), { 'retention.ms': '1' });
});

test('a failing pass is logged once until one succeeds, and never rejects', async () => {
  const { sync, source, target, logged } = harness();
  source.failing = true;
  await sync.pass([['t', 't']], source, target);
  await sync.pass([['t', 't']], source, target);
  assert.equal(logged('topic config sync failed; will retry at every refresh').length, 1);
  source.failing = false;
  await sync.pass([['t', 't']], source, target);
  assert.equal(logged('topic config sync works again').length, 1);
});

test('disabled: nothing is read or sent', async () => {
  const { sync, source, target } = harness({ enabled: false, exclude: [] });
  source.failing = true; // would be logged if read
  source.configs.set('t', { 'retention.ms': '1' });
  await sync.pass([['t', 't']], source, target);
  assert.equal(target.sent.length, 0);
});

test('a target that refuses to describe a remote topic is reported like a refused change, once, until it clears', async () => {
  const { sync, source, target, logged } = harness();
  source.configs.set('t', { 'retention.ms': '1' });
  target.configs.set('t', { 'retention.ms': '1' });
  target.describeRefusing.set('t', 'TOPIC_AUTHORIZATION_FAILED');
  await sync.pass([['t', 't']], source, target);
  await sync.pass([['t', 't']], source, target);
  assert.equal(logged(REFUSED).length, 1);
  const err = logged(REFUSED)[0]?.['err'] as Record<string, unknown>;
  assert.match(
    String(err['message']),
    /refused to describe the configs of topic t: TOPIC_AUTHORIZATION_FAILED/,
  );
  assert.deepEqual(
    sync.refusals().map((r) => [r.remoteTopic, r.error, r.configs]),
    [['t', 'TOPIC_AUTHORIZATION_FAILED', []]],
  );
  assert.equal(target.sent.length, 0, 'nothing is changed on a topic not described');
  target.describeRefusing.clear();
  await sync.pass([['t', 't']], source, target);
  assert.equal(logged(CLEARED).length, 1);
});
