import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkajs } from '../../../../src/kafka/kafkajs/index.ts';
import { kafkajsModule } from '../../../../src/kafka/kafkajs/module-cache.ts';
import { isAuthenticated } from '../../../../src/kafka/kafkajs/reauthentication.ts';

/** A connection authenticated `agoMs` ago with a session of `lifetimeMs` (0: no lifetime). */
function connection(agoMs: number, lifetimeMs: number) {
  const ns = BigInt(Math.round(agoMs * 1e6));
  const at = process.hrtime.bigint() - ns;
  return {
    authenticatedAt: [Number(at / 1_000_000_000n), Number(at % 1_000_000_000n)] as [number, number],
    sessionLifetime: { toNumber: () => lifetimeMs },
  };
}

test('re-authentication is due at 85% to 95% of the session lifetime (Kafka SaslClientAuthenticator), not 10 s before its end', () => {
  // A 10 s session: kafkajs's 10 s threshold made it due at once.
  assert.equal(
    isAuthenticated.call(connection(100, 10_000), () => 0),
    true,
  );
  assert.equal(
    isAuthenticated.call(connection(8_400, 10_000), () => 0),
    true,
  );
  assert.equal(
    isAuthenticated.call(connection(8_600, 10_000), () => 0),
    false,
  );
  assert.equal(
    isAuthenticated.call(connection(9_400, 10_000), () => 1),
    true,
  );
  assert.equal(
    isAuthenticated.call(connection(9_600, 10_000), () => 1),
    false,
  );
  assert.equal(isAuthenticated.call(connection(1e9, 0)), true, 'no session lifetime: never due');
  assert.equal(isAuthenticated.call({ ...connection(0, 0), authenticatedAt: null }), false);
});

test('the patch is installed on kafkajs Connection', () => {
  assert.ok(kafkajs);
  const Connection = kafkajsModule<{ prototype: { isAuthenticated(): boolean } }>('network/connection.js');
  const state = connection(100, 10_000);
  assert.equal(Connection.prototype.isAuthenticated.call(state), true);
});
