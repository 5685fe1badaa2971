// createWriter (src/kafka/writers/index.ts) picks a flow's writer from its delivery guarantee and
// the producer settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../../../src/config/index.ts';
import type { TopicAdmin } from '../../../../src/kafka/topic-admin.ts';
import { IdempotentWriter } from '../../../../src/kafka/writers/idempotent-writer.ts';
import { createWriter, type WriterSettings } from '../../../../src/kafka/writers/index.ts';
import { TargetWriter } from '../../../../src/kafka/writers/target-writer.ts';
import { TransactionalWriter } from '../../../../src/kafka/writers/transactional-writer.ts';
import { createLogger } from '../../../../src/observability/logger.ts';
import { flowConfig } from '../../../support/flow-config.ts';
import { fakeTarget } from './fake-target.ts';

const producer: Config['producer'] = {
  compression: 'none',
  maxRequestBytes: 1 << 20,
  concurrency: 4,
  maxInFlightPerPartition: 5,
  requestTimeoutMs: 30_000,
};

function settings(overrides: Partial<WriterSettings>): WriterSettings {
  return {
    producer,
    flow: flowConfig(),
    admin: {} as TopicAdmin,
    logger: createLogger({ level: 'fatal', destination: { write: () => {} } }),
    onRetry: () => {},
    onResend: () => {},
    onTransaction: () => {},
    ...overrides,
  };
}

test('exactly-once flows get the transactional writer, whatever the producer settings', () => {
  const flow = flowConfig({ delivery: 'exactly-once' });
  for (const maxInFlightPerPartition of [1, 5]) {
    const writer = createWriter(
      fakeTarget().client,
      settings({ flow, producer: { ...producer, maxInFlightPerPartition } }),
    );
    assert.ok(writer instanceof TransactionalWriter);
    assert.equal(writer.delivery, 'exactly-once');
  }
});

test('at-least-once flows get the pipelined writer above 1 request in flight per partition, else one at a time', () => {
  const pipelined = createWriter(fakeTarget().client, settings({}));
  assert.ok(pipelined instanceof IdempotentWriter);
  const single = createWriter(
    fakeTarget().client,
    settings({ producer: { ...producer, maxInFlightPerPartition: 1 } }),
  );
  assert.ok(single instanceof TargetWriter);
  assert.equal(single.delivery, 'at-least-once');
});
