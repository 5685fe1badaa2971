// Topic ACL sync over clusters held in memory: which source ACLs become which target ACLs (only
// READ and DESCRIBE, ALL as READ, under the remote names, only of topics the flow replicates), that
// it creates only what the target lacks and never deletes, and that a refusal is reported once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AclSyncRefusedError } from '../../../src/errors/index.ts';
import { refusalOf } from '../../../src/kafka/acl-admin.ts';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { AclSync, targetAcls, type AclCatalog, type TopicAcl } from '../../../src/replication/acl-sync.ts';
import { flowConfig } from '../../support/flow-config.ts';

const acl = (
  name: string,
  operation: string,
  more: Partial<Pick<TopicAcl, 'pattern' | 'permission' | 'principal'>> = {},
): TopicAcl => ({
  pattern: more.pattern ?? 'LITERAL',
  name,
  principal: more.principal ?? 'User:alice',
  host: '*',
  operation,
  permission: more.permission ?? 'ALLOW',
});

/** One cluster's topic ACLs in memory; `refuse` makes every request refused as a broker would. */
class Catalog implements AclCatalog {
  readonly acls: TopicAcl[];
  refuse: AclSyncRefusedError | undefined;
  creates = 0;

  constructor(acls: TopicAcl[] = []) {
    this.acls = acls;
  }

  async topicAcls(): Promise<TopicAcl[]> {
    if (this.refuse?.request === 'describe') throw this.refuse;
    return [...this.acls];
  }

  async createAcls(acls: readonly TopicAcl[]): Promise<void> {
    if (this.refuse?.request === 'create') throw this.refuse;
    this.creates++;
    this.acls.push(...acls);
  }
}

const sorted = (acls: readonly TopicAcl[]) =>
  acls.map((a) => `${a.permission} ${a.operation} ${a.pattern}:${a.name} ${a.principal}`).sort();

const prefixFlow = flowConfig({ naming: 'prefix', topics: { include: ['orders.*'], exclude: [] } });

test('READ and DESCRIBE are copied under the remote names, ALL as READ; never WRITE or anything else', () => {
  const source = [
    acl('orders', 'READ'),
    acl('orders', 'DESCRIBE'),
    acl('orders', 'WRITE'),
    acl('orders', 'ALL', { principal: 'User:bob' }),
    acl('orders', 'ALTER'),
    acl('orders', 'DESCRIBE_CONFIGS'),
    acl('orders-', 'READ', { pattern: 'PREFIXED' }),
    acl('orders-', 'WRITE', { pattern: 'PREFIXED' }),
    acl('orders', 'READ', { permission: 'DENY', principal: 'User:mallory' }),
    acl('orders', 'ALL', { permission: 'DENY', principal: 'User:eve' }),
  ];
  assert.deepEqual(sorted(targetAcls(prefixFlow, ['us', 'asia'], source, ['orders'])), [
    'ALLOW DESCRIBE LITERAL:us.orders User:alice',
    'ALLOW READ LITERAL:us.orders User:alice',
    'ALLOW READ LITERAL:us.orders User:bob',
    'ALLOW READ PREFIXED:us.orders- User:alice',
    'DENY READ LITERAL:us.orders User:eve',
    'DENY READ LITERAL:us.orders User:mallory',
  ]);
  // Identity naming keeps the names.
  const identity = flowConfig({ naming: 'identity', topics: { include: ['orders.*'], exclude: [] } });
  assert.deepEqual(sorted(targetAcls(identity, ['us', 'asia'], [acl('orders', 'READ')], ['orders'])), [
    'ALLOW READ LITERAL:orders User:alice',
  ]);
});

test('only ACLs of topics the flow replicates: selected and ready; prefixes the flow selects; never the wildcard', () => {
  const source = [
    acl('payments', 'READ'), // not selected by the flow
    acl('orders.eu', 'READ'), // selected, but not replicated (yet): no remote topic
    acl('orders', 'READ', { pattern: 'PREFIXED' }), // `orders` is a name the flow selects
    acl('ord', 'READ', { pattern: 'PREFIXED' }), // `ord` is not: would cover topics not copied
    acl('*', 'READ'),
    acl('asia.orders', 'READ'), // named after the target: never replicated back
  ];
  const flow = flowConfig({ naming: 'prefix', topics: { include: ['orders.*', 'asia\\..*'], exclude: [] } });
  assert.deepEqual(sorted(targetAcls(flow, ['us', 'asia'], source, ['orders.us', 'asia.orders'])), [
    'ALLOW READ PREFIXED:us.orders User:alice',
  ]);
});

