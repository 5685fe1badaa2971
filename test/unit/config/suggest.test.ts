import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest } from '../../../src/config/suggest.ts';

test('a key within a few edits, in any case, or sharing a prefix of 4+ characters is suggested', () => {
  assert.equal(closest('pasword', ['password', 'passwordFile', 'username']), 'password');
  assert.equal(closest('SASL', ['tls', 'sasl', 'clientId']), 'sasl');
  assert.equal(closest('bootstrap', ['bootstrapServers', 'clientId']), 'bootstrapServers');
  assert.equal(closest('sourceCluster', ['source', 'target', 'name']), 'source');
  assert.equal(closest('timeout', ['maxRecords', 'intervalMs', 'timeoutMs']), 'timeoutMs');
  assert.equal(
    closest('KAFKA_MIRROR_QUEUE_MAXBYTES', [
      'KAFKA_MIRROR_QUEUE_MAX_BYTES',
      'KAFKA_MIRROR_QUEUE_MAX_RECORDS',
    ]),
    'KAFKA_MIRROR_QUEUE_MAX_BYTES',
  );
});

test('nothing is suggested when nothing is close', () => {
  for (const word of ['bogus', 'surprise', 'extra', 'whatever', 'foo', 'mirrorMaker', 'bind']) {
    assert.equal(
      closest(word, [
        'clusters',
        'flows',
        'queue',
        'consumer',
        'producer',
        'shutdown',
        'log',
        'admin',
        'host',
        'port',
        'include',
        'exclude',
      ]),
      undefined,
      word,
    );
  }
});
