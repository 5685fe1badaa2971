// Continuous topic configuration sync of a flow (MirrorMaker 2's sync.topic.configs.enabled): at
// every topic refresh, the configs each replicated source topic sets itself are compared with its
// remote topic's, and the differences are applied to the remote topic with IncrementalAlterConfigs
// (one SET or DELETE per config; nothing else of the topic is touched).
//
// What wins, per config of a remote topic (docs/operations.md, Topic configuration sync):
// - a config the source topic sets, not excluded: the source's value (SET when they differ);
// - an excluded config: whatever the target has; never read, set or removed;
// - a config the source topic does not set: left alone, unless this process set it (at creation
//   or by an earlier SET) and the target still has the value it set; then it is removed (DELETE),
//   so the remote topic falls back to the target's default as the source did. MirrorMaker 2
//   deletes every such config, also one an operator set on the target by hand; kafka-mirror cannot
//   tell those apart after a restart, so what an earlier process set is left too.
import type { FlowConfig } from '../config/index.ts';
import { TopicConfigRefusedError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { FlowMetrics } from '../observability/metrics.ts';
import { ConfigOperation, type AlterableConfig } from '../protocol/incremental-alter-configs.ts';

/** A remote topic's answer to a change of its configs: null when applied. */
export type TopicConfigAnswer = null | { readonly error: string; readonly message: string | null };

/** What topic config sync needs of a cluster (implemented by kafka/topic-admin.ts). */
export interface TopicConfigCatalog {
  /**
   * Per topic, the configs it sets itself (DescribeConfigs source DYNAMIC_TOPIC_CONFIG), no
   * defaults. A topic the cluster refuses to describe is left out, its error put in `refused`.
   */
  topicOverrides(
    topics: readonly string[],
    refused?: Map<string, NonNullable<TopicConfigAnswer>>,
  ): Promise<Map<string, Record<string, string>>>;
  /** IncrementalAlterConfigs: each topic's changes together; every topic's answer. */
  alterTopicConfigs(
    changes: ReadonlyMap<string, readonly AlterableConfig[]>,
  ): Promise<Map<string, TopicConfigAnswer>>;
}

/** One change of one config of a remote topic. */
export interface ConfigChange extends AlterableConfig {
  /** The remote topic's value before (undefined: not set on the topic). */
  readonly from: string | undefined;
}

/** A config name is excluded when one pattern matches it whole (as MirrorMaker 2's Pattern.matches). */
export function configFilter(exclude: readonly string[]): (name: string) => boolean {
  const patterns = exclude.map((p) => new RegExp(`^(?:${p})$`));
  return (name) => !patterns.some((re) => re.test(name));
}

/**
 * The changes that bring a remote topic's configs in step with its source topic's: a SET for every
 * config the source sets (and `synced` allows) that the target has not at that value, a DELETE for
 * every config `ours` says this process set that the source no longer sets, if the target still
 * has the value set then (else an operator changed it since, and it is theirs).
 */
export function configChanges(
  source: Readonly<Record<string, string>>,
  target: Readonly<Record<string, string>>,
  synced: (name: string) => boolean,
  ours: ReadonlyMap<string, string> = new Map(),
): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const [name, value] of Object.entries(source))
    if (synced(name) && target[name] !== value)
      changes.push({ name, operation: ConfigOperation.SET, value, from: target[name] });
  for (const [name, value] of ours)
    if (synced(name) && source[name] === undefined && target[name] === value)
      changes.push({ name, operation: ConfigOperation.DELETE, value: null, from: value });
  return changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A remote topic whose configs the target refuses to change, as /status shows it. */
export interface ConfigRefusal {
  readonly topic: string;
  readonly remoteTopic: string;
  readonly error: string;
  readonly message: string | null;
  readonly configs: readonly string[];
  /** When the refusal began (ISO 8601). */
  readonly since: string;
}

/** A replicated source topic and its remote topic. */
export type TopicPair = readonly [topic: string, remoteTopic: string];

export class TopicConfigSync {
  readonly #config: FlowConfig['topicConfigSync'];
  readonly #synced: (name: string) => boolean;
  readonly #logger: Logger;
  readonly #metrics: FlowMetrics;
  /** Remote topic -> the configs this process set on it, with the value set. */
  readonly #ours = new Map<string, Map<string, string>>();
  /** Remote topic -> its refusal, while it lasts (logged when it begins and when it ends). */
  readonly #refused = new Map<string, ConfigRefusal>();
  /** A pass failed (logged once until one succeeds). */
  #failing = false;

  constructor(config: FlowConfig['topicConfigSync'], logger: Logger, metrics: FlowMetrics) {
    this.#config = config;
    this.#synced = configFilter(config.exclude);
    this.#logger = logger;
    this.#metrics = metrics;
    if (!config.enabled) return;
    metrics.topicConfigSyncRefusedTopics(0);
    metrics.topicConfigSyncs('applied', 0);
    metrics.topicConfigSyncs('refused', 0);
  }

