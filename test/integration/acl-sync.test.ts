// Topic ACL sync (issue 22) on real brokers with KRaft's StandardAuthorizer and SASL on both
// clusters, the mirror granted on the cluster resources exactly the ACL sync table of
// docs/operations.md (Permissions): the source's literal and prefixed topic ACLs of READ, DESCRIBE,
// WRITE and ALL (ALLOW and DENY) reach the target as READ and DESCRIBE only (ALL as READ, as
// MirrorMaker 2) under the remote names, and keep following the source at each refresh without
// deleting anything; a target where the mirror's principal may not create ACLs is reported once
// while records are still copied.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { authorizerOptions, daemonClusterAs, type KafkaCluster } from '../support/kafka/index.ts';
import { clientAs, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import {
  aclBinding,
  createAcls,
  OPERATION,
  PATTERN,
  PERMISSION,
  permissionBindings,
  permissionTable,
  RESOURCE,
} from '../support/permissions.ts';
import { get, scrape, total } from '../support/prometheus.ts';
import { waitForRecords } from '../support/replication-checks.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
const USERS = { admin: secret('admin'), mirror: secret('mirror'), limited: secret('limited') };

const clusters = clusterPair({ both: authorizerOptions(USERS) });

const NAMES = {
  pattern: ['', '', '', 'LITERAL', 'PREFIXED'],
  operation: ['', '', 'ALL', 'READ', 'WRITE', '', '', '', 'DESCRIBE'],
  permission: ['', '', 'DENY', 'ALLOW'],
};

const adminOf = (cluster: KafkaCluster) => clientAs(cluster, 'admin');
const targetAdmin = () => adminOf(clusters.target);
const sourceAdmin = () => adminOf(clusters.source);

/**
 * `user` may do anything with topics and groups, and on the cluster resource exactly what the ACL
 * sync table of docs/operations.md (Permissions) lists, on the source and on the target.
 */
async function grantMirror(user: 'mirror' | 'limited', clusterRows: 'table' | 'describe only') {
  const principal = `User:${user}`;
  const anything = [
    aclBinding('*', PATTERN.LITERAL, principal, OPERATION.ALL, PERMISSION.ALLOW),
    aclBinding('*', PATTERN.LITERAL, principal, OPERATION.ALL, PERMISSION.ALLOW, RESOURCE.GROUP),
  ];
  const table = permissionBindings(permissionTable('ACL sync'), {}, principal);
  const describeOnly = [
    aclBinding(
      'kafka-cluster',
      PATTERN.LITERAL,
      principal,
      OPERATION.DESCRIBE,
      PERMISSION.ALLOW,
      RESOURCE.CLUSTER,
    ),
  ];
  await createAcls(sourceAdmin(), [...anything, ...table.source]);
  await createAcls(targetAdmin(), [...anything, ...(clusterRows === 'table' ? table.target : describeOnly)]);
}

/** Every topic ACL of a cluster whose resource name starts with `prefix`, as readable lines. */
async function topicAcls(kafka: KafkaClient, prefix: string): Promise<string[]> {
  const { resources } = await withAdmin(kafka, (a) =>
    a.describeAcls({
      resourceType: RESOURCE.TOPIC,
      resourcePatternType: PATTERN.ANY,
      operation: OPERATION.ANY,
      permissionType: PERMISSION.ANY,
    } as never),
  );
  return resources
    .filter((r) => r.resourceName.startsWith(prefix))
    .flatMap((r) =>
      r.acls.map(
        (acl) =>
          `${NAMES.permission[acl.permissionType]} ${NAMES.operation[acl.operation]} ${NAMES.pattern[r.resourcePatternType]}:${r.resourceName} ${acl.principal}`,
      ),
    )
    .sort();
}

/** Polls until the target's topic ACLs under `prefix` are `expected`; fails with the last seen. */
async function waitForTargetAcls(prefix: string, expected: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await topicAcls(targetAdmin(), prefix);
    if (JSON.stringify(seen) === JSON.stringify([...expected].sort())) return;
    await sleep(250);
  }
  assert.deepEqual(seen, [...expected].sort());
}

/** A daemon copying `<include>` as `src.<include>`, as `user` on both clusters, with ACL sync on. */
function startMirror(t: TestContext, name: string, user: 'mirror' | 'limited', include: string) {
  return startDaemon(t, {
    clusters: { src: daemonClusterAs(clusters.source, user), dst: daemonClusterAs(clusters.target, user) },
    flows: [
      {
        name,
        source: 'src',
        target: 'dst',
        group: `km-${name}`,
        naming: 'prefix',
        topics: { include: [include] },
        refreshIntervalMs: 1000,
        aclSync: { enabled: true },
      },
    ],
    heartbeats: { enabled: false },
    shutdown: { timeoutMs: 5000 },
  });
}

/** Waits for the log line of `remote` being created: a topic refresh pass after the ones before. */
const created = (daemon: DaemonProcess, remote: string) =>
  daemon.waitForLog((l) => l['msg'] === 'created remote topic' && l['remoteTopic'] === remote);

