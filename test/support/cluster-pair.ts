// A source and a target cluster shared by the tests of one file: started before the first test,
// stopped after the last, logs kept if any test failed (wrap each test body in `guard`).
import { after, before, type TestContext } from 'node:test';
import { startCluster, type ClusterOptions, type KafkaCluster } from './kafka/index.ts';

export interface ClusterPair {
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  guard(fn: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void>;
}

export function clusterPair(options: { source?: ClusterOptions; target?: ClusterOptions } = {}): ClusterPair {
  let clusters: [KafkaCluster, KafkaCluster] | undefined;
  let failed = false;
  before(async () => {
    clusters = await Promise.all([
      startCluster({ name: 'source', ...options.source }),
      startCluster({ name: 'target', ...options.target }),
    ]);
  });
  after(async () => {
    await Promise.all(clusters?.map((c) => c.stop({ keepLogs: failed })) ?? []);
  });
  const started = () => {
    if (clusters === undefined)
      throw new Error('clusters are started in a before hook; use them inside tests');
    return clusters;
  };
  return {
    get source() {
      return started()[0];
    },
    get target() {
      return started()[1];
    },
    guard: (fn) => async (t) => {
      try {
        await fn(t);
      } catch (error) {
        failed = true;
        throw error;
      }
    },
  };
}
