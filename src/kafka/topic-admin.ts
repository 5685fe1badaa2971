import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { InternalInvariantError, MetadataUnavailableError } from '../errors/index.ts';
import type { AlterableConfig } from '../protocol/incremental-alter-configs.ts';
import type { TopicConfigAnswer } from '../replication/config-sync.ts';
import type { TopicCreation } from '../replication/topic-sync.ts';
import { alterTopicConfigs, type AdminCluster } from './alter-configs.ts';
import { isTopicAlreadyExists, protocolErrorType } from './client.ts';
import { kafkajs } from './kafkajs/index.ts';
import { clusterOf } from './raw-client.ts';

const { ConfigResourceTypes } = kafkajs;
/** kafkajs's Cluster, as alter-configs.ts uses it, with its connections. */
type OwnCluster = AdminCluster & { connect(): Promise<void>; disconnect(): Promise<void> };
/** DescribeConfigs config_source of a config set on the topic itself (DYNAMIC_TOPIC_CONFIG). */
const TOPIC_CONFIG = 1;

/** Topic, offset and group operations of the topic synchroniser, lag and offset sync, on one cluster. Never deletes anything. */
export class TopicAdmin {
  readonly #admin: Admin;
  readonly #kafka: KafkaClient;
  /** A cluster object of the client for the requests kafkajs's admin lacks; made at first use. */
  #cluster: OwnCluster | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(kafka: KafkaClient) {
    this.#kafka = kafka;
    this.#admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.#admin.connect();
  }

  /**
   * Disconnects. Nothing is drained: every request is awaited by its caller, who is told by its
   * rejection. Idempotent.
   */
  close(): Promise<void> {
    return this.destroy();
  }

  /** Disconnects at once: requests in flight reject. Idempotent. */
  destroy(): Promise<void> {
    this.#destroyed ??= Promise.all([this.#admin.disconnect(), this.#cluster?.disconnect()]).then(
      () => undefined,
    );
    return this.#destroyed;
  }

  async clusterId(): Promise<string> {
    return (await this.#admin.describeCluster()).clusterId;
  }

  /** Every topic with its partition count. */
  async partitionCounts(): Promise<Map<string, number>> {
    const names = await this.#admin.listTopics();
    if (names.length === 0) return new Map();
    const { topics } = await this.#admin.fetchTopicMetadata({ topics: names });
    return new Map(topics.map((t) => [t.name, t.partitions.length]));
  }

  /** Configs of these topics that are set on the topic itself (not broker defaults), limited to `allowed`. */
  async topicConfigs(
    topics: readonly string[],
    allowed: readonly string[],
  ): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    if (topics.length === 0) return out;
    const { resources } = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...allowed] })),
    });
    for (const resource of resources) {
      const entries: Record<string, string> = {};
      for (const entry of resource.configEntries) {
        // Only what the topic sets itself: not the brokers' static or dynamic defaults (their
        // config_source differs, while kafkajs's isDefault is false for them too).
        if (
          entry.configSource === TOPIC_CONFIG &&
          allowed.includes(entry.configName) &&
          entry.configValue !== null
        ) {
          entries[entry.configName] = entry.configValue;
        }
      }
      out.set(resource.resourceName, entries);
    }
    return out;
  }

  /**
   * Per topic, every config it sets itself (DescribeConfigs config_source DYNAMIC_TOPIC_CONFIG), no
   * defaults. A topic the cluster refuses to describe (deleted meanwhile, no DESCRIBE_CONFIGS) is
   * left out, with Kafka's error in `refused`: kafkajs fails a whole request for one topic's error,
   * which is then asked again topic by topic.
   */
  async topicOverrides(
    topics: readonly string[],
    refused?: Map<string, NonNullable<TopicConfigAnswer>>,
  ): Promise<Map<string, Record<string, string>>> {
    try {
      return await this.#overrides(topics);
    } catch (error) {
      const kafkaError = protocolErrorType(error);
      if (kafkaError === undefined) throw error;
      if (topics.length === 1) {
        refused?.set(topics[0] as string, { error: kafkaError, message: null });
        return new Map();
      }
    }
    const out = new Map<string, Record<string, string>>();
    for (const topic of topics)
      for (const entry of await this.topicOverrides([topic], refused)) out.set(...entry);
    return out;
  }

  async #overrides(topics: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    if (topics.length === 0) return out;
    const { resources } = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    });
    for (const resource of resources) {
      const entries: Record<string, string> = {};
      for (const entry of resource.configEntries)
        if (entry.configSource === TOPIC_CONFIG && entry.configValue !== null)
          entries[entry.configName] = entry.configValue;
      out.set(resource.resourceName, entries);
    }
    return out;
  }

  /** IncrementalAlterConfigs of topics (alter-configs.ts): each topic's changes, every topic's answer. */
  async alterTopicConfigs(
    changes: ReadonlyMap<string, readonly AlterableConfig[]>,
  ): Promise<Map<string, TopicConfigAnswer>> {
    if (this.#destroyed !== undefined) throw new InternalInvariantError('the topic admin is destroyed');
    let cluster = this.#cluster;
    if (cluster === undefined) {
      cluster = clusterOf<OwnCluster>(this.#kafka);
      this.#cluster = cluster;
      await cluster.connect();
    }
    return alterTopicConfigs(cluster, changes);
  }

  /**
   * Creates a topic and waits (up to `timeoutMs`) until every partition has a leader; `exists` when
   * the topic was there already (another instance created it first), which is no failure. kafkajs's
   * own `waitForLeaders` gives up when a broker whose metadata is behind (KRaft propagates it
   * asynchronously) answers UNKNOWN_TOPIC_OR_PARTITION, so the wait is done here.
   */
  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    timeoutMs = 30_000,
  ): Promise<TopicCreation> {
    let creation: TopicCreation;
    try {
      // kafkajs 2.2.4 resolves false when Kafka answered TOPIC_ALREADY_EXISTS for every topic of
      // the request (admin/index.js, createTopics), true when it created them.
      const created = await this.#admin.createTopics({
        waitForLeaders: false,
        topics: [
          {
            topic: name,
            numPartitions: partitions,
            replicationFactor,
            configEntries: Object.entries(configs).map(([configName, value]) => ({
              name: configName,
              value,
            })),
          },
        ],
      });
      creation = created ? 'created' : 'exists';
    } catch (error) {
      if (!isTopicAlreadyExists(error)) throw error;
      creation = 'exists';
    }
    await waitForLeaders(this.#admin, name, partitions, timeoutMs);
    return creation;
  }

  async addPartitions(name: string, count: number): Promise<void> {
    await this.#admin.createPartitions({ topicPartitions: [{ topic: name, count }] });
  }

  async watermarks(topic: string): Promise<Array<{ partition: number; low: number; high: number }>> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  }

  /** Per partition, the first offset whose timestamp is at or after `timestamp` (the log end if none). */
  async offsetsAt(topic: string, timestamp: number): Promise<Map<number, number>> {
    const offsets = await this.#admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
    return new Map(offsets.map((o) => [o.partition, Number(o.offset)]));
  }

  async topicExists(topic: string): Promise<boolean> {
    return (await this.#admin.listTopics()).includes(topic);
  }

  /** The topics among `topics` for which `group` has a committed offset on some partition. */
  async committedTopics(group: string, topics: readonly string[]): Promise<Set<string>> {
    if (topics.length === 0) return new Set();
    const committed = await this.committed(group, topics);
    return new Set(committed.filter((c) => c.offset >= 0).map((c) => c.topic));
  }

  /** Every consumer group id (those of consumers and those that only commit offsets). */
  async groups(): Promise<string[]> {
    return (await this.#admin.listGroups()).groups.map((g) => g.groupId);
  }

  /** Members of the group that are connected now (0 for an empty or unknown group). */
  async activeMembers(group: string): Promise<number> {
    const [described] = (await this.#admin.describeGroups([group])).groups;
    return described === undefined || described.state === 'Empty' || described.state === 'Dead'
      ? 0
      : Math.max(1, described.members.length);
  }

  async committed(
    group: string,
    topics: readonly string[],
  ): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    const answer = await this.#admin.fetchOffsets({ groupId: group, topics: [...topics] });
    return answer.flatMap(({ topic, partitions }) =>
      partitions.map((p) => ({ topic, partition: p.partition, offset: Number(p.offset) })),
    );
  }
}

/** Polls metadata until `partitions` partitions of `topic` have a leader; throws after `timeoutMs`. */
export async function waitForLeaders(
  admin: Admin,
  topic: string,
  partitions: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const led = topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
      if (led >= partitions) return;
      last = `${led} of ${partitions} partitions have a leader`;
    } catch (error) {
      last = error; // UNKNOWN_TOPIC_OR_PARTITION until the broker's metadata catches up
    }
    await sleep(100);
  }
  throw new MetadataUnavailableError(
    `topic ${topic} has no leader for every partition after ${timeoutMs} ms: ${String(last)}`,
    last,
  );
}
