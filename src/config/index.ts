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
export { CONTROL_TOKEN_VARIABLE, clientToken, tokenDigest } from './control.ts';
export { MIN_MASKED_LENGTH, REDACTED, redactSecrets, registerSecret } from './secrets.ts';
export { MIN_CONTROL_TOKEN_LENGTH } from './schema.ts';
export { configWarnings } from './warnings.ts';
export { effectiveFlow, identityCycleFlows } from './identity-cycles.ts';
export type {
  ClusterConfig,
  ControlConfig,
  ControlToken,
  Compression,
  Config,
  TargetCompression,
  FlowConfig,
  NamingPolicy,
  SaslConfig,
} from './types.ts';
