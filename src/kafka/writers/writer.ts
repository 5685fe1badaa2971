// The one contract of the target writers: the one-at-a-time writer (target-writer.ts), the
// pipelined idempotent writer (idempotent-writer.ts) and the transactional writer
// (transactional-writer.ts). The daemon builds one per flow and knows it only through this.
import type { FlowTarget, TransactionalTarget } from '../../replication/ports.ts';

interface WriterLifecycle {
  /** Connects to the target (the transactional writer also prepares its positions topic). */
  connect(): Promise<void>;
  /** Since when the oldest request in flight has waited for the target, if any (readiness). */
  pendingSince(): number | undefined;
  /** Lets what is in flight finish (or fail), then closes the connections. Idempotent. */
  close(): Promise<void>;
  /** Closes the connections at once: writes in flight fail. Idempotent. */
  destroy(): Promise<void>;
}

export type Writer = (FlowTarget | TransactionalTarget) & WriterLifecycle;
