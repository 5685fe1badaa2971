import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, FlowConfig } from '../config/index.ts';
import {
  CommitNotAcknowledgedError,
  CorruptRecordBatchError,
  TargetTopicMissingError,
  TransactionRejectedError,
  WriteRejectedError,
} from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics, errorCode, type ExportedFlowState, type FlowMetrics } from '../observability/metrics.ts';
import { chunkCharge, encodeChunk, type RecordChunk } from '../protocol/record-chunk.ts';
import { BoundedQueue, LaneDroppedError } from './bounded-queue.ts';
import { OffsetTracker, type Ticket } from './offset-tracker.ts';
import { ProvenanceHeader, provenanceStamp, type Stamped } from './provenance.ts';
import {
  payloadBytes,
  wireBytes,
  type HeaderList,
  type SourceRecord,
  type TargetRecord,
} from '../protocol/records.ts';
import {
  fromPartitionKey,
  partitionKey,
  type FetchedBatch,
  type FlowSource,
  type Target,
  type TopicPartition,
  type TransactionalTarget,
} from './ports.ts';
import { RateLimiter } from './rate-limiter.ts';
import { remoteTopicOf } from './topic-selection.ts';
import { syncTopics, type TopicCatalog } from './topic-sync.ts';

/** Exactly-once state of one source partition. */
interface LaneState {
  /** Bumped by every restore: writes and batches of an older epoch are dropped. */
  readonly epoch: number;
  /** False while the lane is being restored (fenced, position read, seek); its batches are dropped. */
  ready: boolean;
  /** The next offset this lane expects; records below it are replays and are dropped. */
  expected: number | undefined;
  /** The first offset handed over in this assignment: where a lane with no committed position rewinds to. */
  start: number | undefined;
}

