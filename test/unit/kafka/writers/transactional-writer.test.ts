// The transactional writer's lifecycle (src/kafka/writers/transactional-writer.ts) against a
// target that never answers: destroy() fails what is in flight at once, close() and destroy() are
// idempotent. Its transactions against crafted coordinator answers: transactions.test.ts; against
// real brokers: test/integration/exactly-once*.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriterClosedError } from '../../../../src/errors/index.ts';
import { TransactionalWriter } from '../../../../src/kafka/writers/transactional-writer.ts';
import { createLogger } from '../../../../src/observability/logger.ts';
import { flowConfig } from '../../../support/flow-config.ts';
import { fakeTarget } from './fake-target.ts';

const quiet = createLogger({ level: 'fatal', destination: { write: () => {} } });
const { group, transaction } = flowConfig();

function writer(client: ReturnType<typeof fakeTarget>['client']) {
  return new TransactionalWriter(client, {
    group,
    positionsTopic: transaction.positionsTopic,
    transaction,
    replicationFactor: 1,
    compression: 'none',
    maxRequestBytes: 1 << 20,
    requestTimeoutMs: 1000,
    admin: {
      partitionCounts: async () => new Map([[transaction.positionsTopic, 16]]),
      createTopic: async () => assert.fail('the positions topic exists'),
    },
    logger: quiet,
  });
}

test('destroy() rejects a takeover in flight at once, is idempotent, and close() after it resolves', async () => {
  const target = fakeTarget();
  const txns = writer(target.client);
  await txns.connect();
  // The coordinator lookup never answers.
  const acquiring = txns.acquire('orders', 3);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(typeof txns.pendingSince(), 'number', 'InitProducerId waits for the target');
  const destroyed = txns.destroy();
  await assert.rejects(acquiring, WriterClosedError);
  await destroyed;
  await txns.destroy();
  await txns.close();
  assert.equal(target.disconnects.cluster, 1);
  await assert.rejects(txns.acquire('orders', 4), WriterClosedError);
});

test('close() is idempotent', async () => {
  const target = fakeTarget();
  const txns = writer(target.client);
  await txns.connect();
  await Promise.all([txns.close(), txns.close()]);
  await txns.destroy();
  assert.equal(target.disconnects.cluster, 1);
});
