export { loadConfigFile, parseConfig, positionsTopicOf } from './load.ts';
export { parseSize } from './sizes.ts';
export type {
  ClusterConfig,
  Compression,
  Config,
  TargetCompression,
  FlowConfig,
  NamingPolicy,
  SaslConfig,
} from './types.ts';
