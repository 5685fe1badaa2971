// The permissions kafka-mirror needs (issue 22), proved on real brokers: both clusters run KRaft's
// StandardAuthorizer behind SASL_SSL; the mirror's principal gets exactly the rows of the
// Permissions tables of docs/operations.md (test/support/permissions.ts reads them) and nothing
// more (the test's admin is the only super user besides the brokers' own PLAINTEXT listener), and
// a flow copies every record. A row missing from a table fails here.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { positionsTopicOf } from '../../src/config/index.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { authorizerOptions, daemonClusterAs, type KafkaCluster } from '../support/kafka/index.ts';
import { clientAs, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import {
  createAcls,
  permissionBindings,
  permissionTable,
  type AclBinding,
  type PermissionFeature,
  type Placeholder,
} from '../support/permissions.ts';
import { committedTotal, waitForRecords } from '../support/replication-checks.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
/** One principal per test, so each one's ACLs are exactly what that test granted. */
const USERS = {
  admin: secret('admin'),
  alo: secret('alo'),
  defaults: secret('defaults'),
  eos: secret('eos'),
  gsync: secret('gsync'),
};
type Mirror = Exclude<keyof typeof USERS, 'admin'>;

const clusters = clusterPair({ both: authorizerOptions(USERS) });

/** The cluster's super user. */
const admin = (cluster: KafkaCluster) => clientAs(cluster, 'admin');

/** Every ACL of `principal` on the cluster, as comparable lines. */
async function aclsOf(cluster: KafkaCluster, principal: string): Promise<string[]> {
  const { resources } = await withAdmin(admin(cluster), (a) =>
    a.describeAcls({
      resourceType: 1, // ANY
      resourcePatternType: 1,
      principal,
      operation: 1,
      permissionType: 1,
    } as never),
  );
  return resources
    .flatMap((r) =>
      r.acls.map((a) =>
        line({
          ...r,
          principal: a.principal,
          host: a.host,
          operation: a.operation,
          permissionType: a.permissionType,
        }),
      ),
    )
    .sort();
}

const line = (b: AclBinding) =>
  [
    b.resourceType,
    b.resourcePatternType,
    b.resourceName,
    b.principal,
    b.host,
    b.operation,
    b.permissionType,
  ].join(' ');

/** Grants `user` exactly the rows of `features`, and checks it has nothing else on either cluster. */
async function grant(
  user: Mirror,
  features: readonly PermissionFeature[],
  names: Partial<Record<Placeholder, string>>,
): Promise<void> {
  const principal = `User:${user}`;
  const bindings = permissionBindings(
    features.flatMap((f) => permissionTable(f)),
    names,
    principal,
  );
  // A row two features share (DescribeConfigs on <topic>: Topic creation and Topic config sync) is
  // one ACL.
  const once = (acls: typeof bindings.source) =>
    acls.filter((acl, i) => acls.findIndex((other) => line(other) === line(acl)) === i);
  const [source, target] = [once(bindings.source), once(bindings.target)];
  for (const [cluster, acls] of [
    [clusters.source, source],
    [clusters.target, target],
  ] as const) {
    if (acls.length > 0) await createAcls(admin(cluster), acls);
    assert.deepEqual(
      await aclsOf(cluster, principal),
      acls.map(line).sort(),
      `${cluster.name}: only the table's ACLs`,
    );
  }
}

/** A daemon of one flow copying `topic` as `user` on both clusters. */
function startMirror(
  t: TestContext,
  user: Mirror,
  topic: string,
  flow: Record<string, unknown>,
  heartbeats: boolean,
) {
  return startDaemon(t, {
    clusters: { src: daemonClusterAs(clusters.source, user), dst: daemonClusterAs(clusters.target, user) },
    flows: [
      {
        name: topic,
        source: 'src',
        target: 'dst',
        topics: { include: [topic] },
        commitIntervalMs: 500,
        ...flow,
      },
    ],
    heartbeats: { enabled: heartbeats },
    shutdown: { timeoutMs: 5000 },
  });
}

/**
 * Nothing refused: no warning or error about an authorization (a refused request the daemon retries
 * is logged at warn or error). Others are not about permissions: a fresh cluster's coordinator
 * still loading, a connection timeout on a busy machine.
 */
function noRefusals(daemon: DaemonProcess): void {
  const level = (l: Record<string, unknown>) => (typeof l['level'] === 'number' ? l['level'] : 0);
  const refused = daemon.logs.filter(
    (l) => level(l) >= 40 && /AUTHORIZATION|not authorized/i.test(JSON.stringify(l)),
  );
  assert.deepEqual(refused, [], 'no authorization warning or error');
}

const RECORDS = 20;

test(
  'at least once with exactly the "At least once" table (remote topic made beforehand, no heartbeats): every record copied and committed',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `perm-alo-${id}`;
    const group = `km-perm-alo-${id}`;
    const remote = `src.${topic}`;
    await createTopic(admin(clusters.source), topic, { partitions: 2 });
    await createTopic(admin(clusters.target), remote, { partitions: 2 });
    await produceAll(admin(clusters.source), topic, numbered(topic, 0, RECORDS));
    await grant('alo', ['At least once'], { '<topic>': topic, '<remote topic>': remote, '<group>': group });
    const daemon = await startMirror(
      t,
      'alo',
      topic,
      { group, naming: 'prefix', topicConfigSync: { enabled: false } },
      false,
    );
    assert.ok(await waitForRecords(admin(clusters.target), remote, RECORDS, 60_000), 'records copied');
    await waitForCommitted(admin(clusters.source), group, topic, RECORDS);
    noRefusals(daemon);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'the defaults (remote topics created, heartbeats, topic config sync) with exactly the "At least once", "Topic creation", "Heartbeats" and "Topic config sync" tables',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `perm-def-${id}`;
    const group = `km-perm-def-${id}`;
    await createTopic(admin(clusters.source), topic, {
      partitions: 2,
      config: { 'retention.ms': '86400000' },
    });
    await produceAll(admin(clusters.source), topic, numbered(topic, 0, RECORDS));
    await grant('defaults', ['At least once', 'Topic creation', 'Heartbeats', 'Topic config sync'], {
      '<topic>': topic,
      '<remote topic>': topic,
      '<group>': group,
    });
    const daemon = await startMirror(t, 'defaults', topic, { group }, true);
    assert.ok(await waitForRecords(admin(clusters.target), topic, RECORDS, 60_000), 'records copied');
    assert.ok(
      await waitForRecords(admin(clusters.target), 'kafka-mirror.heartbeats', 1, 60_000),
      'heartbeats copied',
    );
    await waitForCommitted(admin(clusters.source), group, topic, RECORDS);
    noRefusals(daemon);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'exactly once with exactly the "At least once", "Topic creation", "Topic config sync" and "Exactly once" tables: every record copied in committed transactions',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `perm-eos-${id}`;
    const group = `km-perm-eos-${id}`;
    await createTopic(admin(clusters.source), topic, { partitions: 2 });
    await produceAll(admin(clusters.source), topic, numbered(topic, 0, RECORDS));
    await grant('eos', ['At least once', 'Topic creation', 'Topic config sync', 'Exactly once'], {
      '<topic>': topic,
      '<remote topic>': topic,
      '<group>': group,
      '<positions topic>': positionsTopicOf(group),
    });
    const daemon = await startMirror(t, 'eos', topic, { group, delivery: 'exactly-once' }, false);
    await daemon.waitForLog((l) => l['msg'] === 'progress' && Number(l['recordsWritten']) >= RECORDS, 90_000);
    noRefusals(daemon);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'group offset sync with exactly the "At least once", "Topic creation", "Topic config sync" and "Group offset sync" tables: the group\'s offsets reach the target',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `perm-gs-${id}`;
    const group = `km-perm-gs-${id}`;
    const app = `app-${id}`;
    await createTopic(admin(clusters.source), topic, { partitions: 2 });
    await produceAll(admin(clusters.source), topic, numbered(topic, 0, RECORDS));
    // The application's group consumed everything on the source.
    await withAdmin(admin(clusters.source), async (a) => {
      const ends = await a.fetchTopicOffsets(topic);
      await a.setOffsets({
        groupId: app,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      });
    });
    await grant('gsync', ['At least once', 'Topic creation', 'Topic config sync', 'Group offset sync'], {
      '<topic>': topic,
      '<remote topic>': topic,
      '<group>': group,
      '<synced group>': app,
    });
    const daemon = await startMirror(
      t,
      'gsync',
      topic,
      { group, groupOffsetSync: { enabled: true, include: [app], intervalMs: 1000 } },
      false,
    );
    await waitForCommitted(admin(clusters.target), app, topic, RECORDS);
    noRefusals(daemon);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

/** Waits until the group committed `count` records of the topic (fails after 60 s). */
async function waitForCommitted(
  kafka: KafkaClient,
  group: string,
  topic: string,
  count: number,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let committed = 0;
  while (Date.now() < deadline) {
    // Rejects while the topic does not exist yet (on the target, until the flow created it).
    committed = await committedTotal(kafka, group, topic).catch(() => 0);
    if (committed >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(committed, count, `${group} committed on ${topic}`);
}
