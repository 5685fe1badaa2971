import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERNAL_TOPIC_PREFIX, remoteTopic, topicFilter } from '../../../src/replication/topic-selection.ts';

test('an include pattern must match the whole topic name', () => {
  const selected = topicFilter(['orders'], []);
  assert.equal(selected('orders'), true);
  assert.equal(selected('orders2'), false);
  assert.equal(selected('my-orders'), false);
  assert.equal(selected('xordersx'), false);
});

test('patterns are regular expressions anchored at both ends', () => {
  const selected = topicFilter(['orders\\..*'], []);
  assert.equal(selected('orders.eu'), true);
  assert.equal(selected('orders.'), true);
  assert.equal(selected('orders'), false, 'the escaped dot is required');
  assert.equal(selected('ordersXeu'), false, 'the dot is literal');
  assert.equal(selected('old.orders.eu'), false);
});

test('an alternation is anchored as a whole, not per branch', () => {
  const selected = topicFilter(['orders|payments'], []);
  assert.equal(selected('orders'), true);
  assert.equal(selected('payments'), true);
  assert.equal(selected('orders-dlq'), false);
  assert.equal(selected('old-payments'), false);
});

test('any of several include patterns selects a topic', () => {
  const selected = topicFilter(['a.*', 'b'], []);
  assert.equal(selected('alpha'), true);
  assert.equal(selected('b'), true);
  assert.equal(selected('beta'), false);
});

test('no include pattern selects nothing', () => {
  const selected = topicFilter([], []);
  assert.equal(selected('orders'), false);
});

test('exclude wins over include, also with whole-name matching', () => {
  const selected = topicFilter(['.*'], ['.*\\.dlq', 'tmp']);
  assert.equal(selected('orders'), true);
  assert.equal(selected('orders.dlq'), false);
  assert.equal(selected('tmp'), false);
  assert.equal(selected('tmp2'), true, 'exclude "tmp" does not match "tmp2"');
  const same = topicFilter(['orders'], ['orders']);
  assert.equal(same('orders'), false);
});

test("Kafka's internal topics never match, even with include '.*'", () => {
  const selected = topicFilter(['.*'], []);
  for (const topic of ['__consumer_offsets', '__transaction_state', '__x', '__']) {
    assert.equal(selected(topic), false, topic);
  }
  const explicit = topicFilter(['__consumer_offsets', '__.*'], []);
  assert.equal(explicit('__consumer_offsets'), false, 'naming it explicitly does not help');
  assert.equal(explicit('__x'), false);
});

test('topics that merely contain underscores are ordinary topics', () => {
  const selected = topicFilter(['.*'], []);
  assert.equal(selected('_schemas'), true);
  assert.equal(selected('orders__v2'), true);
});

test("the daemon's own topics (kafka-mirror. prefix) never match", () => {
  assert.equal(INTERNAL_TOPIC_PREFIX, 'kafka-mirror.');
  const selected = topicFilter(['.*', 'kafka-mirror\\..*'], []);
  assert.equal(selected('kafka-mirror.heartbeats'), false);
  assert.equal(selected('kafka-mirror.checkpoints.us'), false);
  assert.equal(selected('kafka-mirror-orders'), true, 'only the dotted prefix is reserved');
});

test('remoteTopic keeps the name (identity) or prefixes the source alias (prefix)', () => {
  assert.equal(remoteTopic('identity', 'us', 'orders'), 'orders');
  assert.equal(remoteTopic('prefix', 'us', 'orders'), 'us.orders');
  assert.equal(remoteTopic('prefix', 'asia-1', 'orders.eu'), 'asia-1.orders.eu');
});
