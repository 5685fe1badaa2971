// The one-request-at-a-time writer's lifecycle (src/kafka/writers/target-writer.ts) against a
// target that never answers: destroy() fails what is in flight at once, close() and destroy() are
// idempotent. Its writes against real brokers: test/integration/produce-errors.test.ts and
// test/integration/target-topic-deleted.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WriterClosedError } from '../../../../src/errors/index.ts';
import { TargetWriter } from '../../../../src/kafka/writers/target-writer.ts';
import { encodeChunk } from '../../../../src/protocol/record-chunk.ts';
import { createLogger } from '../../../../src/observability/logger.ts';
import { flush } from '../../../support/settled.ts';
import { fakeTarget } from './fake-target.ts';

const quiet = createLogger({ level: 'fatal', destination: { write: () => {} } });
const options = {
  compression: 'none',
  maxRequestBytes: 1 << 20,
  requestTimeoutMs: 1000,
  logger: quiet,
} as const;
const chunk = encodeChunk([{ key: null, value: Buffer.from('v'), timestamp: '1700000000000', headers: [] }]);

test('destroy() rejects the writes in flight at once, is idempotent, and close() after it resolves', async () => {
  const target = fakeTarget();
  const writer = new TargetWriter(target.client, options);
  await writer.connect();
  const write = writer.write('t', 0, chunk);
  await flush();
  assert.equal(typeof writer.pendingSince(), 'number', 'the write waits for the target');
  const destroyed = writer.destroy();
  await assert.rejects(write, WriterClosedError);
  await destroyed;
  await writer.destroy();
  await writer.close();
  assert.equal(target.disconnects.producer, 1);
  assert.equal(writer.pendingSince(), undefined);
  await assert.rejects(
    writer.write('t', 0, chunk),
    WriterClosedError,
    'a write after destroy() fails at once',
  );
});

test('close() is idempotent', async () => {
  const target = fakeTarget();
  const writer = new TargetWriter(target.client, options);
  await writer.connect();
  await Promise.all([writer.close(), writer.close()]);
  await writer.close();
  await writer.destroy();
  assert.equal(target.disconnects.producer, 1);
});
