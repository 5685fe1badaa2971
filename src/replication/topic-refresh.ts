// A flow's topic sync over time: a pass at start and every refresh interval (topic-sync.ts), the
// source's subscription following what it finds ready, and a failed pass retried within seconds.
// Each pass ends with topic config sync (config-sync.ts) of the topics found ready.
import type { FlowConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { FlowMetrics } from '../observability/metrics.ts';
import type { AclSync } from './acl-sync.ts';
import { backoffMs } from './backoff.ts';
import { TopicConfigSync, type ConfigRefusal } from './config-sync.ts';
import type { FlowSource } from './ports.ts';
import { remoteTopicOf } from './topic-selection.ts';
import { syncTopics, type TopicCatalog } from './topic-sync.ts';

export class TopicRefresh {
  readonly #config: FlowConfig;
  readonly #aliases: readonly string[];
  readonly #catalogs: { readonly source: TopicCatalog; readonly target: TopicCatalog };
  readonly #source: Pick<FlowSource, 'topics' | 'setTopics'>;
  readonly #internal: readonly string[];
  readonly #metrics: FlowMetrics;
  readonly #logger: Logger;
  readonly #beforeResubscribe: () => Promise<void>;
  readonly #acls: Pick<AclSync, 'sync'> | undefined;
  /** The ACL sync under way, if any. */
  #aclRun: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  #interval: NodeJS.Timeout | undefined;
  /** Failed passes in a row: the next is retried sooner than the refresh interval. */
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #partitionCounts = new Map<string, number>();
  /** Remote topics topic sync reported deleted (logged once each, not at every pass). */
  readonly #deletedRemotes = new Set<string>();
  readonly #configSync: TopicConfigSync;
  #closed = false;

  constructor(init: {
    config: FlowConfig;
    aliases: readonly string[];
    catalogs: { readonly source: TopicCatalog; readonly target: TopicCatalog };
    source: Pick<FlowSource, 'topics' | 'setTopics'>;
    /** The daemon's internal topics the flow copies under their own name (heartbeats). */
    internal: readonly string[];
    metrics: FlowMetrics;
    logger: Logger;
    /** Called before the subscription changes (the flow commits what it has). */
    beforeResubscribe: () => Promise<void>;
    /** Topic ACL sync, when the flow has it enabled: after each pass, over the ready topics. */
    acls?: Pick<AclSync, 'sync'>;
  }) {
    this.#config = init.config;
    this.#aliases = init.aliases;
    this.#catalogs = init.catalogs;
    this.#source = init.source;
    this.#internal = init.internal;
    this.#metrics = init.metrics;
    this.#logger = init.logger;
    this.#beforeResubscribe = init.beforeResubscribe;
    this.#configSync = new TopicConfigSync(init.config.topicConfigSync, init.logger, init.metrics);
    this.#acls = init.acls;
  }

  /** Remote topics whose config changes the target refuses now (topic config sync). */
  configRefusals(): ConfigRefusal[] {
    return this.#configSync.refusals();
  }

  /** A pass now, or the one under way. Never rejects: a failed pass is logged and retried. */
  refresh(): Promise<void> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** A pass every refresh interval from now on. */
  start(): void {
    if (this.#closed || this.#interval !== undefined) return;
    this.#interval = setInterval(() => void this.refresh(), this.#config.refreshIntervalMs).unref();
  }

  /** No more passes or retries; resolves once the pass under way is done. Idempotent. */
  async close(): Promise<void> {
    this.destroy();
    await this.#running;
    await this.#aclRun;
  }

  /** No more passes or retries, at once (a pass under way finishes alone). Idempotent. */
  destroy(): void {
    this.#closed = true;
    clearInterval(this.#interval);
    clearTimeout(this.#retry);
  }

  /** New matching topics and partitions are picked up here, without a restart. */
  async #pass(): Promise<void> {
    try {
      const { source, target } = this.#catalogs;
      const { ready, partitions, excluded, createdWith } = await syncTopics(
        this.#config,
        this.#aliases,
        source,
        target,
        this.#logger,
        this.#internal,
        this.#deletedRemotes,
      );
      this.#metrics.excluded(excluded);
      for (const [remote, configs] of createdWith) this.#configSync.created(remote, configs);
      const current = new Set(this.#source.topics);
      const topicsChanged = ready.length !== current.size || ready.some((t) => !current.has(t));
      const partitionsGrew = [...partitions].some(([t, n]) => (this.#partitionCounts.get(t) ?? n) < n);
      if (topicsChanged || partitionsGrew) {
        // A new subscription rebalances the group, and after it the consumer resumes from the
        // committed offsets; committing first keeps the replay (duplicates) small.
        await this.#beforeResubscribe();
        await this.#source.setTopics(ready, partitionsGrew);
      }
      // Only once the consumer follows them: a failed restart is retried by the next pass.
      this.#partitionCounts = partitions;
      this.#failures = 0;
      // Never rejects (a failure is logged; nothing of replication waits on it).
      const selected = ready.filter((topic) => !this.#internal.includes(topic));
      await this.#configSync.pass(
        selected.map((topic) => [topic, remoteTopicOf(this.#config, topic, this.#aliases)]),
        source,
        target,
      );
      this.#syncAcls(ready);
    } catch (error) {
      this.#failed(error);
    }
  }

  /**
   * Topic ACL sync over the ready topics, in the background: neither the flow's start nor the next
   * pass waits on its admin requests. One at a time (a pass while one runs skips it); never rejects.
   */
  #syncAcls(ready: readonly string[]): void {
    if (this.#acls === undefined || this.#aclRun !== undefined || this.#closed) return;
    this.#aclRun = this.#acls.sync(ready).finally(() => (this.#aclRun = undefined));
  }

  /**
   * A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS for a while, and a flow whose first pass
   * failed has no topics: retry within seconds, not a whole refresh interval.
   */
  #failed(error: unknown): void {
    this.#failures++;
    const attempt = Math.min(this.#failures, 6);
    const retryInMs = backoffMs(attempt, 500, this.#config.refreshIntervalMs, { jitter: false });
    this.#logger.error({ err: error, retryInMs }, 'topic refresh failed; will retry');
    if (this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.refresh(), retryInMs).unref();
  }
}
