// Topic configuration sync on real brokers (issue 22, deliverable 3): IncrementalAlterConfigs as
// this project encodes it (both versions) against a real broker; a running flow following config
// changes of its source topics (SET, and DELETE of what it set itself only, never an excluded
// config nor one an operator set on the target); and a target that refuses a topic's changes (no
// ALTER_CONFIGS on it, KRaft StandardAuthorizer with SASL users), reported once per topic in the
// log, /status and a gauge, while the topic's records keep flowing.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { alterTopicConfigs, type AdminCluster } from '../../src/kafka/alter-configs.ts';
import { clusterOf } from '../../src/kafka/raw-client.ts';
import { TopicAdmin } from '../../src/kafka/topic-admin.ts';
import { ConfigOperation } from '../../src/protocol/incremental-alter-configs.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon } from '../support/daemon.ts';
import { authorizerOptions, daemonClusterAs } from '../support/kafka/index.ts';
import { clientAs, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import { aclBinding, createAcls, OPERATION, PATTERN, PERMISSION, RESOURCE } from '../support/permissions.ts';
import { get, scrape, total } from '../support/prometheus.ts';
import { waitForRecords } from '../support/replication-checks.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
const USERS = { admin: secret('admin'), mirror: secret('mirror') };

const clusters = clusterPair({ target: authorizerOptions(USERS) });

const WAIT_MS = 60_000;

/** A client of the target as `user`. */
const targetAs = (user: 'admin' | 'mirror') => clientAs(clusters.target, user);

/** The configs `topic` sets itself on a cluster (the project's own describe: source TOPIC_CONFIG). */
async function overridesOf(kafka: KafkaClient, topic: string): Promise<Record<string, string>> {
  const admin = new TopicAdmin(kafka);
  await admin.connect();
  try {
    return (await admin.topicOverrides([topic])).get(topic) ?? {};
  } finally {
    await admin.destroy();
  }
}

/** Polls until `check` holds for the topic's configs on the target (bounded); returns them. */
async function targetOverridesUntil(
  topic: string,
  check: (configs: Record<string, string>) => boolean,
  what: string,
): Promise<Record<string, string>> {
  const deadline = Date.now() + WAIT_MS;
  let configs: Record<string, string> = {};
  while (Date.now() < deadline) {
    configs = await overridesOf(targetAs('admin'), topic);
    if (check(configs)) return configs;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what}: the target's configs of ${topic} are ${JSON.stringify(configs)}`);
}

/** kafkajs's legacy AlterConfigs on the source: the topic's configs become exactly `configs`. */
async function setSourceConfigs(topic: string, configs: Record<string, string>): Promise<void> {
  await withAdmin(clusters.src, (a) =>
    a.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: RESOURCE.TOPIC,
          name: topic,
          configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
        },
      ],
    }),
  );
}

test(
  'IncrementalAlterConfigs v0 and v1 as encoded here: SET and DELETE applied, other configs kept, a bad value refused for its topic only',
  { timeout: 120_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const [good, bad] = [`iac-good-${id}`, `iac-bad-${id}`];
    const admin = targetAs('admin');
    await createTopic(admin, good, { config: { 'retention.ms': '100000', 'segment.bytes': '4194304' } });
    await createTopic(admin, bad);
    const cluster = clusterOf<AdminCluster & { connect(): Promise<void>; disconnect(): Promise<void> }>(
      admin,
    );
    await cluster.connect();
    t.after(() => cluster.disconnect());
    for (const version of [0, 1]) {
      // The same broker object, claiming only versions up to `version`.
      const pinned: AdminCluster = {
        refreshMetadata: () => cluster.refreshMetadata(),
        findControllerBroker: async () =>
          Object.create((await cluster.findControllerBroker()) as object, {
            versions: { value: { 44: { minVersion: 0, maxVersion: version } } },
          }) as unknown,
      };
      const retention = String(200_000 + version);
      const answers = await alterTopicConfigs(
        pinned,
        new Map([
          [
            good,
            [
              { name: 'retention.ms', operation: ConfigOperation.SET, value: retention },
              { name: 'max.message.bytes', operation: ConfigOperation.SET, value: '500000' },
            ],
          ],
          [bad, [{ name: 'retention.ms', operation: ConfigOperation.SET, value: 'soon' }]],
        ]),
      );
      assert.equal(answers.get(good), null, `v${version}: applied`);
      assert.equal(answers.get(bad)?.error, 'INVALID_CONFIG', `v${version}: refused for its topic`);
      assert.deepEqual(await overridesOf(admin, good), {
        'retention.ms': retention,
        'max.message.bytes': '500000',
        'segment.bytes': '4194304', // untouched (AlterConfigs would have removed it)
      });
      const removed = await alterTopicConfigs(
        pinned,
        new Map([[good, [{ name: 'max.message.bytes', operation: ConfigOperation.DELETE, value: null }]]]),
      );
      assert.equal(removed.get(good), null, `v${version}: DELETE applied`);
      assert.deepEqual(await overridesOf(admin, good), {
        'retention.ms': retention,
        'segment.bytes': '4194304',
      });
    }
  }),
);

