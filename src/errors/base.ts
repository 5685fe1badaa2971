// The base of every kafka-mirror error, and the list of codes (docs/errors.md lists each).

export const errorCodes = [
  'KM_USAGE',
  'KM_CONFIG',
  'KM_WRITE_REJECTED',
  'KM_TARGET_TOPIC_MISSING',
  'KM_SHUTDOWN_TIMEOUT',
  'KM_CLUSTER_IDENTITY',
  'KM_ADMIN_LISTEN',
  'KM_GROUP_ACTIVE',
  'KM_TRANSACTION_FENCED',
  'KM_CORRUPT_RECORD_BATCH',
  'KM_COMMIT_UNACKNOWLEDGED',
  'KM_RESPONSE_FRAMING',
  'KM_TRANSACTION_REJECTED',
  'KM_INTERNAL_INVARIANT',
  'KM_INVALID_COMPRESSED_DATA',
  'KM_CLUSTER_NO_ANSWER',
  'KM_NOT_FOUND',
  'KM_READ_STALLED',
  'KM_TRANSLATION_FAILED',
  'KM_SOURCE_END_UNKNOWN',
  'KM_TARGET_NO_ANSWER',
  'KM_GROUP_SYNC_FAILED',
  'KM_EARLIER_WRITE_FAILED',
  'KM_WRITER_CLOSED',
  'KM_PRODUCE_UNACKNOWLEDGED',
  'KM_METADATA_UNAVAILABLE',
  'KM_COORDINATOR_RETRIABLE',
  'KM_LANE_TARGET_MISMATCH',
  'KM_POSITIONS_UNREADABLE',
  'KM_UNKNOWN_CLUSTER',
  'KM_KAFKAJS_PATCH',
  'KM_FETCH_INCOMPLETE',
  'KM_QUEUE_CLOSED',
  'KM_LANE_DROPPED',
  'KM_DRAIN_TIMEOUT',
  'KM_INVALID_ARGUMENT',
  'KM_TOPIC_CONFIG_REFUSED',
  'KM_MALFORMED_RESPONSE',
  'KM_ACL_SYNC_REFUSED',
  'KM_CONTROL_UNAUTHORIZED',
  'KM_CONTROL_DISABLED',
  'KM_CONTROL_BAD_REQUEST',
  'KM_CONTROL_NOT_FOUND',
  'KM_CONTROL_CONFLICT',
  'KM_CONTROL_REFUSED',
  'KM_INVALID_POSITION',
  'KM_FLOW_RUNNING',
  'KM_RECONCILE_REFUSED',
  'KM_REVERSE_START_CONFLICT',
  'KM_OAUTH_TOKEN_REFUSED',
  'KM_OAUTH_TOKEN_UNAVAILABLE',
  'KM_OAUTH_TOKEN_INVALID',
  'KM_OAUTH_REJECTED',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class KafkaMirrorError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}