export const FlowState = {
  STARTING: 'starting',
  RUNNING: 'running',
  DRAINING: 'draining',
  STOPPED: 'stopped',
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

interface WriteItem {
  readonly kind: 'data' | 'heartbeat';
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  /** The exactly-once lane epoch it was read in. */
  readonly epoch: number;
  /** Key, value and header bytes (what `kafka_mirror_bytes_total` counts). */
  readonly payload: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: RecordChunk;
  /** What the queue charges it (chunkCharge). */
  readonly bytes: number;
  readonly ticket: Ticket;
}

export interface FlowStats {
  recordsWritten: number;
  /**
   * Records not written on purpose, by reason (`loop`: the target cluster already has them;
   * `replayed`: exactly-once, the target's committed position is past them).
   */
  skipped: { loop: number; replayed: number };
  halted: Map<string, string>;
}

/** The target refused for good what a partition needs written: it halts (DESIGN.md invariant 6). */
const refused = (error: unknown) =>
  error instanceof WriteRejectedError ||
  error instanceof TargetTopicMissingError ||
  error instanceof TransactionRejectedError;

/**
 * One direction of replication, `source -> target`: batches from the reader are stamped with
 * provenance and go into the bounded queue (the loop guard will sit before it, issue 4); the
 * writer drains each partition's lane in order; the tracker turns acknowledgements into the
 * watermark that is committed to the source group.
 */
export class Flow {
  readonly config: FlowConfig;
  readonly stats: FlowStats = { recordsWritten: 0, skipped: { loop: 0, replayed: 0 }, halted: new Map() };
  readonly #logger: Logger;
  readonly #source: FlowSource;
  readonly #target: Target;
  /** Set in exactly-once mode. */
  readonly #transactional: TransactionalTarget | undefined;
  readonly #lanes = new Map<string, LaneState>();
  #epochs = 0;
  readonly #catalogs: { source: TopicCatalog; target: TopicCatalog };
  readonly #queue: BoundedQueue<WriteItem>;
  readonly #tracker = new OffsetTracker();
  readonly #stamps = new Map<string, (headers: HeaderList) => Stamped | undefined>();
  readonly #identity: { source: string; target: string };
  readonly #timers: NodeJS.Timeout[] = [];
  #state: FlowState = FlowState.STARTING;
  #refreshing: Promise<void> | undefined;
  /** Failed refreshes in a row: the next is retried sooner than the refresh interval. */
  #refreshFailures = 0;
  #refreshRetry: NodeJS.Timeout | undefined;
  #partitionCounts = new Map<string, number>();
  /** Remote topics topic sync reported deleted (logged once each, not at every refresh). */
  readonly #deletedRemotes = new Set<string>();
  /** Bumped by every group (re)join: a batch being queued across one stops there. */
  #generation = 0;
  readonly #chunk: { records: number; bytes: number; requestBytes: number };
  readonly #aliases: readonly string[];
  readonly #metrics: FlowMetrics;
  readonly #limiter: RateLimiter | undefined;
  readonly #heartbeatTopic: string | undefined;
  #assigned: readonly TopicPartition[] = [];
  /** In the source group with an assignment (false before the first join and after a consumer crash). */
  #joined = false;

  constructor(init: {
    config: FlowConfig;
    settings: Pick<Config, 'queue' | 'producer'>;
    source: FlowSource;
    target: Target;
    catalogs: { source: TopicCatalog; target: TopicCatalog };
    /** Kafka cluster ids of source and target, for provenance and the loop guard (default: the aliases). */
    identity?: { source: string; target: string };
    /** Every cluster alias of the config: prefixes that name a remote topic. */
    aliases?: readonly string[];
    /** Where this flow's heartbeats go on its source; also replicated (under its own name). */
    heartbeatTopic?: string;
    metrics?: FlowMetrics;
    logger: Logger;
  }) {
    this.#metrics = init.metrics ?? new Metrics().flow(init.config.name);
    this.#heartbeatTopic = init.heartbeatTopic;
    this.#limiter =
      init.config.maxBytesPerSecond > 0
        ? new RateLimiter(init.config.maxBytesPerSecond, { now: Date.now, sleep: (ms) => sleep(ms) })
        : undefined;
    this.config = init.config;
    this.#identity = init.identity ?? { source: init.config.source, target: init.config.target };
    this.#aliases = init.aliases ?? [init.config.source, init.config.target];
    this.#logger = init.logger;
    this.#source = init.source;
    this.#target = init.target;
    if (init.config.delivery !== init.target.delivery)
      throw new Error(`a flow of ${init.config.delivery} delivery needs a target of the same delivery`);
    if (init.target.delivery === 'exactly-once') this.#transactional = init.target;
    this.#catalogs = init.catalogs;
    const { maxRecords, maxBytes } = init.settings.queue;
    this.#chunk = {
      records: Math.max(1, Math.floor(maxRecords / 16)),
      bytes: Math.max(1, Math.floor(maxBytes / 16)),
      requestBytes: init.settings.producer.maxRequestBytes,
    };
    this.#queue = new BoundedQueue<WriteItem>({
      budget: init.settings.queue,
      concurrency: init.settings.producer.concurrency,
      // Exactly-once lanes write one chunk at a time inside their transaction.
      perLane: this.#transactional === undefined ? init.settings.producer.maxInFlightPerPartition : 1,
      worker: (_lane, item) => this.#write(item),
      onHalt: (lane, error) => this.#halt(lane, error),
    });
  }

  get state(): FlowState {
    return this.#state;
  }

  /** The state as operators see it: a running flow with a halted partition is `halted`. */
  get exportedState(): ExportedFlowState {
    return this.#state === FlowState.RUNNING && this.stats.halted.size > 0 ? 'halted' : this.#state;
  }

  /** Partitions assigned to this instance by the last group join. */
  get assigned(): readonly TopicPartition[] {
    return this.#assigned;
  }

  get joined(): boolean {
    return this.#joined;
  }

  /** The target topic of a source topic (heartbeats keep their name). */
  remoteTopic(topic: string): string {
    return topic === this.#heartbeatTopic ? topic : remoteTopicOf(this.config, topic, this.#aliases);
  }

  /** Offset below which everything of the partition is acknowledged (or skipped) in this run. */
  acknowledged(topic: string, partition: number): number | undefined {
    return this.#tracker.watermark(partitionKey(topic, partition));
  }

  /** Partitions halted because the target refused a record, with the reason. */
  haltedPartitions(): Array<TopicPartition & { reason: string }> {
    return [...this.stats.halted].map(([lane, reason]) => ({ ...fromPartitionKey(lane), reason }));
  }

  /** Age in seconds (from its source timestamp) of the oldest record fetched and not yet acknowledged; 0 when none is. */
  pendingAgeSeconds(now = Date.now()): number {
    const oldest = this.#tracker.oldestPending();
    return oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000);
  }

  get queued(): { records: number; bytes: number } {
    return { records: this.#queue.records, bytes: this.#queue.bytes };
  }

  /** Prepares remote topics, starts consuming, and starts the commit and refresh timers. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timers.push(
      setInterval(() => void this.commit(), this.config.commitIntervalMs),
      setInterval(() => void this.refresh(), this.config.refreshIntervalMs),
    );
    for (const timer of this.#timers) timer.unref();
    this.#state = FlowState.RUNNING;
    this.#metrics.state(this.exportedState);
  }

  /** Topic sync: new matching topics and partitions are picked up here, without a restart. */
  async refresh(): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    this.#refreshing = (async () => {
      try {
        const { ready, partitions, excluded } = await syncTopics(
          this.config,
          this.#aliases,
          this.#catalogs.source,
          this.#catalogs.target,
          this.#logger,
          this.#heartbeatTopic === undefined ? [] : [this.#heartbeatTopic],
          this.#deletedRemotes,
        );
        this.#metrics.excluded(excluded);
        const current = new Set(this.#source.topics);
        const topicsChanged = ready.length !== current.size || ready.some((t) => !current.has(t));
        const partitionsGrew = [...partitions].some(([t, n]) => (this.#partitionCounts.get(t) ?? n) < n);
        if (topicsChanged || partitionsGrew) {
          // A new subscription rebalances the group, and after it the consumer resumes from the
          // committed offsets; committing first keeps the replay (duplicates) small.
          await this.commit();
          await this.#source.setTopics(ready, partitionsGrew);
        }
        // Only once the consumer follows them: a failed restart is retried by the next refresh.
        this.#partitionCounts = partitions;
        this.#refreshFailures = 0;
      } catch (error) {
        // A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS for a while, and a flow whose
        // first refresh failed has no topics: retry within seconds, not a whole refresh interval.
        this.#refreshFailures++;
        const retryInMs = Math.min(
          this.config.refreshIntervalMs,
          500 * 2 ** Math.min(this.#refreshFailures, 6),
        );
        this.#logger.error({ err: error, retryInMs }, 'topic refresh failed; will retry');
        if (this.#state !== FlowState.DRAINING && this.#state !== FlowState.STOPPED) {
          clearTimeout(this.#refreshRetry);
          this.#refreshRetry = setTimeout(() => void this.refresh(), retryInMs).unref();
        }
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /**
   * Called by the reader for each fetched batch; resolves once the batch is queued. Resolves
   * false when the batch was dropped because its partition is being restored (exactly-once): the
   * reader must then not move its fetch position past it. A batch without records (its fetch held
   * only transaction markers, aborted records or batches emptied by compaction) only moves the
   * watermark to where the fetch ends.
   */
  async onBatch(batch: FetchedBatch, keepAlive: () => Promise<void>): Promise<boolean> {
    const lane = partitionKey(batch.topic, batch.partition);
    if (this.#queue.isHalted(lane) || (batch.records.length === 0 && batch.nextOffset === undefined))
      return true;
    let records = batch.records;
    // Where the fetch ends: its last chunk's ticket (or a skip) commits up to there, so a partition
    // ending in a transaction marker or aborted records is committed to its end (lag 0).
    const end = Math.max(batch.nextOffset ?? 0, Number(records.at(-1)?.offset ?? -1) + 1);
    const state = this.#lanes.get(lane);
    if (this.#transactional !== undefined) {
      if (state === undefined || !state.ready) return false;
      if (records.length > 0) state.start ??= Number(records[0]?.offset);
      const expected = state.expected;
      if (expected !== undefined && Number(records[0]?.offset) < expected) {
        records = records.filter((r) => Number(r.offset) >= expected);
        const replayed = batch.records.length - records.length;
        this.stats.skipped.replayed += replayed;
        this.#metrics.skipped(batch.topic, 'replayed', replayed);
      }
    }
    if (records.length === 0) {
      // Nothing to copy up to `end`: the watermark passes it once every record before it is
      // acknowledged (exactly once: its transaction committed), as Kafka's consumer passes
      // control batches and aborted records (CompletedFetch.nextFetchedRecord). No transaction
      // is begun for it: the lane's position on the target stays after its last record.
      this.#tracker.skip(lane, end);
      if (state !== undefined) state.expected = Math.max(state.expected ?? end, end);
      return true;
    }
    const epoch = state?.epoch ?? 0;
    let stamp = this.#stamps.get(lane);
    if (stamp === undefined) {
      stamp = provenanceStamp({
        cluster: this.config.source,
        topic: batch.topic,
        partition: batch.partition,
        sourceId: this.#identity.source,
        targetId: this.#identity.target,
      });
      this.#stamps.set(lane, stamp);
    }
    // Only heartbeats written on this source are copied: one that came here from another cluster
    // would measure that cluster's path, not this flow's.
    const kind = batch.topic === this.#heartbeatTopic ? 'heartbeat' : 'data';
    const topic = this.remoteTopic(batch.topic);
    // A fetch is sized in compressed bytes, so one partition's batch can decode to far more than
    // the queue budget. It is queued in chunks of at most one produce request and 1/16 of the
    // budget, each with its own ticket, so the queue holds its budget plus at most one chunk.
    const generation = this.#generation;
    let out: TargetRecord[] = [];
    /** Upper bound of `out` encoded (wireBytes). */
    let wire = 0;
    let payload = 0;
    let loops = 0;
    /** Queues `out` as one chunk whose ticket commits up to `nextOffset`; false once a rejoin or restore made the batch stale. */
    const cut = async (nextOffset: number): Promise<boolean> => {
      // After a rejoin the consumer replays from the committed offset (exactly-once: after a
      // restore, from the target's position); the rest of this batch must not start a new
      // watermark past the chunks the rejoin dropped.
      if (this.#generation !== generation || this.#lanes.get(lane) !== state) return false;
      const ticket = this.#tracker.begin(lane, nextOffset, Number(out[0]?.timestamp));
      if (state !== undefined) state.expected = ticket.nextOffset;
      if (out.length === 0) this.#tracker.complete(ticket);
      else {
        // Encoded now: the queue holds one buffer per chunk, not objects per record.
        const chunk = encodeChunk(out, batch.compression);
        const queued = await this.#enqueue(
          lane,
          {
            kind,
            sourceTopic: batch.topic,
            sourcePartition: batch.partition,
            epoch,
            payload,
            topic,
            partition: batch.partition,
            records: chunk,
            bytes: chunkCharge(chunk),
            ticket,
          },
          keepAlive,
        );
        if (!queued) return false;
      }
      out = [];
      wire = 0;
      payload = 0;
      return true;
    };
    let previous = -1;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as SourceRecord;
      const relayed = kind === 'heartbeat' && r.headers.some(([key]) => key === ProvenanceHeader.origin);
      const stamped = relayed ? undefined : stamp(r.headers);
      if (stamped === undefined) {
        if (!relayed) loops++; // the target already has it; committed past like any other
      } else {
        const { headers, tail } = stamped;
        const record: TargetRecord = {
          key: r.key,
          value: r.value,
          timestamp: r.timestamp,
          headers,
          tail,
          offset: r.offset,
        };
        const size = wireBytes(record);
        // A chunk is one produce request: it is cut before the record that would make it larger.
        if (out.length > 0 && wire + size > this.#chunk.requestBytes && !(await cut(previous + 1)))
          return false;
        out.push(record);
        wire += size;
        payload += payloadBytes(record);
      }
      previous = Number(r.offset);
      const last = i === records.length - 1;
      if (last || wire + 12 * out.length >= this.#chunk.bytes || out.length >= this.#chunk.records)
        if (!(await cut(last ? end : previous + 1))) return false;
    }
    if (loops > 0) {
      this.stats.skipped.loop += loops;
      this.#metrics.skipped(batch.topic, 'loop', loops);
    }
    return this.#generation === generation && this.#lanes.get(lane) === state;
  }

  /** False: a rejoin dropped the lane while the chunk waited for room; it is not queued. */
  async #enqueue(lane: string, item: WriteItem, keepAlive: () => Promise<void>): Promise<boolean> {
    // A rejected push may have no listener left (a failed heartbeat ended this batch): the
    // rejection is handled here either way.
    const admitted = this.#queue.push(lane, item, item.records.count, item.bytes).then(
      () => true,
      (error: unknown) => {
        if (error instanceof LaneDroppedError) return false;
        throw error;
      },
    );
    // While the queue is full the source fetch is held here (backpressure); the group still
    // needs heartbeats or it would evict this instance.
    let done = false;
    admitted.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await Promise.race([admitted, sleep(1000)]);
      if (!done) await keepAlive();
    }
    return admitted;
  }

  /** After a group (re)join kafkajs resumes every partition from its committed offset, so local progress is reset. */
  onAssignment(assigned: readonly TopicPartition[] = []): void {
    this.#assigned = assigned;
    this.#joined = true;
    this.#metrics.rebalanced(assigned.length);
    this.#generation++;
    // A halted partition is retried from its committed offset, wherever it is assigned now: it is
    // either running again or, while the target still refuses the record, halted again (logged,
    // counted). kafkajs keeps a pause across a rejoin, so it is resumed here; a partition now
    // owned by another instance is not fetched here whatever its pause.
    for (const [lane, reason] of this.stats.halted) {
      const { topic, partition } = fromPartitionKey(lane);
      this.#queue.dropLane(lane);
      this.#source.resume(topic, partition);
      this.#logger.info(
        { topic, partition, reason },
        'halted partition resumed after a rebalance; retrying from the committed offset',
      );
    }
    this.stats.halted.clear();
    this.#metrics.state(this.exportedState);
    for (const lane of this.#tracker.partitions()) {
      this.#queue.dropLane(lane);
      this.#tracker.drop(lane);
    }
    if (this.#transactional !== undefined) this.#restoreAll(assigned);
  }

  /**
   * Exactly-once, after a join: lanes no longer assigned are released (their open transaction
   * aborted), and every assigned partition is paused until it is restored. kafkajs emits the join
   * before its first fetch, so nothing of the new assignment is read before that.
   */
  #restoreAll(assigned: readonly TopicPartition[]): void {
    const now = new Set(assigned.map((tp) => partitionKey(tp.topic, tp.partition)));
    for (const lane of this.#lanes.keys()) {
      if (now.has(lane)) continue;
      const { topic, partition } = fromPartitionKey(lane);
      this.#lanes.delete(lane);
      this.#transactional?.release(topic, partition);
    }
    for (const { topic, partition } of assigned) this.#restoring(topic, partition, 'assigned', undefined);
  }

  /**
   * Exactly-once: takes the lane over on the target (fencing every earlier owner of it), reads its
   * committed position there and seeks the source to it. Without a position the group's committed
   * offset (or startFrom) applies on a first assignment, and `rewind` (where this assignment
   * started reading) after a failed transaction. Retried until it succeeds or the lane is restored
   * anew.
   */
  async #restore(
    topic: string,
    partition: number,
    reason: 'assigned' | 'failed',
    rewind: number | undefined,
  ): Promise<void> {
    const lane = partitionKey(topic, partition);
    const state: LaneState = { epoch: ++this.#epochs, ready: false, expected: undefined, start: undefined };
    this.#lanes.set(lane, state);
    // Before kafkajs's first fetch of the partition (the join event comes first); a reader that
    // is not running cannot pause, and fetches nothing until its next join restores again.
    this.#source.pause(topic, partition);
    this.#metrics.laneRestore(reason);
    const current = () =>
      this.#lanes.get(lane) === state &&
      this.#state !== FlowState.DRAINING &&
      this.#state !== FlowState.STOPPED;
    for (let attempt = 0; current(); attempt++) {
      try {
        const position = await (this.#transactional as TransactionalTarget).acquire(topic, partition);
        if (!current()) return;
        const from = position ?? rewind;
        if (from !== undefined) this.#source.seek(topic, partition, from);
        state.expected = from;
        state.start = from;
        state.ready = true;
        if (!this.#queue.isHalted(lane)) this.#source.resume(topic, partition);
        this.#logger.info(
          { topic, partition, position: from ?? null, reason },
          'partition restored from the target',
        );
        return;
      } catch (error) {
        if (!current()) return; // restored anew meanwhile (a newer join or failure) or closing
        // The coordinator refused the lane's transactional id for good (not authorized, ...):
        // asking again gets the same answer. It stays paused and halted until a rebalance or a
        // restart restores it again.
        if (refused(error)) return this.#halt(lane, error);
        const retryInMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        this.#metrics.error('target', errorCode(error));
        this.#logger.warn(
          { topic, partition, err: error, retryInMs },
          'cannot restore partition from the target; retrying',
        );
        await sleep(retryInMs);
      }
    }
  }

  /**
   * Exactly-once: a transaction of the lane failed. Fenced or aborted: it is restored and read again
   * from its committed position. Refused for good (a record, the position record of its commit, or
   * a request of its transaction): the partition halts, never restored into the same refusal.
   */
  #laneFailed(lane: string, epoch: number, error: unknown): void {
    const state = this.#lanes.get(lane);
    if (state === undefined || state.epoch !== epoch || this.#queue.isHalted(lane)) return;
    if (this.#state === FlowState.STOPPED) return;
    if (refused(error)) {
      if (this.stats.halted.has(lane)) return;
      // A refused record also fails the queue's worker; a refused commit (the position record,
      // EndTxn) only rejects `committed`, and nothing else would halt the lane: it looked stuck.
      // A new epoch that is never made ready drops what is queued or being written for the lane and
      // refuses what the reader fetched before the pause, until a rebalance restores it.
      this.#lanes.set(lane, { epoch: ++this.#epochs, ready: false, expected: undefined, start: undefined });
      this.#queue.dropLane(lane);
      this.#halt(lane, error);
      return;
    }
    const { topic, partition } = fromPartitionKey(lane);
    this.#logger.warn(
      { topic, partition, err: error },
      'transaction failed; restoring the partition from the target',
    );
    this.#queue.dropLane(lane);
    this.#tracker.drop(lane);
    this.#restoring(topic, partition, 'failed', state.start);
  }

  #restoring(
    topic: string,
    partition: number,
    reason: 'assigned' | 'failed',
    rewind: number | undefined,
  ): void {
    this.#restore(topic, partition, reason, rewind).catch((error: unknown) =>
      this.#logger.error({ topic, partition, err: error }, 'partition restore failed'),
    );
  }

  /** The consumer crashed (it restarts and rejoins by itself): not assigned until it has. */
  onCrash(): void {
    this.#joined = false;
  }

  /** A rebalance started: commit what is acknowledged before partitions move to other instances. */
  onRebalancing(): void {
    void this.commit();
  }

  /** Commits every watermark that moved. Never throws (a failed commit is retried next time). */
  async commit(): Promise<void> {
    const moved = this.#tracker.uncommitted();
    if (moved.length === 0) return;
    const offsets = moved.map(([lane, offset]) => ({ ...fromPartitionKey(lane), offset }));
    try {
      const acknowledged = await this.#source.commit(offsets);
      // As Kafka's ConsumerCoordinator (OffsetCommitResponseHandler): an offset counts as
      // committed only once the coordinator answered it without error. kafkajs returns without
      // sending anything while its consumer is not running; what was not acknowledged stays
      // uncommitted and goes with the next commit.
      const done = new Set(acknowledged.map((o) => `${partitionKey(o.topic, o.partition)}\u0000${o.offset}`));
      let missed = 0;
      for (const [lane, offset] of moved) {
        if (done.has(`${lane}\u0000${offset}`)) this.#tracker.markCommitted(lane, offset);
        else missed++;
      }
      if (missed > 0) {
        const error = new CommitNotAcknowledgedError(missed);
        this.#metrics.error('source', error.code);
        this.#logger.warn(
          { err: error, partitions: missed },
          'commit to source group not acknowledged; will retry',
        );
      } else this.#logger.debug({ partitions: offsets.length }, 'committed watermarks');
    } catch (error) {
      this.#metrics.error('source', errorCode(error));
      this.#logger.warn({ err: error }, 'commit to source group failed; will retry');
    }
  }

  /**
   * Graceful stop: no more fetching, the queue drains (every admitted batch is written), the
   * final watermarks are committed. Rejects if that takes longer than `timeoutMs`; what was not
   * committed is replayed by the next run (duplicates, never loss).
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#state === FlowState.STOPPED) return;
    this.#state = FlowState.DRAINING;
    this.#metrics.state(this.exportedState);
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#refreshRetry);
    // Fetching is paused, not stopped, until the final commit: kafkajs cannot commit once its
    // consumer has stopped ("Consumer group was not initialized"), which lost the last watermarks.
    const drain = (async () => {
      await this.#refreshing;
      this.#source.pauseAll();
      await this.#queue.onIdle();
      this.#queue.close();
      await this.#transactional?.flush();
      await new Promise((resolve) => setImmediate(resolve)); // the commits' completions run first
      await this.commit();
      await this.#source.stopFetching();
    })();
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([drain.then(() => 'drained' as const), timeout]);
    this.#state = FlowState.STOPPED;
    this.#metrics.state(this.exportedState);
    if (outcome === 'timeout') {
      this.#queue.close();
      await this.#source.stopFetching();
      throw new Error(`flow ${this.config.name} did not drain within ${timeoutMs} ms`);
    }
  }

  async #write(item: WriteItem): Promise<void> {
    const lane = partitionKey(item.sourceTopic, item.sourcePartition);
    const source = { topic: item.sourceTopic, partition: item.sourcePartition, next: item.ticket.nextOffset };
    const limiter = this.#limiter;
    const throttle = limiter === undefined ? undefined : () => limiter.take(item.payload);
    const target = this.#target;
    if (target.delivery === 'at-least-once') {
      // Called as the queue starts the item, before any wait: a pipelined writer numbers a lane's
      // chunks in this order, then waits for the bandwidth cap.
      await target.write(item.topic, item.partition, item.records, source, throttle);
      this.#tracker.complete(item.ticket);
      this.#metrics.writtenAt(item.kind, item.sourceTopic, item.records.timestamps, item.payload);
      if (item.kind === 'data') this.stats.recordsWritten += item.records.count;
      return;
    }
    const stale = () => this.#lanes.get(lane)?.epoch !== item.epoch;
    if (stale()) return; // restored since
    await throttle?.();
    // Again after the wait: a chunk of an older epoch must never reach the lane's new transaction.
    if (stale()) return;
    const written = await target.write(item.topic, item.partition, item.records, source);
    this.#onCommit(written.committed, lane, item.epoch, {
      ...item,
      records: item.records.timestamps,
    });
  }

  /**
   * Exactly-once: completes the chunk when its transaction commits. Until then only the records'
   * timestamps are kept: the records were sent, and holding them would put memory outside the
   * queue's budget (a separate method, so no closure here can keep the WriteItem alive).
   */
  #onCommit(
    committed: Promise<void>,
    lane: string,
    epoch: number,
    chunk: Pick<WriteItem, 'kind' | 'sourceTopic' | 'payload' | 'ticket'> & { records: Float64Array },
  ): void {
    const { kind, sourceTopic, payload, ticket, records: timestamps } = chunk;
    committed.then(
      () => {
        this.#tracker.complete(ticket);
        this.#metrics.writtenAt(kind, sourceTopic, timestamps, payload);
        if (kind === 'data') this.stats.recordsWritten += timestamps.length;
      },
      (error: unknown) => this.#laneFailed(lane, epoch, error),
    );
  }

  /** The reader fetched a batch that failed its check: the partition halts before it. */
  onCorruptBatch(error: CorruptRecordBatchError): void {
    const lane = partitionKey(error.topic, error.partition);
    // Halted once (not per fetch in flight), but paused every time: an exactly-once restore may
    // have resumed it meanwhile.
    if (this.stats.halted.has(lane)) this.#source.pause(error.topic, error.partition);
    else this.#halt(lane, error);
  }

  #halt(lane: string, error: unknown): void {
    const { topic, partition } = fromPartitionKey(lane);
    const reason = error instanceof Error ? error.message : String(error);
    this.stats.halted.set(lane, reason);
    this.#metrics.state(this.exportedState);
    this.#source.pause(topic, partition);
    this.#logger.error(
      { topic, partition, err: error, committedUpTo: this.#tracker.watermark(lane) },
      error instanceof TargetTopicMissingError
        ? 'partition halted: the target topic was deleted; nothing past it will be committed'
        : error instanceof CorruptRecordBatchError
          ? 'partition halted: a fetched record batch is corrupt; nothing past it will be committed'
          : error instanceof TransactionRejectedError
            ? 'partition halted: the target refused its transaction; nothing past it will be committed'
            : 'partition halted: the target refused a record; nothing past it will be committed',
    );
  }
}