function harness(source: Catalog, target: Catalog) {
  const lines: Array<{ msg: string; level: number; err?: { code?: string } }> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) },
  });
  const metrics = new Metrics();
  const sync = new AclSync({
    flow: prefixFlow,
    aliases: ['us', 'asia'],
    catalogs: { source, target },
    metrics: metrics.flow(prefixFlow.name),
    logger,
  });
  const counted = async (result: string) =>
    (await metrics.aclSyncs.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { sync, lines, counted };
}

test('creates only what the target lacks, leaves every other target ACL alone, and logs each one it creates', async () => {
  const source = new Catalog([acl('orders', 'READ'), acl('orders', 'DESCRIBE')]);
  const theirs = acl('us.orders', 'WRITE', { principal: 'User:ops' });
  const target = new Catalog([acl('us.orders', 'READ'), theirs]);
  const { sync, lines, counted } = harness(source, target);
  await sync.sync(['orders']);
  assert.deepEqual(sorted(target.acls), [
    'ALLOW DESCRIBE LITERAL:us.orders User:alice',
    'ALLOW READ LITERAL:us.orders User:alice',
    'ALLOW WRITE LITERAL:us.orders User:ops',
  ]);
  assert.equal(await counted('created'), 1);
  assert.equal(lines.filter((l) => l.msg === 'created topic ACL on the target').length, 1);
  // Nothing new: no request, nothing counted.
  await sync.sync(['orders']);
  assert.equal(target.creates, 1);
  assert.equal(await counted('created'), 1);
  assert.deepEqual(sync.status(), { created: 1, refused: null });
  // An ACL removed on the source stays on the target: ACL sync never deletes.
  source.acls.length = 0;
  await sync.sync(['orders']);
  assert.equal(target.acls.length, 3);
});

test('a refusal is reported once (log, metric, status) while it lasts, and its end is logged', async () => {
  const source = new Catalog([acl('orders', 'READ')]);
  const target = new Catalog();
  const { sync, lines, counted } = harness(source, target);
  target.refuse = new AclSyncRefusedError('asia', 'create', 'CLUSTER_AUTHORIZATION_FAILED', undefined);
  for (let pass = 0; pass < 3; pass++) await sync.sync(['orders']);
  const refusals = lines.filter((l) => l.msg.startsWith('topic ACL sync refused'));
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]?.err?.code, 'KM_ACL_SYNC_REFUSED');
  assert.equal(await counted('refused'), 1);
  const status = sync.status();
  assert.equal(status.refused?.cluster, 'asia');
  assert.equal(status.refused?.kafkaError, 'CLUSTER_AUTHORIZATION_FAILED');
  // Another refusal (the source has no authorizer) is a new report.
  source.refuse = new AclSyncRefusedError('us', 'describe', 'SECURITY_DISABLED', undefined);
  await sync.sync(['orders']);
  assert.equal(await counted('refused'), 2);
  // Granted: it works again and says so.
  source.refuse = undefined;
  target.refuse = undefined;
  await sync.sync(['orders']);
  assert.deepEqual(sync.status(), { created: 1, refused: null });
  assert.equal(lines.filter((l) => l.msg === 'topic ACL sync no longer refused').length, 1);
});

test('another failure is logged and retried at the next refresh; sync never rejects', async () => {
  const source = new Catalog([acl('orders', 'READ')]);
  source.topicAcls = () => Promise.reject(new Error('connection closed'));
  const { sync, lines, counted } = harness(source, new Catalog());
  await sync.sync(['orders']);
  assert.equal(lines.filter((l) => l.msg.startsWith('topic ACL sync failed')).length, 1);
  assert.equal(await counted('refused'), 0);
  assert.deepEqual(sync.status(), { created: 0, refused: null });
});

test("Kafka's SECURITY_DISABLED and CLUSTER_AUTHORIZATION_FAILED are refusals; others are not", () => {
  const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded } = kafkajs;
  const protocol = (type: string, code: number) =>
    new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: false }));
  const disabled = refusalOf('us', 'describe', protocol('SECURITY_DISABLED', 54));
  assert.ok(disabled instanceof AclSyncRefusedError);
  assert.equal(disabled.kafkaError, 'SECURITY_DISABLED');
  assert.equal(disabled.cluster, 'us');
  const wrapped = new KafkaJSNumberOfRetriesExceeded(protocol('CLUSTER_AUTHORIZATION_FAILED', 31), {
    retryCount: 0,
    retryTime: 0,
  });
  assert.ok(refusalOf('asia', 'create', wrapped) instanceof AclSyncRefusedError);
  const timeout = protocol('REQUEST_TIMED_OUT', 7);
  assert.equal(refusalOf('asia', 'create', timeout), timeout);
});
