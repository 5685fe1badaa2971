import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { kafkajs } from './kafkajs.ts';

const { ConfigResourceTypes } = kafkajs;

/** Topic operations the topic synchroniser needs, on one cluster. Never deletes anything. */
export class TopicAdmin {
  readonly #admin: Admin;

  constructor(kafka: KafkaClient) {
    this.#admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.#admin.connect();
  }

  async disconnect(): Promise<void> {
    await this.#admin.disconnect();
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
        // isDefault is true for values inherited from broker defaults; only copy what the topic sets.
        if (!entry.isDefault && allowed.includes(entry.configName) && entry.configValue !== null) {
          entries[entry.configName] = entry.configValue;
        }
      }
      out.set(resource.resourceName, entries);
    }
    return out;
  }

  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<void> {
    await this.#admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: name,
          numPartitions: partitions,
          replicationFactor,
          configEntries: Object.entries(configs).map(([configName, value]) => ({ name: configName, value })),
        },
      ],
    });
  }

  async addPartitions(name: string, count: number): Promise<void> {
    await this.#admin.createPartitions({ topicPartitions: [{ topic: name, count }] });
  }
}
