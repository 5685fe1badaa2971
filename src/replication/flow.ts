import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, FlowConfig } from '../config/index.ts';
import { ControlConflictError, DrainTimeoutError, InvalidArgumentError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics, type ExportedFlowState, type FlowMetrics } from '../observability/metrics.ts';
import type { CorruptRecordBatchError } from '../errors/index.ts';
import { BatchIntake, type IntakeHost } from './batch-intake.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { Chunker, chunkLimits, type WriteItem, type WrittenChunk } from './chunker.ts';
import { ExactlyOnceLanes, type LaneHost } from './exactly-once-lanes.ts';
import { OffsetTracker } from './offset-tracker.ts';
import { PartitionHalts, type HaltHost, type ResumedPartition } from './partition-halts.ts';
import {
  fromPartitionKey,
  partitionKey,
  type FetchedBatch,
  type FlowSource,
  type Target,
  type TopicPartition,
} from './ports.ts';
import type { AclSync } from './acl-sync.ts';
import { RateLimiter } from './rate-limiter.ts';
import { remoteTopicOf } from './topic-selection.ts';
import type { ConfigRefusal } from './config-sync.ts';
import { TopicRefresh } from './topic-refresh.ts';
import { commitWatermarks } from './watermark-commit.ts';
import type { TopicCatalog } from './topic-sync.ts';

export const FlowState = {
  STARTING: 'starting',
  RUNNING: 'running',
  /** An operator paused fetching (POST /control/): what is queued is still written and committed. */
  PAUSED: 'paused',
  DRAINING: 'draining',
  STOPPED: 'stopped',
} as const;
export type FlowState = (typeof FlowState)[keyof typeof FlowState];

export interface FlowStats {
  recordsWritten: number;
  /**
   * Records not written on purpose, by reason (`loop`: the target cluster already has them;
   * `replayed`: exactly-once, the target's committed position is past them).
   */
  skipped: { loop: number; replayed: number };
  halted: Map<string, string>;
}

/**
 * One direction of replication, `source -> target`: batches from the reader are stamped with
 * provenance and cut into chunks (chunker.ts) that go into the bounded queue (batch-intake.ts); the
 * writer drains each partition's lane in order; the tracker turns acknowledgements into the
 * watermark that is committed to the source group. Exactly-once flows write in transactions of lanes restored from
 * the target (exactly-once-lanes.ts), chosen by the target's `delivery`.
 */
