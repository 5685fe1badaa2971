// Errors of consumer-group offset translation and sync.
import { KafkaMirrorError } from './base.ts';

/**
 * `offsets failover` was asked to write a consumer group's offsets on the target while the group
 * has active members there (whose positions must not be overwritten). Exit code 1.
 */
export class GroupActiveError extends KafkaMirrorError {
  static readonly code = 'KM_GROUP_ACTIVE';
  constructor(group: string, members: number) {
    super(
      GroupActiveError.code,
      `group ${group} has ${members} active member(s) on the target: its offsets are not written while consumers run there; stop them first`,
    );
  }
}

/**
 * A consumer group's committed offset could not be translated to the target: the target partition
 * holds a record replicated from that offset or later (its last), yet the search through its
 * km.src.offset headers found none (src/offsets/translate.ts). The target changed under the search
 * (retention, truncation), or its records are not in source order. Nothing is committed.
 */
export class TranslationFailedError extends KafkaMirrorError {
  static readonly code = 'KM_TRANSLATION_FAILED';
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, committed: number, last: number) {
    super(
      TranslationFailedError.code,
      `${topic}/${partition}: no record from source offset ${committed} on, yet its last is ${last}`,
    );
    this.topic = topic;
    this.partition = partition;
  }
}

/**
 * `offsets failover` could not sync the group: translating its offsets or committing them on the
 * target failed (`cause`). Nothing or only part of the group's offsets was committed, each only
 * forward; running it again is safe. Exit code 1.
 */
export class GroupSyncFailedError extends KafkaMirrorError {
  static readonly code = 'KM_GROUP_SYNC_FAILED';
  readonly group: string;
  constructor(group: string, cause: unknown) {
    super(GroupSyncFailedError.code, `group ${group}: ${String(cause)}`, {
      cause,
      retriable: (cause as { retriable?: unknown } | null)?.retriable === true,
    });
    this.group = group;
  }
}

/**
 * A source position given to translate (`offsets translate --position`, `--positions-file`, or
 * `translatePositions`) is not one: not `<topic>:<partition>:<offset>` with whole numbers, a file
 * entry without them, a partition that is not among the flow's source topics, or an offset past the
 * source partition's end. Nothing is translated. `position` names it as given. Exit code 2.
 */
export class InvalidPositionError extends KafkaMirrorError {
  static readonly code = 'KM_INVALID_POSITION';
  readonly position: string;
  constructor(position: string, problem: string) {
    super(InvalidPositionError.code, `position ${position}: ${problem}`);
    this.position = position;
  }
}

/**
 * `divergence` could learn the source's end from neither the source (it did not answer) nor the
 * running daemon's last lag refresh (its admin server did not answer, or has never refreshed the
 * flow's lag). Without an end there is no count of records at risk. Exit code 1.
 */
export class SourceEndUnknownError extends KafkaMirrorError {
  static readonly code = 'KM_SOURCE_END_UNKNOWN';
  constructor(flow: string, source: unknown, daemon: string) {
    super(
      SourceEndUnknownError.code,
      `flow ${flow}: the source did not answer (${String(source)}) and neither did the daemon (${daemon}); no source end to measure against`,
      { cause: source, retriable: true },
    );
  }
}

/**
 * `divergence` could not read the flow's target, so what of the source is on it is unknown (the
 * target's answer is the one number the report cannot do without). Exit code 1.
 */
export class TargetNoAnswerError extends KafkaMirrorError {
  static readonly code = 'KM_TARGET_NO_ANSWER';
  constructor(flow: string, cause: unknown) {
    super(TargetNoAnswerError.code, `flow ${flow}: the target did not answer: ${String(cause)}`, {
      cause,
      retriable: true,
    });
  }
}
