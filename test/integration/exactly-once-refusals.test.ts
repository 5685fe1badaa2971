// Exactly-once against a target that refuses what a partition's transaction needs, on real brokers
// with an authorizer (issue 19, "errors a broker never retries"): the transaction coordinator
// refusing the partition's transactional id (no WRITE: InitProducerId; no DESCRIBE either:
// FindCoordinator) or the positions topic (AddPartitionsToTxn), a transaction timeout above the
// brokers' maximum (InitProducerId), and the position record of a commit refused by its topic
// (Produce). Each partition must halt with a coded error, the halted metric and a log line that
// says what to do. Before, the coordinator's refusals restored the partition into the same refusal
// for ever (a warning each time) and the refused position record left it silently stuck.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { authorizerOptions, daemonClusterAs } from '../support/kafka/index.ts';
import { clientAs, createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import {
  createAcls,
  OPERATION,
  PATTERN,
  PERMISSION,
  RESOURCE,
  type AclBinding,
} from '../support/permissions.ts';
import { scrape, total } from '../support/prometheus.ts';
import { committedTotal } from '../support/replication-checks.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
const USERS = { admin: secret('admin'), mirror: secret('mirror') };
/** The target's brokers take transactions up to two minutes. */
const MAX_TRANSACTION_TIMEOUT_MS = 120_000;

const clusters = clusterPair({
  target: authorizerOptions(USERS, { 'transaction.max.timeout.ms': MAX_TRANSACTION_TIMEOUT_MS }),
});

const HALT_WAIT_MS = 90_000;
const REFUSED_TRANSACTION =
  'partition halted: the target refused its transaction; nothing past it will be committed';
const REFUSED_RECORD = 'partition halted: the target refused a record; nothing past it will be committed';

/** The target's super user. */
const admin = () => clientAs(clusters.target, 'admin');

type Acl = Omit<AclBinding, 'principal' | 'host'>;

/** Everything allowed to the mirror user, then `denied` taken away (a DENY wins over an ALLOW). */
async function grantAllBut(t: TestContext, denied: readonly Acl[]): Promise<void> {
  const all = (resourceType: number, resourceName: string): Acl => ({
    resourceType,
    resourceName,
    resourcePatternType: PATTERN.LITERAL,
    operation: OPERATION.ALL,
    permissionType: PERMISSION.ALLOW,
  });
  const acls = [
    all(RESOURCE.TOPIC, '*'),
    all(RESOURCE.GROUP, '*'),
    all(RESOURCE.TRANSACTIONAL_ID, '*'),
    all(RESOURCE.CLUSTER, 'kafka-cluster'),
    ...denied,
  ];
  await createAcls(
    admin(),
    acls.map((acl) => ({ ...acl, principal: 'User:mirror', host: '*' })),
  );
  // Each test denies on names of its own: nothing to remove for the next one.
  t.diagnostic(`denied: ${JSON.stringify(denied)}`);
}

/**
 * Copies 20 records of a one-partition topic exactly-once as the mirror user, and waits for the
 * partition to halt with `message`; returns the halt's error, after checking what an operator sees.
 */
async function haltOf(
  t: TestContext,
  id: string,
  message: string,
  flow: Record<string, unknown> = {},
): Promise<{ err: Record<string, unknown>; daemon: DaemonProcess; topic: string; group: string }> {
  const topic = `eos-refused-${id}`;
  const group = `km-refused-${id}`;
  const { src } = clusters;
  await createTopic(src, topic);
  await createTopic(admin(), topic);
  await produceAll(src, topic, numbered(topic, 0, 20));
  const daemon = await startDaemon(t, {
    clusters: {
      src: { bootstrapServers: [...clusters.source.bootstrapServers] },
      dst: { ...daemonClusterAs(clusters.target, 'mirror'), connectionTimeoutMs: 3000 },
    },
    flows: [
      {
        name: topic,
        source: 'src',
        target: 'dst',
        group,
        delivery: 'exactly-once',
        topics: { include: [topic] },
        commitIntervalMs: 500,
        ...flow,
      },
    ],
    // The flow's heartbeat partition would halt the same way: one partition to watch.
    heartbeats: { enabled: false },
    shutdown: { timeoutMs: 5000 },
  });
  const halted = await daemon.waitForLog((l) => l['msg'] === message, HALT_WAIT_MS);
  assert.equal(halted['topic'], topic);
  assert.equal(halted['partition'], 0);
  assert.equal(halted['level'], 50, 'logged at error');
  const base = await daemon.adminUrl();
  const samples = await scrape(base);
  assert.equal(total(samples, 'kafka_mirror_halted_partitions', { flow: topic }), 1, 'the halted metric');
  assert.equal(
    total(samples, 'kafka_mirror_transactions_total', { flow: topic, result: 'committed' }),
    0,
    'no transaction committed',
  );
  // Halted, not restored into the same refusal again and again.
  assert.equal(
    daemon.logs.filter(
      (l) =>
        l['msg'] === 'cannot restore partition from the target; retrying' ||
        l['msg'] === 'transaction failed; restoring the partition from the target',
    ).length,
    0,
    'retried',
  );
  assert.equal(await committedTotal(src, group, topic), 0, 'nothing committed on the source');
  return { err: halted['err'] as Record<string, unknown>, daemon, topic, group };
}

test(
  'no WRITE on the transactional ids: InitProducerId refused, the partition halts with KM_TRANSACTION_REJECTED and the ACL to grant',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    await grantAllBut(t, [
      {
        resourceType: RESOURCE.TRANSACTIONAL_ID,
        resourceName: `km-refused-${id}/`,
        resourcePatternType: PATTERN.PREFIXED,
        operation: OPERATION.WRITE,
        permissionType: PERMISSION.DENY,
      },
    ]);
    const { err, daemon, group } = await haltOf(t, id, REFUSED_TRANSACTION);
    assert.equal(err['code'], 'KM_TRANSACTION_REJECTED');
    assert.equal(err['request'], 'InitProducerId');
    assert.equal(err['kafkaError'], 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    assert.match(
      String(err['remedy']),
      new RegExp(`WRITE and DESCRIBE on TransactionalId with the prefix "${group}/"`),
    );
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'no ACL at all on the transactional ids: FindCoordinator refused, the partition halts with KM_TRANSACTION_REJECTED',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    await grantAllBut(t, [
      {
        resourceType: RESOURCE.TRANSACTIONAL_ID,
        resourceName: `km-refused-${id}/`,
        resourcePatternType: PATTERN.PREFIXED,
        operation: OPERATION.ALL,
        permissionType: PERMISSION.DENY,
      },
    ]);
    const { err, daemon } = await haltOf(t, id, REFUSED_TRANSACTION);
    assert.equal(err['code'], 'KM_TRANSACTION_REJECTED');
    assert.equal(err['request'], 'FindCoordinator');
    assert.equal(err['kafkaError'], 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'no WRITE on the positions topic: AddPartitionsToTxn refused, the partition halts with KM_TRANSACTION_REJECTED naming that topic',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const positions = `kafka-mirror.positions.km-refused-${id}`;
    await grantAllBut(t, [
      {
        resourceType: RESOURCE.TOPIC,
        resourceName: positions,
        resourcePatternType: PATTERN.LITERAL,
        operation: OPERATION.WRITE,
        permissionType: PERMISSION.DENY,
      },
    ]);
    const { err, daemon } = await haltOf(t, id, REFUSED_TRANSACTION);
    assert.equal(err['code'], 'KM_TRANSACTION_REJECTED');
    assert.equal(err['request'], 'AddPartitionsToTxn');
    assert.equal(err['kafkaError'], 'TOPIC_AUTHORIZATION_FAILED');
    assert.match(
      String(err['remedy']),
      new RegExp(`grant it WRITE and DESCRIBE on ${positions.replaceAll('.', '\\.')} `),
    );
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  "a transaction timeout above the brokers' transaction.max.timeout.ms: InitProducerId refused, the partition halts with KM_TRANSACTION_REJECTED",
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    await grantAllBut(t, []);
    const timeoutMs = MAX_TRANSACTION_TIMEOUT_MS + 60_000;
    const { err, daemon } = await haltOf(t, id, REFUSED_TRANSACTION, { transaction: { timeoutMs } });
    assert.equal(err['code'], 'KM_TRANSACTION_REJECTED');
    assert.equal(err['kafkaError'], 'INVALID_TRANSACTION_TIMEOUT');
    assert.match(
      String(err['remedy']),
      new RegExp(`transaction\\.timeoutMs \\(${timeoutMs}\\).*transaction\\.max\\.timeout\\.ms`),
    );
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);

test(
  'a position record its topic refuses (the commit of every transaction fails): the partition halts with KM_WRITE_REJECTED instead of looking stuck',
  { timeout: 300_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const positions = `kafka-mirror.positions.km-refused-${id}`;
    await grantAllBut(t, []);
    // Made before the daemon starts, which then takes it as it is: records of at most 64 bytes,
    // smaller than any position record. The replicated records themselves are accepted.
    await createTopic(admin(), positions, {
      partitions: 16,
      config: { 'cleanup.policy': 'compact', 'max.message.bytes': '64' },
    });
    const { err, daemon } = await haltOf(t, id, REFUSED_RECORD);
    assert.equal(err['code'], 'KM_WRITE_REJECTED');
    assert.equal(err['topic'], positions, 'the refused topic is the positions topic');
    assert.equal(err['kafkaError'], 'MESSAGE_TOO_LARGE');
    assert.match(String(err['remedy']), /max\.message\.bytes/);
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);
