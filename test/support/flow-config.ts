// A complete FlowConfig for unit tests of the flow (what parseConfig gives for `us -> asia`,
// with long intervals so no timer fires during a test).
import type { FlowConfig } from '../../src/config/index.ts';

export function flowConfig(overrides: Partial<FlowConfig> = {}): FlowConfig {
  return {
    name: 'us->asia',
    source: 'us',
    target: 'asia',
    group: 'kafka-mirror.us-asia',
    topics: { include: ['.*'], exclude: [] },
    naming: 'identity',
    stackPrefixes: false,
    startFrom: 'earliest',
    refreshIntervalMs: 60_000,
    commitIntervalMs: 60_000,
    maxBytesPerSecond: 0,
    replicationFactor: 1,
    delivery: 'at-least-once',
    transaction: {
      maxRecords: 50_000,
      maxBytes: 32 * 2 ** 20,
      intervalMs: 1000,
      idleCommitMs: 100,
      timeoutMs: 60_000,
      positionsTopic: 'kafka-mirror.positions.us-asia',
    },
    topicConfigs: [],
    groupOffsetSync: { enabled: false, include: ['.*'], exclude: [], intervalMs: 10_000 },
    // Off here (on by default in a config): a flow's unit tests have nothing to sync.
    topicConfigSync: { enabled: false, exclude: [] },
    aclSync: { enabled: false },
    drill: { intervalMs: 0, groups: [], records: 100 },
    ...overrides,
  };
}
