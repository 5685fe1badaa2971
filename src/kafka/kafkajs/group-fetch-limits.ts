// Replaces, in kafkajs/src/consumer/consumerGroup.js, ConsumerGroup.prototype.fetch (wrapped: each
// fetch runs within its group's decode budget, decode-budget.ts) and the instance fields maxBytes
// and maxBytesPerPartition (by accessors on the prototype, which the constructor's assignments
// go through).
//
// Why: memory (issue 3). A fetch is limited in wire bytes but held decoded; the source reader
// sizes its fetches by what they decode to (../fetch-sizer.ts), so a group's fetch limits change
// while it runs. kafkajs reads the two fields at every fetch; they now answer the limits last set
// for the group (setGroupFetchLimits), or the consumer's options until then.
import { withDecodeBudget } from './decode-budget.ts';
import { kafkajsModule } from './module-cache.ts';

export interface GroupFetchLimits {
  readonly maxBytes: number;
  readonly maxBytesPerPartition: number;
  /** Bytes the compressed batches of one fetch may decompress into (decode-budget.ts); unset: no bound. */
  readonly decodedBytes?: number;
}

const groupFetchLimits = new Map<string, GroupFetchLimits>();
const CONFIGURED = Symbol('configured fetch limits');
type LimitedGroup = { groupId: string; [CONFIGURED]?: { maxBytes?: number; maxBytesPerPartition?: number } };
interface ConsumerGroupClass {
  prototype: { fetch(this: LimitedGroup, nodeId: number): Promise<unknown[]> };
}

/** Sets the fetch limits of every kafkajs consumer of `groupId` in this process, from its next fetch on (undefined: back to its options). */
export function setGroupFetchLimits(groupId: string, limits: GroupFetchLimits | undefined): void {
  if (limits === undefined) groupFetchLimits.delete(groupId);
  else groupFetchLimits.set(groupId, limits);
}

export function installGroupFetchLimits(): void {
  const ConsumerGroup = kafkajsModule<ConsumerGroupClass>('consumer/consumerGroup.js');
  const groupFetch = ConsumerGroup.prototype.fetch;
  // Each fetch of a group decodes within the group's decode budget.
  ConsumerGroup.prototype.fetch = function fetch(this: LimitedGroup, nodeId: number) {
    const bytes = groupFetchLimits.get(this.groupId)?.decodedBytes;
    return bytes === undefined
      ? groupFetch.call(this, nodeId)
      : withDecodeBudget(bytes, () => groupFetch.call(this, nodeId));
  };
  for (const field of ['maxBytes', 'maxBytesPerPartition'] as const) {
    Object.defineProperty(ConsumerGroup.prototype, field, {
      get(this: LimitedGroup) {
        return groupFetchLimits.get(this.groupId)?.[field] ?? this[CONFIGURED]?.[field];
      },
      set(this: LimitedGroup, value: number) {
        (this[CONFIGURED] ??= {})[field] = value;
      },
    });
  }
}
