// One look at a cluster: can it be reached, what is its id, how many brokers, which topics. Used
// at start (before any flow connects), while a cluster is unreachable (one probe per retry) and by
// `kafka-mirror plan`. Reads only.
import type { ClusterConfig } from '../config/index.ts';
import { ClusterNoAnswerError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { createClient } from './client.ts';

export interface ClusterAnswer {
  readonly clusterId: string;
  /** Brokers registered in the cluster now. */
  readonly brokers: number;
  /** Every topic with its partition count, when asked for. */
  readonly topics: Map<string, number> | undefined;
}

/**
 * Connects once to each bootstrap broker in turn until one answers (kafkajs rotates its seed
 * broker on every retry), asks for the cluster id and brokers (and topics), then disconnects.
 * Rejects with kafkajs's error, or after `connectionTimeoutMs` x (brokers + 2) without an answer
 * (ClusterNoAnswerError).
 */
export async function probeCluster(
  cluster: ClusterConfig,
  logger: Logger,
  options: { requestTimeoutMs: number; withTopics?: boolean },
): Promise<ClusterAnswer> {
  const attempts = cluster.bootstrapServers.length;
  const admin = createClient(cluster, logger, options.requestTimeoutMs, {
    retries: attempts - 1,
    initialRetryTime: 100,
    maxRetryTime: 1000,
  }).admin();
  const limitMs = cluster.connectionTimeoutMs * (attempts + 2);
  let timer: NodeJS.Timeout | undefined;
  // A broker that accepts the connection and never answers gives no error: a timeout of our own.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterNoAnswerError(limitMs)), limitMs);
  });
  try {
    const look = (async (): Promise<ClusterAnswer> => {
      await admin.connect();
      const { clusterId, brokers } = await admin.describeCluster();
      let topics: Map<string, number> | undefined;
      if (options.withTopics === true) {
        const names = await admin.listTopics();
        const { topics: found } =
          names.length === 0 ? { topics: [] } : await admin.fetchTopicMetadata({ topics: names });
        topics = new Map(found.map((t) => [t.name, t.partitions.length]));
      }
      return { clusterId, brokers: brokers.length, topics };
    })();
    return await Promise.race([look, deadline]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => {});
  }
}
