// Two flows between the same clusters that select a topic in common copy each of its records twice
// (issue 20). validate refuses them when it can tell offline; the rule is conservative, so that a
// config it refuses is always wrong: literal names are exact, and two regular expressions overlap
// only when they are the same text. plan checks the topics that exist (test/unit/replication/plan.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';

const clusters = {
  us: { bootstrapServers: ['us:9092'] },
  asia: { bootstrapServers: ['asia:9092'] },
  eu: { bootstrapServers: ['eu:9092'] },
};

function problems(flows: Array<Record<string, unknown>>): string[] {
  try {
    parseConfig({ clusters, flows });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return [...error.problems];
  }
}

const topics = (include: string[], exclude: string[] = []) => ({ include, exclude });

test('two flows with the default selection between the same clusters overlap on every topic', () => {
  assert.deepEqual(
    problems([
      { name: 'a', source: 'us', target: 'asia' },
      { name: 'b', source: 'us', target: 'asia' },
    ]),
    [
      'flows[1] ("b") and flows[0] ("a") both copy topics from us to asia (such as .*): every record would be written twice; give them disjoint topics.include and topics.exclude',
    ],
  );
});

test('a literal name of one flow that the other selects is the example', () => {
  const found = problems([
    { name: 'all-orders', source: 'us', target: 'asia', topics: topics(['orders\\..*']) },
    { name: 'eu-orders', source: 'us', target: 'asia', topics: topics(['payments', 'orders\\.eu']) },
  ]);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /^flows\[1\] \("eu-orders"\) and flows\[0\] \("all-orders"\) .*\(such as orders\\\.eu\)/,
  );
});

test('identical patterns overlap whatever their position in the lists', () => {
  const found = problems([
    { name: 'a', source: 'us', target: 'asia', topics: topics(['x', 'orders-.*']) },
    { name: 'b', source: 'us', target: 'asia', topics: topics(['orders-.*', 'y']), naming: 'prefix' },
  ]);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0] ?? '', /such as orders-\.\*/);
});

test('an exclusion that separates the flows is respected', () => {
  assert.deepEqual(
    problems([
      { name: 'rest', source: 'us', target: 'asia', topics: topics(['.*'], ['payments', 'audit\\..*']) },
      {
        name: 'payments',
        source: 'us',
        target: 'asia',
        topics: topics(['payments']),
        delivery: 'exactly-once',
      },
      { name: 'audit', source: 'us', target: 'asia', topics: topics(['audit\\.eu']) },
    ]),
    [],
  );
});

test('an identical pattern excluded by one of the flows does not count', () => {
  assert.deepEqual(
    problems([
      { name: 'a', source: 'us', target: 'asia', topics: topics(['orders.*', 'x'], ['orders.*']) },
      { name: 'b', source: 'us', target: 'asia', topics: topics(['orders.*']) },
    ]),
    [],
  );
});

test('flows between other clusters or in the other direction do not overlap', () => {
  assert.deepEqual(
    problems([
      { source: 'us', target: 'asia' },
      { source: 'asia', target: 'us' },
      { source: 'us', target: 'eu' },
      { source: 'eu', target: 'asia' },
    ]),
    [],
  );
});

test('regular expressions that differ are left to plan, which sees the topics', () => {
  assert.deepEqual(
    problems([
      { name: 'a', source: 'us', target: 'asia', topics: topics(['orders\\..*']) },
      { name: 'b', source: 'us', target: 'asia', topics: topics(['.*\\.eu']) },
    ]),
    [],
  );
});

test('internal topics are never selected, so they are no example', () => {
  assert.deepEqual(
    problems([
      {
        name: 'a',
        source: 'us',
        target: 'asia',
        topics: topics(['__consumer_offsets', 'kafka-mirror\\.heartbeats']),
      },
      { name: 'b', source: 'us', target: 'asia', topics: topics(['_.*', 'kafka.*']) },
    ]),
    [],
  );
});

test('each overlapping pair is reported once, three flows giving three pairs', () => {
  const found = problems([
    { name: 'a', source: 'us', target: 'asia' },
    { name: 'b', source: 'us', target: 'asia' },
    { name: 'c', source: 'us', target: 'asia' },
  ]);
  assert.deepEqual(
    found.map((p) => /^(flows\[\d\]) \("\w"\) and (flows\[\d\])/.exec(p)?.slice(1).join(' ')),
    ['flows[1] flows[0]', 'flows[2] flows[0]', 'flows[2] flows[1]'],
  );
});