export class Flow {
  readonly config: FlowConfig;
  readonly stats: FlowStats;
  readonly #logger: Logger;
  readonly #source: FlowSource;
  readonly #target: Target;
  /** Set in exactly-once mode. */
  readonly #lanes: ExactlyOnceLanes | undefined;
  readonly #queue: BoundedQueue<WriteItem>;
  readonly #tracker = new OffsetTracker();
  #commits: NodeJS.Timeout | undefined;
  #state: FlowState = FlowState.STARTING;
  readonly #topics: TopicRefresh;
  readonly #aliases: readonly string[];
  readonly #metrics: FlowMetrics;
  readonly #limiter: RateLimiter | undefined;
  readonly #heartbeatTopic: string | undefined;
  #assigned: readonly TopicPartition[] = [];
  /** In the source group with an assignment (false before the first join and after a consumer crash). */
  #joined = false;
  readonly #halts: PartitionHalts;
  /** Fetched batches into the queue (batch-intake.ts). */
  readonly #intake: BatchIntake;

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
    /** Topic ACL sync, run after each topic refresh pass (`aclSync.enabled`). */
    aclSync?: AclSync;
    metrics?: FlowMetrics;
    logger: Logger;
  }) {
    if (init.config.delivery !== init.target.delivery)
      throw new InvalidArgumentError(
        `a flow of ${init.config.delivery} delivery needs a target of the same delivery`,
      );
    this.config = init.config;
    this.#metrics = init.metrics ?? new Metrics().flow(init.config.name);
    this.#heartbeatTopic = init.heartbeatTopic;
    this.#limiter =
      init.config.maxBytesPerSecond > 0
        ? new RateLimiter(init.config.maxBytesPerSecond, { now: Date.now, sleep: (ms) => sleep(ms) })
        : undefined;
    const identity = init.identity ?? { source: init.config.source, target: init.config.target };
    this.#aliases = init.aliases ?? [init.config.source, init.config.target];
    this.#logger = init.logger;
    this.#source = init.source;
    this.#target = init.target;
    this.#topics = new TopicRefresh({
      config: init.config,
      aliases: this.#aliases,
      catalogs: init.catalogs,
      source: init.source,
      internal: init.heartbeatTopic === undefined ? [] : [init.heartbeatTopic],
      metrics: this.#metrics,
      logger: init.logger,
      beforeResubscribe: () => this.commit(),
      acls: init.aclSync,
    });
    const { queue, producer } = init.settings;
    this.#queue = new BoundedQueue<WriteItem>({
      budget: queue,
      concurrency: producer.concurrency,
      // Exactly-once lanes too: a lane's chunks are sent in order, several in flight within its transaction.
      perLane: producer.maxInFlightPerPartition,
      worker: (_lane, item) => this.#write(item),
      onHalt: (lane, error) => this.#halt(lane, error),
    });
    this.#lanes =
      init.target.delivery === 'exactly-once'
        ? new ExactlyOnceLanes(init.target, this.#laneHost())
        : undefined;
    this.#halts = new PartitionHalts(this.#haltHost());
    this.#intake = new BatchIntake(this.#intakeHost(identity, init.settings));
    this.stats = { recordsWritten: 0, skipped: { loop: 0, replayed: 0 }, halted: this.#halts.halted };
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

  /** Remote topics whose config changes the target refuses (topic config sync; replication goes on). */
  topicConfigRefusals(): ConfigRefusal[] {
    return this.#topics.configRefusals();
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
    if (this.#state !== FlowState.STARTING) return; // closed or destroyed meanwhile: no timers
    this.#commits = setInterval(() => void this.commit(), this.config.commitIntervalMs).unref();
    this.#topics.start();
    this.#state = FlowState.RUNNING;
    this.#metrics.state(this.exportedState);
  }

  /** A topic sync pass now (new matching topics and partitions are picked up without a restart). */
  async refresh(): Promise<void> {
    return this.#topics.refresh();
  }

  /**
   * Stops fetching; the consumer keeps its group membership and assignment (no rebalance), also
   * across a rebalance something else causes. What is queued is still written and committed.
   * ControlConflictError unless running.
   */
  pause(): void {
    if (this.#state !== FlowState.RUNNING)
      throw new ControlConflictError(`flow ${this.config.name} is ${this.#state}, not running`);
    this.#state = FlowState.PAUSED;
    this.#source.pauseAll();
    this.#metrics.state(this.exportedState);
  }

  /** Fetching goes on from where it stopped (halted partitions stay halted). ControlConflictError unless paused. */
  resume(): void {
    if (this.#state !== FlowState.PAUSED)
      throw new ControlConflictError(`flow ${this.config.name} is ${this.#state}, not paused`);
    this.#state = FlowState.RUNNING;
    this.#source.resumeAll();
    this.#metrics.state(this.exportedState);
  }

  /**
   * Retries halted partitions now, without a rebalance: `only`, or every halted one. What was
   * acknowledged is committed first; the partition is then read again from there (exactly once:
   * from its position on the target). If the target still refuses, it halts again.
   */
  async resumeHalted(only?: TopicPartition): Promise<ResumedPartition[]> {
    if (this.#state !== FlowState.RUNNING && this.#state !== FlowState.PAUSED)
      throw new ControlConflictError(`flow ${this.config.name} is ${this.#state}`);
    if (only === undefined && this.stats.halted.size === 0)
      throw new ControlConflictError(`flow ${this.config.name} has no halted partition on this instance`);
    await this.commit();
    return this.#halts.resume(only);
  }

  /**
   * Called by the reader for each fetched batch; resolves once the batch is queued. Resolves
   * false when the batch was dropped because its partition is being restored (exactly-once): the
   * reader must then not move its fetch position past it. A batch without records (its fetch held
   * only transaction markers, aborted records or batches emptied by compaction) only moves the
   * watermark to where the fetch ends.
   */
  onBatch(batch: FetchedBatch, keepAlive: () => Promise<void>): Promise<boolean> {
    return this.#intake.onBatch(batch, keepAlive);
  }

  /** After a group (re)join kafkajs resumes every partition from its committed offset, so local progress is reset. */
  onAssignment(assigned: readonly TopicPartition[] = []): void {
    this.#assigned = assigned;
    this.#joined = true;
    this.#metrics.rebalanced(assigned.length);
    this.#intake.rejoined();
    // Halted partitions are retried from their committed offsets (partition-halts.ts).
    this.#halts.afterJoin();
    for (const lane of this.#tracker.partitions()) {
      this.#queue.dropLane(lane);
      this.#tracker.drop(lane);
    }
    this.#lanes?.restoreAll(assigned);
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
    await commitWatermarks(this.#tracker, this.#source, this.#metrics, this.#logger);
  }

  /**
   * Graceful stop: no more fetching, the queue drains (every admitted batch is written), the
   * final watermarks are committed. Rejects with DrainTimeoutError if that takes longer than
   * `timeoutMs`; what was not committed is replayed by the next run (duplicates, never loss).
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.#state === FlowState.STOPPED) return;
    this.#state = FlowState.DRAINING;
    this.#metrics.state(this.exportedState);
    clearInterval(this.#commits);
    const refreshed = this.#topics.close();
    // Fetching is paused, not stopped, until the final commit: kafkajs cannot commit once its
    // consumer has stopped ("Consumer group was not initialized"), which lost the last watermarks.
    const drain = (async () => {
      await refreshed;
      this.#source.pauseAll();
      await this.#queue.onIdle();
      this.#queue.close();
      await this.#lanes?.flush();
      await new Promise((resolve) => setImmediate(resolve)); // the commits' completions run first
      await this.commit();
      await this.#source.stopFetching();
    })();
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([drain.then(() => 'drained' as const), timeout]);
    this.#stopped();
    if (outcome === 'timeout') {
      this.#queue.close();
      await this.#source.stopFetching();
      throw new DrainTimeoutError(this.config.name, timeoutMs);
    }
  }

  /**
   * Stops at once: timers cleared, the queue admits nothing more, restores end; nothing is
   * drained or committed (the next run replays it). Writes under way finish in their writer, and
   * the source is its owner's to destroy. Idempotent.
   */
  destroy(): void {
    if (this.#state === FlowState.STOPPED) return;
    clearInterval(this.#commits);
    this.#topics.destroy();
    this.#queue.close();
    this.#stopped();
  }

  #stopped(): void {
    this.#state = FlowState.STOPPED;
    this.#metrics.state(this.exportedState);
    this.#lanes?.destroy();
  }

  async #write(item: WriteItem): Promise<void> {
    const source = { topic: item.sourceTopic, partition: item.sourcePartition, next: item.ticket.nextOffset };
    const limiter = this.#limiter;
    const throttle = limiter === undefined ? undefined : () => limiter.take(item.payload);
    const target = this.#target;
    if (target.delivery === 'exactly-once') return this.#lanes?.write(item, source, throttle);
    // Called as the queue starts the item, before any wait: a pipelined writer numbers a lane's
    // chunks in this order, then waits for the bandwidth cap.
    await target.write(item.topic, item.partition, item.records, source, throttle);
    const { kind, sourceTopic, payload, ticket } = item;
    this.#completed({ kind, sourceTopic, payload, ticket, timestamps: item.records.timestamps });
  }

  /** A chunk is written (exactly once: its transaction committed): the watermark may pass it. */
  #completed({ kind, sourceTopic, payload, ticket, timestamps }: WrittenChunk): void {
    this.#tracker.complete(ticket);
    this.#metrics.writtenAt(kind, sourceTopic, timestamps, payload);
    if (kind === 'data') this.stats.recordsWritten += timestamps.length;
  }

  #skipped(topic: string, reason: 'loop' | 'replayed', count: number): void {
    this.stats.skipped[reason] += count;
    this.#metrics.skipped(topic, reason, count);
  }

  /** What the halted partitions need of this flow. */
  #haltHost(): HaltHost {
    return {
      source: this.#source,
      queue: this.#queue,
      tracker: this.#tracker,
      lanes: this.#lanes,
      logger: this.#logger,
      changed: () => this.#metrics.state(this.exportedState),
    };
  }

  /** What the intake of fetched batches needs of this flow. */
  #intakeHost(
    identity: { source: string; target: string },
    { queue, producer }: Pick<Config, 'queue' | 'producer'>,
  ): IntakeHost {
    return {
      chunker: new Chunker(
        { cluster: this.config.source, sourceId: identity.source, targetId: identity.target },
        chunkLimits(queue, producer.maxRequestBytes),
      ),
      queue: this.#queue,
      tracker: this.#tracker,
      lanes: this.#lanes,
      halts: this.#halts,
      heartbeatTopic: this.#heartbeatTopic,
      remoteTopic: (topic) => this.remoteTopic(topic),
      loops: (topic, count) => this.#skipped(topic, 'loop', count),
    };
  }

  /** What the exactly-once lanes need of this flow. */
  #laneHost(): LaneHost {
    return {
      source: this.#source,
      queue: this.#queue,
      tracker: this.#tracker,
      metrics: this.#metrics,
      logger: this.#logger,
      halted: (lane: string) => this.stats.halted.has(lane),
      halt: (lane: string, error: unknown) => this.#halt(lane, error),
      completed: (chunk: WrittenChunk) => this.#completed(chunk),
      replayed: (topic: string, count: number) => this.#skipped(topic, 'replayed', count),
      closing: () => this.#state === FlowState.DRAINING || this.#state === FlowState.STOPPED,
      stopped: () => this.#state === FlowState.STOPPED,
    };
  }

  /** The reader fetched a batch that failed its check: the partition halts before it. */
  onCorruptBatch(error: CorruptRecordBatchError): void {
    this.#halts.onCorruptBatch(error, this.#tracker.watermark(partitionKey(error.topic, error.partition)));
  }

  #halt(lane: string, error: unknown): void {
    this.#halts.halt(lane, error, this.#tracker.watermark(lane));
  }
}
