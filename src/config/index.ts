export {
  changedPaths,
  diffConfigs,
  effectiveConfig,
  settingEffect,
  SETTING_EFFECTS,
  type ConfigDiff,
  type FlowChange,
  type SettingEffect,
} from './diff.ts';
export { loadConfigFile, parseConfig, positionsTopicOf } from './load.ts';
export { HEAP_HEADROOM_BYTES, heapNeed, heapWarning } from './heap.ts';
export { parseSize } from './sizes.ts';
export { configWarnings } from './warnings.ts';
export { effectiveFlow, identityCycleFlows } from './identity-cycles.ts';
export type {
  ClusterConfig,
  Compression,
  Config,
  TargetCompression,
  FlowConfig,
  NamingPolicy,
  SaslConfig,
} from './types.ts';
