// Errors of kafka-mirror's own invariants and of its pipeline's internal states.
import { KafkaMirrorError } from './base.ts';

/**
 * Something kafka-mirror holds true of its own code did not hold: an encoder wrote a different
 * number of bytes than it measured, a codec it registered is missing, a validated config names a
 * cluster it does not have. A bug, never a condition of the clusters or the data: report it with
 * the message. Not retriable: the same input fails the same way (as kafkajs treats a TypeError).
 */
export class InternalInvariantError extends KafkaMirrorError {
  static readonly code = 'KM_INTERNAL_INVARIANT';
  constructor(detail: string) {
    super(
      InternalInvariantError.code,
      `${detail} (an internal invariant of kafka-mirror failed: a bug, please report it with this message)`,
    );
  }
}

/**
 * A patch of kafkajs's internals (src/kafka/kafkajs/) cannot take effect: kafkajs was loaded
 * before src/kafka/kafkajs/index.ts applied them (a module imported kafkajs some other way), a
 * kafkajs module that captures a replaced module had loaded before the replacement, or records
 * reached code that needs the patched decoder without going through it. A defect of the build or
 * of the installed kafkajs, never of the data: not retriable. `patch` names the patch file.
 */
export class KafkaJsPatchError extends KafkaMirrorError {
  static readonly code = 'KM_KAFKAJS_PATCH';
  /** The patch file under src/kafka/kafkajs/ that cannot take effect. */
  readonly patch: string;
  constructor(patch: string, detail: string) {
    super(KafkaJsPatchError.code, `kafkajs patch src/kafka/kafkajs/${patch}: ${detail}`);
    this.patch = patch;
  }
}

/**
 * A push into a flow's bounded queue after it was closed (the flow drains or was destroyed), or a
 * push still waiting for room when it closed. Nothing of it was queued; what the queue admitted
 * before is still written.
 */
export class QueueClosedError extends KafkaMirrorError {
  static readonly code = 'KM_QUEUE_CLOSED';
  constructor() {
    super(QueueClosedError.code, 'the queue is closed');
  }
}

/**
 * A push waiting for room in a flow's bounded queue when its lane was dropped (its partition was
 * reassigned or restored, and is read again from its committed position). The flow catches it:
 * what was being queued is stale and is not written.
 */
export class LaneDroppedError extends KafkaMirrorError {
  static readonly code = 'KM_LANE_DROPPED';
  readonly lane: string;
  constructor(lane: string) {
    super(LaneDroppedError.code, `the queue lane ${JSON.stringify(lane)} was dropped`, { retriable: true });
    this.lane = lane;
  }
}

/**
 * A component was given an argument outside its contract (a flow given a target of another
 * delivery than its config's, a rate limiter a rate that is not positive). A bug of kafka-mirror:
 * configuration validation refuses whatever an operator could write to cause it.
 */
export class InvalidArgumentError extends KafkaMirrorError {
  static readonly code = 'KM_INVALID_ARGUMENT';
  constructor(message: string) {
    super(InvalidArgumentError.code, message);
  }
}
