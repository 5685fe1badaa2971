// The V8 heap a config needs (docs/operations.md, Memory): every flow's queue holds up to its byte
// budget, charged at least the heap its records take, plus room for the runtime, the clients and
// one decoded fetch per source broker. Below that, a full backlog can end in an out-of-memory crash.
import type { Config } from './types.ts';

/** Heap beyond the queue budgets: runtime, code, clients, one decoded fetch per source broker. */
export const HEAP_HEADROOM_BYTES = 64 * 2 ** 20;

export interface HeapNeed {
  /** The flows' queue budgets together. */
  readonly budgetsBytes: number;
  /** Budgets plus headroom: what old space should be (`--max-old-space-size`). */
  readonly neededBytes: number;
}

export function heapNeed(config: Pick<Config, 'queue' | 'flows'>): HeapNeed {
  const budgetsBytes = config.queue.maxBytes * config.flows.length;
  return { budgetsBytes, neededBytes: budgetsBytes + HEAP_HEADROOM_BYTES };
}

const MiB = 2 ** 20;

/** The warning when `heapLimitBytes` (v8 heap_size_limit) is below the need, else undefined. */
export function heapWarning(
  config: Pick<Config, 'queue' | 'flows'>,
  heapLimitBytes: number,
): string | undefined {
  const { neededBytes } = heapNeed(config);
  if (heapLimitBytes >= neededBytes) return undefined;
  const mib = (n: number) => Math.ceil(n / MiB);
  return (
    `the V8 heap limit (${mib(heapLimitBytes)} MiB) is below what the flows need ` +
    `(${config.flows.length} flows x queue.maxBytes ${mib(config.queue.maxBytes)} MiB + 64 MiB = ${mib(neededBytes)} MiB): ` +
    `a full backlog may exhaust it; set NODE_OPTIONS=--max-old-space-size=${mib(neededBytes)} or lower queue.maxBytes (docs/operations.md, Memory)`
  );
}
