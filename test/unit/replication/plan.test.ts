import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { makePlan, renderPlan } from '../../../src/replication/plan.ts';

const clusters = (...aliases: string[]) =>
  Object.fromEntries(
    aliases.map((alias, i) => [alias, { bootstrapServers: [`kafka-${alias}:${9092 + i}`] }]),
  );

test("lists each flow's topics with their remote names and what topic sync would do", () => {
  const config = parseConfig({
    clusters: clusters('us', 'asia'),
    flows: [{ source: 'us', target: 'asia', naming: 'prefix', topics: { include: ['orders.*', 'pay'] } }],
  });
  const plan = makePlan(
    config,
    new Map([
      [
        'us',
        new Map([
          ['orders', 6],
          ['orders-dlq', 1],
          ['pay', 3],
          ['__consumer_offsets', 50],
          ['other', 1],
        ]),
      ],
      [
        'asia',
        new Map([
          ['us.orders', 6],
          ['us.pay', 1],
        ]),
      ],
    ]),
  );
  assert.deepEqual(plan.flows[0]?.topics, [
    { source: 'orders', partitions: 6, remote: 'us.orders', action: 'exists' },
    { source: 'orders-dlq', partitions: 1, remote: 'us.orders-dlq', action: 'create' },
    { source: 'pay', partitions: 3, remote: 'us.pay', action: { grow: { from: 1, to: 3 } } },
  ]);
  assert.deepEqual(plan.conflicts, []);
  assert.match(renderPlan(plan), /pay \(3 partitions\) -> us\.pay \[grow 1 -> 3 partitions\]/);
});

test('two sources writing one remote topic with identity names is a conflict; with prefix names it is not', () => {
  const topics = new Map([
    ['us', new Map([['orders', 2]])],
    ['eu', new Map([['orders', 2]])],
    ['agg', new Map<string, number>()],
  ]);
  const identity = parseConfig({
    clusters: clusters('us', 'eu', 'agg'),
    flows: [
      { source: 'us', target: 'agg' },
      { source: 'eu', target: 'agg' },
    ],
  });
  assert.deepEqual(makePlan(identity, topics).conflicts, [
    'agg/orders is written from eu and us with identity names',
  ]);
  assert.match(renderPlan(makePlan(identity, topics)), /^CONFLICT: agg\/orders/m);
  const prefix = parseConfig({
    clusters: clusters('us', 'eu', 'agg'),
    flows: [
      { source: 'us', target: 'agg', naming: 'prefix' },
      { source: 'eu', target: 'agg', naming: 'prefix' },
    ],
  });
  assert.deepEqual(makePlan(prefix, topics).conflicts, []);
});

test('loops are reported once each, active-active and rings alike, and are not conflicts', () => {
  const config = parseConfig({
    clusters: clusters('a', 'b', 'c'),
    flows: [
      { source: 'a', target: 'b' },
      { source: 'b', target: 'a' },
      { source: 'b', target: 'c' },
      { source: 'c', target: 'a' },
    ],
  });
  const empty = new Map<string, number>();
  const plan = makePlan(
    config,
    new Map([
      ['a', empty],
      ['b', empty],
      ['c', empty],
    ]),
  );
  assert.deepEqual(plan.loops, ['a -> b -> a', 'a -> b -> c -> a']);
  assert.deepEqual(plan.conflicts, []);
});

test('a flow whose cluster is unreachable is reported as such', () => {
  const config = parseConfig({ clusters: clusters('us', 'asia'), flows: [{ source: 'us', target: 'asia' }] });
  const plan = makePlan(
    config,
    new Map([
      ['us', new Map([['orders', 1]])],
      ['asia', undefined],
    ]),
  );
  assert.equal(plan.flows[0]?.topics, undefined);
  assert.match(renderPlan(plan), /could not be reached/);
});

test('two flows between the same clusters selecting one existing topic are a conflict naming both', () => {
  // Different patterns, so validate cannot tell offline; the topics that exist tell.
  const config = parseConfig({
    clusters: clusters('us', 'asia'),
    flows: [
      { name: 'orders', source: 'us', target: 'asia', topics: { include: ['orders\\..*'] } },
      { name: 'europe', source: 'us', target: 'asia', topics: { include: ['.*\\.eu'] } },
    ],
  });
  const topics = new Map([
    [
      'us',
      new Map([
        ['orders.eu', 3],
        ['orders.us', 3],
        ['payments.eu', 1],
      ]),
    ],
    ['asia', new Map<string, number>()],
  ]);
  const plan = makePlan(config, topics);
  assert.deepEqual(plan.conflicts, [
    'flows orders and europe both copy us/orders.eu to asia: every record would be written twice',
  ]);
  assert.match(renderPlan(plan), /^CONFLICT: flows orders and europe both copy us\/orders\.eu/m);
});

test("a replicationFactor above the target's broker count is a conflict that says so", () => {
  const config = parseConfig({
    clusters: clusters('us', 'asia'),
    flows: [{ source: 'us', target: 'asia', replicationFactor: 3 }],
  });
  const topics = new Map([
    ['us', new Map([['orders', 1]])],
    ['asia', new Map<string, number>()],
  ]);
  const small = makePlan(config, topics, {
    brokers: new Map([
      ['asia', 1],
      ['us', 3],
    ]),
  });
  assert.deepEqual(small.conflicts, [
    "flow us->asia: replicationFactor 3 but asia has 1 broker(s): topics cannot be created there (use -1 for the target's default)",
  ]);
  assert.deepEqual(makePlan(config, topics, { brokers: new Map([['asia', 3]]) }).conflicts, []);
  assert.deepEqual(makePlan(config, topics).conflicts, [], 'broker counts unknown: nothing said');
});

test('a cluster that cannot be reached is shown with the cause', () => {
  const config = parseConfig({ clusters: clusters('us', 'asia'), flows: [{ source: 'us', target: 'asia' }] });
  const plan = makePlan(
    config,
    new Map([
      ['us', new Map()],
      ['asia', undefined],
    ]),
    {
      causes: new Map([['asia', 'connection refused (ECONNREFUSED at kafka-asia:9093)']]),
    },
  );
  assert.match(
    renderPlan(plan),
    /could not be reached: asia: connection refused \(ECONNREFUSED at kafka-asia:9093\)/,
  );
});
