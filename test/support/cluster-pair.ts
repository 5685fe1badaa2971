// A source and a target cluster, the set-up of every test that replicates from one to the other.
// Three lifetimes, one set of options:
//
//   const clusters = clusterPair();                       // the tests of one file share the pair
//   test('...', clusters.guard(async (t) => { const { src, dst } = clusters; ... }));
//
//   const { source, target, src, dst } = await useClusterPair(t, { target: { toxiproxy: true } });
//                                                         // a pair of its own for one test
//
//   const pair = await startClusterPair({ both: { jvmProfile: 'bench' } }); ... await pair.stop();
//                                                         // benchmarks: stopped by the caller
//
// Each side takes every ClusterOptions (nodes, toxiproxy, security, brokerConfig, jvmProfile, ...).
import { after, before, type TestContext } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { startCluster, useCluster, type ClusterOptions, type KafkaCluster } from './kafka/index.ts';
import { client } from './kafka-client.ts';

export interface PairOptions {
  /** Options of both clusters; `source` and `target` override them key by key (not deeply). */
  readonly both?: Omit<ClusterOptions, 'name'>;
  /** The source's own options; it is named `source` unless they name it. */
  readonly source?: ClusterOptions;
  /** The target's own options; it is named `target` unless they name it. */
  readonly target?: ClusterOptions;
}

export interface Clusters {
  readonly source: KafkaCluster;
  readonly target: KafkaCluster;
  /** A test client (kafka-client.ts `client`) of the source: `src`, as daemon configs name it. */
  readonly src: KafkaClient;
  /** A test client of the target: `dst`. */
  readonly dst: KafkaClient;
}

export interface StartedPair extends Clusters {
  /** Stops both clusters; logs are kept when `keepLogs` is true. Idempotent. */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

export interface ClusterPair extends Clusters {
  /** Marks the pair failed when the test throws, so the clusters' logs are kept after the file. */
  guard(fn: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void>;
}

const sourceOptions = (options: PairOptions): ClusterOptions => ({
  name: 'source',
  ...options.both,
  ...options.source,
});
const targetOptions = (options: PairOptions): ClusterOptions => ({
  name: 'target',
  ...options.both,
  ...options.target,
});

function pairOf(source: KafkaCluster, target: KafkaCluster): Clusters {
  return { source, target, src: client(source.bootstrapServers), dst: client(target.bootstrapServers) };
}

/** Starts both clusters at once; if one cannot start, the other is stopped (logs kept) and the error thrown. */
export async function startClusterPair(options: PairOptions = {}): Promise<StartedPair> {
  const started = await Promise.allSettled([
    startCluster(sourceOptions(options)),
    startCluster(targetOptions(options)),
  ]);
  const [source, target] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  if (source === undefined || target === undefined) {
    await Promise.all([source, target].map((c) => c?.stop({ keepLogs: true })));
    throw started.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []))[0];
  }
  return {
    ...pairOf(source, target),
    stop: async (stopOptions) => {
      await Promise.all([source.stop(stopOptions), target.stop(stopOptions)]);
    },
  };
}

/** A pair for one test: started now, stopped after the test, logs kept if it failed. */
export async function useClusterPair(t: TestContext, options: PairOptions = {}): Promise<Clusters> {
  const [source, target] = await Promise.all([
    useCluster(t, sourceOptions(options)),
    useCluster(t, targetOptions(options)),
  ]);
  return pairOf(source, target);
}

/**
 * A pair shared by the tests of one file (or of the describe block it is called in): started
 * before the first test, stopped after the last, logs kept if any test failed (wrap each test
 * body in `guard`).
 */
export function clusterPair(options: PairOptions = {}): ClusterPair {
  let pair: StartedPair | undefined;
  let failed = false;
  before(async () => {
    pair = await startClusterPair(options);
  });
  after(async () => {
    await pair?.stop({ keepLogs: failed });
  });
  const started = () => {
    if (pair === undefined) throw new Error('clusters are started in a before hook; use them inside tests');
    return pair;
  };
  return {
    get source() {
      return started().source;
    },
    get target() {
      return started().target;
    },
    get src() {
      return started().src;
    },
    get dst() {
      return started().dst;
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
