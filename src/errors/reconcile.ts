// Errors of failback reconciliation (`kafka-mirror reconcile`, src/offsets/reconcile.ts and
// src/offsets/reverse-start.ts).
import { KafkaMirrorError } from './base.ts';

/**
 * `reconcile` was asked to copy a flow's missing records, or to move its group, while the flow's
 * consumer group has active members on its source: a daemon still runs the flow, and its copies
 * and commits would race the reconciliation. Nothing is written. Exit code 1.
 */
export class FlowRunningError extends KafkaMirrorError {
  static readonly code = 'KM_FLOW_RUNNING';
  readonly flow: string;
  constructor(flow: string, group: string, members: number) {
    super(
      FlowRunningError.code,
      `flow ${flow} is running: its group ${group} has ${members} active member(s); stop the daemon (or the flow) before reconciling`,
    );
    this.flow = flow;
  }
}

/**
 * `reconcile` cannot work with what it was given: a flow whose target topic or partition is
 * missing, a `--to-topic` that does not exist on the target or has fewer partitions than the
 * source topic, a `--reverse-flow` that is not the flow's reverse. Nothing is written. Exit code 1.
 */
export class ReconcileRefusedError extends KafkaMirrorError {
  static readonly code = 'KM_RECONCILE_REFUSED';
  constructor(problem: string) {
    super(ReconcileRefusedError.code, `reconcile refused: ${problem}`);
  }
}

/**
 * `reconcile --reverse-flow` found committed offsets of the reverse flow's group that differ from
 * the start it computed (the reverse flow ran already, or someone set them): they are not
 * overwritten. `conflicts` lists both per partition. Nothing is committed. Exit code 1.
 */
export class ReverseStartConflictError extends KafkaMirrorError {
  static readonly code = 'KM_REVERSE_START_CONFLICT';
  readonly conflicts: ReadonlyArray<{
    topic: string;
    partition: number;
    committed: number;
    computed: number;
  }>;
  constructor(
    group: string,
    conflicts: ReadonlyArray<{ topic: string; partition: number; committed: number; computed: number }>,
  ) {
    const list = conflicts
      .map((c) => `${c.topic}/${c.partition}: committed ${c.committed}, computed ${c.computed}`)
      .join('; ');
    super(
      ReverseStartConflictError.code,
      `group ${group} already has committed offsets that differ from the reverse start (${list}); delete them (kafka-consumer-groups.sh --delete-offsets) or keep them, nothing was overwritten`,
    );
    this.conflicts = conflicts;
  }
}
