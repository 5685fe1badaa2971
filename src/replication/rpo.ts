// The recovery point of a flow: what a failover would lose if the source went away now. Per
// partition, the source offsets between the position the flow has written (or committed) and the
// source's end as read at the last lag refresh; in seconds, how long ago the target last had
// everything. The numbers are as of the last lag refresh: short by up to one
// metrics.lagIntervalMs of writes, long by transaction markers and aborted records (they take
// offsets and are never copied). Pure: the daemon (src/daemon/status.ts) and the divergence
// report (src/offsets/divergence.ts) feed it.
import { partitionKey, type TopicPartition } from './ports.ts';

/** One partition at a lag refresh. */
export interface RpoInput extends TopicPartition {
  /** The source's log end (high watermark) read at the refresh. */
  readonly logEnd: number;
  /** The source offset the flow writes next: its acknowledged position, else its committed one. */
  readonly position: number;
}

export interface PartitionRpo extends TopicPartition {
  readonly logEnd: number;
  readonly position: number;
  /** Source offsets from `position` to `logEnd`: records at risk, markers and aborted records included. */
  readonly records: number;
}

export interface FlowRpo {
  readonly records: number;
  /** Seconds since the target last had every partition's end, as seen at lag refreshes (0: it has). */
  readonly seconds: number;
  /** When the source's ends were read (epoch ms), undefined before the first refresh. */
  readonly asOf: number | undefined;
  readonly partitions: readonly PartitionRpo[];
}

/** Records at risk on one partition: never negative (the position can pass an end read earlier). */
export function recordsAtRisk(input: RpoInput): PartitionRpo {
  return { ...input, records: Math.max(0, input.logEnd - input.position) };
}

/**
 * Remembers, per partition, the last lag refresh at which the target had the source's end, so the
 * RPO in seconds is the age of the oldest write that may be missing: every record at risk was
 * written after that refresh read the end. A partition first seen behind counts from when it was
 * first seen (the tracker knows nothing earlier); `pendingAgeSeconds` (the oldest record fetched
 * and not acknowledged) is taken when it is older.
 */
export class RpoTracker {
  readonly #caughtUpAt = new Map<string, number>();
  #last: FlowRpo = { records: 0, seconds: 0, asOf: undefined, partitions: [] };

  /** One lag refresh at `at` (epoch ms). */
  update(inputs: readonly RpoInput[], at: number, pendingAgeSeconds = 0): FlowRpo {
    const partitions = inputs.map(recordsAtRisk);
    const seen = new Set<string>();
    let oldest: number | undefined;
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      seen.add(key);
      if (p.records === 0) this.#caughtUpAt.set(key, at);
      else {
        const since = this.#caughtUpAt.get(key) ?? at;
        this.#caughtUpAt.set(key, since);
        oldest = Math.min(oldest ?? since, since);
      }
    }
    for (const key of this.#caughtUpAt.keys()) if (!seen.has(key)) this.#caughtUpAt.delete(key);
    const records = partitions.reduce((sum, p) => sum + p.records, 0);
    const behindSeconds = oldest === undefined ? 0 : (at - oldest) / 1000;
    const seconds = records === 0 ? 0 : Math.max(behindSeconds, pendingAgeSeconds);
    this.#last = { records, seconds, asOf: at, partitions };
    return this.#last;
  }

  /** The last refresh's result. */
  get last(): FlowRpo {
    return this.#last;
  }
}

/**
 * The time range of the records at risk: from just after the last record on the target (its
 * timestamp) to the source's last known record time; its length is the RPO in seconds.
 */
export function riskWindowSeconds(lastOnTarget: number | undefined, sourceLast: number | undefined): number {
  if (sourceLast === undefined) return 0;
  if (lastOnTarget === undefined) return 0;
  return Math.max(0, (sourceLast - lastOnTarget) / 1000);
}