  /** The remote topics whose configs the target refuses to change now. */
  refusals(): ConfigRefusal[] {
    return [...this.#refused.values()];
  }

  /** A remote topic this process created with these configs: they are its to remove later. */
  created(remoteTopic: string, configs: Readonly<Record<string, string>>): void {
    if (!this.#config.enabled) return;
    this.#ours.set(remoteTopic, new Map(Object.entries(configs)));
  }

  /**
   * Brings every pair's remote topic configs in step with its source topic. Never rejects: a
   * failure (a cluster unreachable) is logged once until a pass succeeds, and retried next refresh.
   */
  async pass(pairs: readonly TopicPair[], source: TopicConfigCatalog, target: TopicConfigCatalog) {
    if (!this.#config.enabled) return;
    try {
      await this.#pass(pairs, source, target);
      if (this.#failing) this.#logger.info('topic config sync works again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing)
        this.#logger.warn({ err: error }, 'topic config sync failed; will retry at every refresh');
      this.#failing = true;
    }
  }

  async #pass(pairs: readonly TopicPair[], source: TopicConfigCatalog, target: TopicConfigCatalog) {
    const remotes = new Set(pairs.map(([, remote]) => remote));
    for (const remote of this.#refused.keys()) if (!remotes.has(remote)) this.#refused.delete(remote);
    if (pairs.length === 0) return this.#gauge();
    const undescribed = new Map<string, NonNullable<TopicConfigAnswer>>();
    const [wanted, current] = await Promise.all([
      source.topicOverrides(pairs.map(([topic]) => topic)),
      target.topicOverrides([...remotes], undescribed),
    ]);
    const changes = new Map<string, ConfigChange[]>();
    const topicOf = new Map<string, string>();
    for (const [topic, remote] of pairs) {
      const [from, to] = [wanted.get(topic), current.get(remote)];
      // Not described (deleted meanwhile, DESCRIBE_CONFIGS refused): unknown, never "sets nothing".
      // The target refusing to describe its topic is reported like a refused change.
      const refusal = undescribed.get(remote);
      if (from !== undefined && refusal !== undefined) this.#refusal(topic, remote, [], refusal);
      if (from === undefined || to === undefined) continue;
      const found = configChanges(from, to, this.#synced, this.#ours.get(remote));
      topicOf.set(remote, topic);
      if (found.length > 0) changes.set(remote, found);
      else this.#cleared(remote);
    }
    const answers = changes.size > 0 ? await target.alterTopicConfigs(changes) : new Map();
    for (const [remote, list] of changes) {
      const answer = answers.get(remote) as TopicConfigAnswer | undefined;
      const topic = topicOf.get(remote) ?? remote;
      if (answer === null) this.#applied(topic, remote, list);
      else this.#refusal(topic, remote, list, answer ?? { error: 'NO_ANSWER', message: null });
    }
    this.#gauge();
  }

  #applied(topic: string, remote: string, changes: readonly ConfigChange[]): void {
    let ours = this.#ours.get(remote);
    if (ours === undefined) this.#ours.set(remote, (ours = new Map()));
    for (const { name, value, from } of changes) {
      if (value === null) ours.delete(name);
      else ours.set(name, value);
      this.#logger.info(
        { topic, remoteTopic: remote, config: name, from: from ?? null, to: value },
        value === null ? 'topic config removed on the remote topic' : 'topic config set on the remote topic',
      );
    }
    this.#metrics.topicConfigSyncs('applied', changes.length);
    this.#cleared(remote);
  }

  #refusal(
    topic: string,
    remote: string,
    changes: readonly ConfigChange[],
    answer: { readonly error: string; readonly message: string | null },
  ): void {
    this.#metrics.topicConfigSyncs('refused', changes.length);
    const configs = changes.map((c) => c.name);
    const earlier = this.#refused.get(remote);
    if (earlier?.error === answer.error && earlier.configs.join() === configs.join()) return;
    this.#refused.set(remote, {
      topic,
      remoteTopic: remote,
      error: answer.error,
      message: answer.message,
      configs,
      since: earlier?.since ?? new Date().toISOString(),
    });
    const err = new TopicConfigRefusedError(remote, answer.error, answer.message, configs);
    this.#logger.warn(
      { topic, remoteTopic: remote, configs, err },
      'target refuses topic config changes; replication goes on, retried at every refresh',
    );
  }

  #cleared(remote: string): void {
    const refusal = this.#refused.get(remote);
    if (refusal === undefined) return;
    this.#refused.delete(remote);
    this.#logger.info(
      { topic: refusal.topic, remoteTopic: remote, refusedSince: refusal.since },
      'remote topic configs in step again',
    );
  }

  #gauge(): void {
    this.#metrics.topicConfigSyncRefusedTopics(this.#refused.size);
  }
}
