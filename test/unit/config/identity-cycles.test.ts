// Topic config sync stays off along a cycle of identity-named flows (src/config/identity-cycles.ts):
// a config change made on either cluster could otherwise be reverted by the flow coming back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveFlow, identityCycleFlows, parseConfig } from '../../../src/config/index.ts';

const clusters = Object.fromEntries(
  ['a', 'b', 'c'].map((alias) => [alias, { bootstrapServers: [`${alias}:9092`] }]),
);
const configOf = (flows: object[]) => parseConfig({ clusters, flows });
const flow = (source: string, target: string, naming = 'identity') => ({ source, target, naming });

test('identity active-active: both flows are on the cycle, and run without topic config sync', () => {
  const config = configOf([flow('a', 'b'), flow('b', 'a')]);
  assert.deepEqual([...identityCycleFlows(config.flows)].sort(), ['a->b', 'b->a']);
  for (const f of config.flows) {
    assert.equal(f.topicConfigSync.enabled, true, 'the config as written');
    assert.equal(effectiveFlow(f, config.flows).topicConfigSync.enabled, false, 'as it runs');
  }
});

test('an identity ring a -> b -> c -> a is a cycle; a chain is not', () => {
  assert.equal(identityCycleFlows(configOf([flow('a', 'b'), flow('b', 'c'), flow('c', 'a')]).flows).size, 3);
  const chain = configOf([flow('a', 'b'), flow('b', 'c')]);
  assert.equal(identityCycleFlows(chain.flows).size, 0);
  assert.equal(effectiveFlow(chain.flows[0]!, chain.flows).topicConfigSync.enabled, true);
});

test('prefixed names never come back under their own name: no cycle', () => {
  assert.equal(
    identityCycleFlows(configOf([flow('a', 'b', 'prefix'), flow('b', 'a', 'prefix')]).flows).size,
    0,
  );
  // One prefixed direction is enough: nothing returns to `orders` on a.
  assert.equal(identityCycleFlows(configOf([flow('a', 'b'), flow('b', 'a', 'prefix')]).flows).size, 0);
});
