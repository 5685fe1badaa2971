// kafka-mirror as a library (`import { ... } from 'kafka-mirror'`, package.json "exports"): what
// programs may call besides the command line. Today: offset translation for failover (any source
// position, or a consumer group's committed offsets) and what it needs (the config loader, a
// logger, the errors). docs/disaster-recovery.md documents it. What is not exported here is
// internal and may change in any release.
export { loadConfigFile, parseConfig, type Config, type FlowConfig } from './config/index.ts';
export { createLogger, type Logger } from './observability/logger.ts';
export {
  parsePosition,
  parsePositionsDocument,
  translatePositions,
  type PositionsReport,
  type SourcePosition,
} from './offsets/positions.ts';
export {
  translateOffsets,
  type PartitionTranslation,
  type TranslationReport,
  type TranslationStatus,
} from './offsets/translate.ts';
export {
  InvalidPositionError,
  KafkaMirrorError,
  TranslationFailedError,
  UsageError,
  type ErrorCode,
} from './errors/index.ts';
export {
  runDrill,
  type DrillMismatch,
  type DrillOutcome,
  type DrillPartition,
  type DrillReason,
  type DrillReport,
} from './offsets/drill.ts';
export {
  divergence,
  type DaemonAnswer,
  type DivergencePartition,
  type DivergenceReport,
  type MissingRecord,
} from './offsets/divergence.ts';
export { SourceEndUnknownError, TargetNoAnswerError } from './errors/index.ts';