test(
  'literal and prefixed READ/DESCRIBE ACLs reach the remote names (ALL as READ, DENY kept); never WRITE; never deleted',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `acl-${id}-orders`;
    const prefix = `acl-${id}-`;
    const src = sourceAdmin();
    await createTopic(src, topic);
    await createTopic(src, `other-${id}`);
    await produceAll(src, topic, numbered(topic, 0, 10));
    const { LITERAL, PREFIXED } = PATTERN;
    const { READ, DESCRIBE, WRITE, ALL } = OPERATION;
    const { ALLOW, DENY } = PERMISSION;
    await createAcls(src, [
      aclBinding(topic, LITERAL, 'User:alice', READ, ALLOW),
      aclBinding(topic, LITERAL, 'User:alice', DESCRIBE, ALLOW),
      aclBinding(topic, LITERAL, 'User:alice', WRITE, ALLOW),
      aclBinding(topic, LITERAL, 'User:bob', ALL, ALLOW),
      aclBinding(topic, LITERAL, 'User:carol', READ, DENY),
      aclBinding(prefix, PREFIXED, 'User:alice', READ, ALLOW),
      aclBinding(prefix, PREFIXED, 'User:alice', WRITE, ALLOW),
      // Not a topic the flow replicates.
      aclBinding(`other-${id}`, LITERAL, 'User:alice', READ, ALLOW),
      // Not topic ACLs.
      aclBinding(`g-${id}`, LITERAL, 'User:alice', READ, ALLOW, RESOURCE.GROUP),
    ]);
    // What the target's operators set themselves on a remote name: never touched.
    await createAcls(targetAdmin(), [aclBinding(`src.${topic}`, LITERAL, 'User:ops', WRITE, ALLOW)]);
    await grantMirror('mirror', 'table');
    const daemon = await startMirror(t, `acl-${id}`, 'mirror', `acl-${id}-.*`);
    assert.ok(await waitForRecords(targetAdmin(), `src.${topic}`, 10, 60_000), 'records copied');
    const expected = [
      `ALLOW READ LITERAL:src.${topic} User:alice`,
      `ALLOW DESCRIBE LITERAL:src.${topic} User:alice`,
      `ALLOW READ LITERAL:src.${topic} User:bob`,
      `DENY READ LITERAL:src.${topic} User:carol`,
      `ALLOW READ PREFIXED:src.${prefix} User:alice`,
    ];
    await waitForTargetAcls(`src.acl-${id}`, [...expected, `ALLOW WRITE LITERAL:src.${topic} User:ops`]);
    assert.deepEqual(await topicAcls(targetAdmin(), `src.other-${id}`), [], 'nothing of other topics');
    const base = await daemon.adminUrl();
    const samples = await scrape(base);
    const flow = `acl-${id}`;
    assert.equal(total(samples, 'kafka_mirror_acl_syncs_total', { flow, result: 'created' }), 5);
    const status = JSON.parse((await get(base, '/status')).body) as {
      flows: Array<{ aclSync: { created: number; refused: unknown } }>;
    };
    assert.deepEqual(status.flows[0]?.aclSync, { created: 5, refused: null });
    assert.equal(daemon.logs.filter((l) => l['msg'] === 'created topic ACL on the target').length, 5);

    // Later: an ACL removed on the source stays on the target, an ACL added is copied.
    await withAdmin(src, (a) =>
      a.deleteAcls({ filters: [aclBinding(topic, LITERAL, 'User:bob', ALL, ALLOW) as never] }),
    );
    await createAcls(src, [aclBinding(topic, LITERAL, 'User:dave', DESCRIBE, ALLOW)]);
    await waitForTargetAcls(`src.acl-${id}`, [
      ...expected,
      `ALLOW WRITE LITERAL:src.${topic} User:ops`,
      `ALLOW DESCRIBE LITERAL:src.${topic} User:dave`,
    ]);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'a target where the mirror may not create ACLs: refused once (log, metric, /status), records still copied',
  { timeout: 240_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const topic = `limited-${id}-a`;
    const src = sourceAdmin();
    await createTopic(src, topic);
    await produceAll(src, topic, numbered(topic, 0, 10));
    await createAcls(src, [
      aclBinding(topic, PATTERN.LITERAL, 'User:alice', OPERATION.READ, PERMISSION.ALLOW),
    ]);
    // On the target's cluster resource only DESCRIBE (it may list ACLs), no ALTER.
    await grantMirror('limited', 'describe only');
    const daemon = await startMirror(t, `limited-${id}`, 'limited', `limited-${id}-.*`);
    const refused = await daemon.waitForLog((l) => String(l['msg']).startsWith('topic ACL sync refused'));
    const err = refused['err'] as Record<string, unknown>;
    assert.equal(err['code'], 'KM_ACL_SYNC_REFUSED');
    assert.equal(err['kafkaError'], 'CLUSTER_AUTHORIZATION_FAILED');
    assert.equal(err['request'], 'create');
    assert.equal(err['cluster'], 'dst');
    assert.ok(await waitForRecords(targetAdmin(), `src.${topic}`, 10, 60_000), 'records copied');
    // Two more topic refresh passes (each runs ACL sync again unless the last one is still under way).
    for (const next of ['b', 'c']) {
      await createTopic(src, `limited-${id}-${next}`);
      await created(daemon, `src.limited-${id}-${next}`);
    }
    assert.equal(
      daemon.logs.filter((l) => String(l['msg']).startsWith('topic ACL sync refused')).length,
      1,
      'reported once',
    );
    const base = await daemon.adminUrl();
    const flow = `limited-${id}`;
    const samples = await scrape(base);
    assert.equal(total(samples, 'kafka_mirror_acl_syncs_total', { flow, result: 'refused' }), 1);
    assert.equal(total(samples, 'kafka_mirror_acl_syncs_total', { flow, result: 'created' }), 0);
    const status = JSON.parse((await get(base, '/status')).body) as {
      flows: Array<{ aclSync: { refused: { kafkaError: string; cluster: string } | null } }>;
    };
    assert.equal(status.flows[0]?.aclSync.refused?.kafkaError, 'CLUSTER_AUTHORIZATION_FAILED');
    assert.deepEqual(await topicAcls(targetAdmin(), `src.limited-${id}`), [], 'nothing created');
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);
