// Pure parts of the local Kafka launcher: backend choice, broker configs, cluster ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerSettings, newClusterId, type NodePorts } from '../../support/kafka/broker-config.ts';
import { selectBackend } from '../../support/kafka/index.ts';
import { kafkaVersionFromEnv } from '../../support/kafka/jars.ts';

const probe = (available: string[]) => (command: string) => available.includes(command);

test('backend: the environment variable wins, then jvm when java and mvn exist, then testcontainers', () => {
  assert.equal(
    selectBackend({ KAFKA_MIRROR_TEST_BACKEND: 'testcontainers' }, probe(['java', 'mvn'])),
    'testcontainers',
  );
  assert.equal(selectBackend({ KAFKA_MIRROR_TEST_BACKEND: 'jvm' }, probe([])), 'jvm');
  assert.equal(selectBackend({}, probe(['java', 'mvn', 'docker'])), 'jvm');
  assert.equal(selectBackend({}, probe(['java', 'docker'])), 'testcontainers');
});

test('backend: a wrong value or nothing usable is an error that says what is missing', () => {
  assert.throws(
    () => selectBackend({ KAFKA_MIRROR_TEST_BACKEND: 'docker' }, probe([])),
    /must be "jvm" or "testcontainers"/,
  );
  assert.throws(() => selectBackend({}, probe(['java'])), /needs `mvn` \(Maven\) on PATH.*Docker engine/);
  assert.throws(() => selectBackend({}, probe([])), /`java` \(JDK 17\+\) and `mvn` \(Maven\)/);
});

test('kafka version comes from KAFKA_MIRROR_KAFKA_VERSION and is checked', () => {
  assert.equal(kafkaVersionFromEnv({ KAFKA_MIRROR_KAFKA_VERSION: '3.9.2' }), '3.9.2');
  assert.match(kafkaVersionFromEnv({}), /^4\.\d+\.\d+$/);
  assert.throws(() => kafkaVersionFromEnv({ KAFKA_MIRROR_KAFKA_VERSION: 'latest' }), /must look like/);
});

test('broker config: static quorum of every node, client listener advertises the proxy port', () => {
  const ports = new Map<number, NodePorts>([
    [1, { internal: 1001, external: 1002, controller: 1003, advertised: 2002 }],
    [2, { internal: 1011, external: 1012, controller: 1013, advertised: 2012 }],
    [3, { internal: 1021, external: 1022, controller: 1023, advertised: 2022 }],
  ]);
  const s = brokerSettings(2, ports, '/data/2', { 'log.retention.ms': 1000 });
  assert.equal(s['node.id'], '2');
  assert.equal(s['controller.quorum.voters'], '1@127.0.0.1:1003,2@127.0.0.1:1013,3@127.0.0.1:1023');
  assert.equal(
    s['listeners'],
    'INTERNAL://127.0.0.1:1011,EXTERNAL://127.0.0.1:1012,CONTROLLER://127.0.0.1:1013',
  );
  assert.equal(s['advertised.listeners'], 'INTERNAL://127.0.0.1:1011,EXTERNAL://127.0.0.1:2012');
  assert.equal(s['offsets.topic.replication.factor'], '3');
  assert.equal(s['transaction.state.log.min.isr'], '2');
  assert.equal(s['log.retention.ms'], '1000');
  const single = brokerSettings(
    1,
    new Map([[1, { internal: 1, external: 2, controller: 3, advertised: 2 }]]),
    '/d',
  );
  assert.equal(single['offsets.topic.replication.factor'], '1');
  assert.equal(single['transaction.state.log.min.isr'], '1');
});

test('cluster ids are 22-character base64url and never start with "-"', () => {
  let calls = 0;
  const id = newClusterId((size) => Buffer.alloc(size, calls++ === 0 ? 0xfb : 0x41));
  assert.equal(calls, 2, 'an id starting with "-" is drawn again');
  assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
});
