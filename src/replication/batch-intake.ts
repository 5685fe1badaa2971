// What a flow does with each fetched batch until it waits in the queue: the exactly-once lanes
// admit it (or drop it while its partition is restored), the chunker cuts it into queue items, the
// tracker gets a ticket per cut, and each item is offered to the bounded queue, held there while
// the queue is full (backpressure). A batch that a rejoin, a restore or an operator's resume made
// stale stops where it is.
import type { SourceRecord } from '../protocol/records.ts';
import type { BoundedQueue } from './bounded-queue.ts';
import type { Chunker, WriteItem } from './chunker.ts';
import type { ExactlyOnceLanes, LaneState } from './exactly-once-lanes.ts';
import type { OffsetTracker } from './offset-tracker.ts';
import type { PartitionHalts } from './partition-halts.ts';
import { partitionKey, type FetchedBatch } from './ports.ts';

/** What the intake needs of its flow. */
export interface IntakeHost {
  readonly chunker: Chunker;
  readonly queue: BoundedQueue<WriteItem>;
  readonly tracker: OffsetTracker;
  /** Set in exactly-once mode. */
  readonly lanes: ExactlyOnceLanes | undefined;
  readonly halts: PartitionHalts;
  /** Where this flow's heartbeats go on its source. */
  readonly heartbeatTopic: string | undefined;
  /** The target topic of a source topic. */
  readonly remoteTopic: (topic: string) => string;
  /** Records of `topic` not written because the target cluster already has them. */
  readonly loops: (topic: string, count: number) => void;
}

export class BatchIntake {
  readonly #host: IntakeHost;
  /** Bumped by every group (re)join: a batch being queued across one stops there. */
  #generation = 0;

  constructor(host: IntakeHost) {
    this.#host = host;
  }

  /** A group (re)join: every batch being queued stops. */
  rejoined(): void {
    this.#generation++;
  }

  /** Flow.onBatch: resolves once the batch is queued; false when it was dropped or went stale. */
  async onBatch(batch: FetchedBatch, keepAlive: () => Promise<void>): Promise<boolean> {
    const { queue, lanes, tracker } = this.#host;
    const lane = partitionKey(batch.topic, batch.partition);
    if (queue.isHalted(lane) || (batch.records.length === 0 && batch.nextOffset === undefined)) return true;
    // Where the fetch ends: its last chunk's ticket (or a skip) commits up to there, so a partition
    // ending in a transaction marker or aborted records is committed to its end (lag 0).
    const end = Math.max(batch.nextOffset ?? 0, Number(batch.records.at(-1)?.offset ?? -1) + 1);
    let records = batch.records;
    let state: LaneState | undefined;
    if (lanes !== undefined) {
      const admitted = lanes.admit(lane, batch.topic, records);
      if (admitted === undefined) return false;
      ({ state, records } = admitted);
    }
    if (records.length === 0) {
      // Nothing to copy up to `end`: the watermark passes it once every record before it is
      // acknowledged (exactly once: its transaction committed), as Kafka's consumer passes
      // control batches and aborted records (CompletedFetch.nextFetchedRecord). No transaction
      // is begun for it: the lane's position on the target stays after its last record.
      tracker.skip(lane, end);
      if (state !== undefined) state.expected = Math.max(state.expected ?? end, end);
      return true;
    }
    return this.#queueCuts(lane, batch, records, end, state, keepAlive);
  }

  /** Queues the batch's cuts in order; false once a rejoin or a restore made the batch stale. */
  async #queueCuts(
    lane: string,
    batch: FetchedBatch,
    records: readonly SourceRecord[],
    end: number,
    state: LaneState | undefined,
    keepAlive: () => Promise<void>,
  ): Promise<boolean> {
    const { queue, lanes, tracker, halts } = this.#host;
    const generation = this.#generation;
    const era = halts.era(lane);
    halts.fetched(lane, Number(records[0]?.offset));
    // After a rejoin the consumer replays from the committed offset (exactly-once: after a
    // restore, from the target's position; after an operator's resume, from the watermark); the
    // rest of this batch must not start a new watermark past the chunks that dropped.
    const current = () =>
      this.#generation === generation && lanes?.get(lane) === state && halts.era(lane) === era;
    const to = {
      kind: batch.topic === this.#host.heartbeatTopic ? ('heartbeat' as const) : ('data' as const),
      topic: this.#host.remoteTopic(batch.topic),
      epoch: state?.epoch ?? 0,
    };
    let loops = 0;
    for (const cut of this.#host.chunker.cuts(batch, records, end, to)) {
      if (!current()) return false;
      loops += cut.loops;
      const ticket = tracker.begin(lane, cut.nextOffset, cut.firstTimestamp);
      if (state !== undefined) state.expected = ticket.nextOffset;
      if (cut.item === undefined) tracker.complete(ticket);
      else {
        // While the queue is full the source fetch is held here (backpressure), the group kept
        // alive; false: a rejoin dropped the lane while the chunk waited for room.
        const item = { ...cut.item, ticket };
        if (!(await queue.offer(lane, item, item.records.count, item.bytes, keepAlive))) return false;
      }
    }
    if (loops > 0) this.#host.loops(batch.topic, loops);
    return current();
  }
}