test(
  'a running flow follows config changes of its source topics; a topic whose configs the target refuses is reported once and keeps replicating',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const [synced, refused, hidden] = [`cfg-${id}-synced`, `cfg-${id}-refused`, `cfg-${id}-hidden`];
    const { LITERAL } = PATTERN;
    const { ALL, ALTER_CONFIGS, DESCRIBE_CONFIGS } = OPERATION;
    const { ALLOW, DENY } = PERMISSION;
    const mirror = 'User:mirror';
    await createAcls(targetAs('admin'), [
      aclBinding('*', LITERAL, mirror, ALL, ALLOW),
      aclBinding('*', LITERAL, mirror, ALL, ALLOW, RESOURCE.GROUP),
      aclBinding('kafka-cluster', LITERAL, mirror, ALL, ALLOW, RESOURCE.CLUSTER),
      // A DENY wins over the ALLOW: the mirror may create and write it, not change its configs.
      aclBinding(refused, LITERAL, mirror, ALTER_CONFIGS, DENY),
      // Nor may it read this one's configs (nor change them).
      aclBinding(hidden, LITERAL, mirror, DESCRIBE_CONFIGS, DENY),
      aclBinding(hidden, LITERAL, mirror, ALTER_CONFIGS, DENY),
    ]);
    const { src } = clusters;
    await createTopic(src, synced, {
      config: { 'retention.ms': '3600000', 'min.insync.replicas': '1' }, // the latter is excluded
    });
    await createTopic(src, refused, { config: { 'retention.ms': '3600000' } });
    await createTopic(src, hidden, { config: { 'retention.ms': '3600000' } });
    await produceAll(src, synced, numbered(synced, 0, 10));
    await produceAll(src, refused, numbered(refused, 0, 10));
    await produceAll(src, hidden, numbered(hidden, 0, 10));
    const daemon = await startDaemon(t, {
      clusters: {
        src: { bootstrapServers: [...clusters.source.bootstrapServers] },
        dst: daemonClusterAs(clusters.target, 'mirror'),
      },
      flows: [
        {
          name: id,
          source: 'src',
          target: 'dst',
          topics: { include: [`cfg-${id}-.*`] },
          commitIntervalMs: 1000,
          refreshIntervalMs: 1500,
          topicConfigs: [],
        },
      ],
      heartbeats: { enabled: false },
      shutdown: { timeoutMs: 5000 },
    });
    const dst = targetAs('admin');
    assert.ok(await waitForRecords(dst, synced, 10, WAIT_MS), 'records of the synced topic');
    assert.ok(await waitForRecords(dst, refused, 10, WAIT_MS), 'records of the refused topic');
    assert.ok(await waitForRecords(dst, hidden, 10, WAIT_MS), 'records of the hidden topic');
    // Created with what the source sets, an empty topicConfigs notwithstanding; never the excluded.
    assert.deepEqual(await overridesOf(dst, synced), { 'retention.ms': '3600000' });

    // An operator's own config on the target, which the source never sets.
    const operator = new TopicAdmin(dst);
    t.after(() => operator.destroy());
    const set = await operator.alterTopicConfigs(
      new Map([[synced, [{ name: 'segment.bytes', operation: ConfigOperation.SET, value: '4194304' }]]]),
    );
    assert.equal(set.get(synced), null);
    // Changed live on the source: retention, the cleanup policy, a new config, the excluded one.
    await setSourceConfigs(synced, {
      'retention.ms': '7200000',
      'cleanup.policy': 'compact,delete',
      'max.message.bytes': '400000',
      'min.insync.replicas': '1',
    });
    await targetOverridesUntil(
      synced,
      (c) => c['retention.ms'] === '7200000' && c['cleanup.policy'] === 'compact,delete',
      'source changes applied',
    );
    // The line may be read from the daemon's output a moment after the target shows the change.
    const applied = await daemon.waitForLog(
      (l) => l['msg'] === 'topic config set on the remote topic' && l['to'] === '7200000',
    );
    assert.deepEqual(
      [applied?.['remoteTopic'], applied?.['from'], applied?.['to']],
      [synced, '3600000', '7200000'],
      'the change logged, old -> new',
    );

    // The source stops setting max.message.bytes (which the flow set): removed on the target; the
    // operator's segment.bytes stays; the excluded min.insync.replicas is never copied.
    await setSourceConfigs(synced, {
      'retention.ms': '7200000',
      'cleanup.policy': 'compact,delete',
      'min.insync.replicas': '1',
    });
    const after = await targetOverridesUntil(
      synced,
      (c) => c['max.message.bytes'] === undefined,
      'a config the flow set, removed when the source no longer sets it',
    );
    assert.deepEqual(after, {
      'retention.ms': '7200000',
      'cleanup.policy': 'compact,delete',
      'segment.bytes': '4194304',
    });

    // The refused topic: one warning, /status and the gauge; its records keep flowing.
    const REFUSED = 'target refuses topic config changes; replication goes on, retried at every refresh';
    await setSourceConfigs(refused, { 'retention.ms': '7200000' });
    const warning = await daemon.waitForLog(
      (l) => l['msg'] === REFUSED && l['remoteTopic'] === refused,
      WAIT_MS,
    );
    const err = warning['err'] as Record<string, unknown>;
    assert.equal(err['code'], 'KM_TOPIC_CONFIG_REFUSED');
    assert.equal(err['kafkaError'], 'TOPIC_AUTHORIZATION_FAILED');
    await produceAll(src, refused, numbered(refused, 10, 15));
    assert.ok(await waitForRecords(dst, refused, 25, WAIT_MS), 'records after the refusal replicated');
    // The hidden topic: the target refuses to describe it, reported the same way (no config named).
    const undescribed = await daemon.waitForLog((l) => l['msg'] === REFUSED && l['remoteTopic'] === hidden);
    assert.match(
      String((undescribed?.['err'] as Record<string, unknown> | undefined)?.['message']),
      /refused to describe the configs of topic .*: TOPIC_AUTHORIZATION_FAILED/,
    );
    const base = await daemon.adminUrl();
    const samples = await scrape(base);
    assert.equal(total(samples, 'kafka_mirror_topic_config_sync_refused_topics', { flow: id }), 2);
    assert.ok(total(samples, 'kafka_mirror_topic_config_syncs_total', { flow: id, result: 'refused' }) >= 1);
    assert.ok(total(samples, 'kafka_mirror_topic_config_syncs_total', { flow: id, result: 'applied' }) >= 4);
    const status = JSON.parse((await get(base, '/status')).body) as {
      flows: Array<{ name: string; topicConfigSync: { refusedTopics: Array<Record<string, unknown>> } }>;
    };
    const refusals = status.flows.find((f) => f.name === id)?.topicConfigSync.refusedTopics ?? [];
    assert.deepEqual(
      refusals.map((r) => [r['remoteTopic'], r['error'], r['configs']]).sort(),
      [
        [hidden, 'TOPIC_AUTHORIZATION_FAILED', []],
        [refused, 'TOPIC_AUTHORIZATION_FAILED', ['retention.ms']],
      ].sort(),
    );
    assert.equal(await overridesOf(dst, refused).then((c) => c['retention.ms']), '3600000');

    // Back in step (the source reverted): the refusal clears, logged once; each was warned once only.
    await setSourceConfigs(refused, { 'retention.ms': '3600000' });
    await daemon.waitForLog(
      (l) => l['msg'] === 'remote topic configs in step again' && l['remoteTopic'] === refused,
      WAIT_MS,
    );
    for (const remote of [refused, hidden])
      assert.equal(
        daemon.logs.filter((l) => l['msg'] === REFUSED && l['remoteTopic'] === remote).length,
        1,
        `the refusal of ${remote} was logged once, not at every refresh`,
      );
    assert.equal(total(await scrape(base), 'kafka_mirror_topic_config_sync_refused_topics', { flow: id }), 1);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);
