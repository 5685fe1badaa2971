// What `kafka-mirror plan` learns from the clusters before anything runs: their ids, brokers and
// topics. Reads only.
import type { Config } from '../config/index.ts';
import { ClusterIdentityError } from '../errors/index.ts';
import { probeCluster } from '../kafka/cluster-probe.ts';
import { connectCause } from '../kafka/connect-cause.ts';
import type { Logger } from '../observability/logger.ts';

/** What `kafka-mirror plan` learns from the clusters. */
export interface ClusterInspection {
  /** Cluster id of every alias that answered. */
  readonly ids: Map<string, string>;
  /** Topics and partition counts, undefined for a cluster that did not answer. */
  readonly topics: Map<string, Map<string, number> | undefined>;
  /** Brokers of every cluster that answered. */
  readonly brokers: Map<string, number>;
  /** Why each cluster that did not answer could not be reached. */
  readonly causes: Map<string, string>;
}

/**
 * For `kafka-mirror plan`: asks every cluster once, at the same time (probeCluster), for its
 * cluster id, brokers and topics with their partition counts. Reads only. Refuses two aliases for
 * one cluster (ClusterIdentityError).
 */
export async function inspectClusters(config: Config, logger: Logger): Promise<ClusterInspection> {
  const ids = new Map<string, string>();
  const topics = new Map<string, Map<string, number> | undefined>();
  const brokers = new Map<string, number>();
  const causes = new Map<string, string>();
  await Promise.all(
    Object.values(config.clusters).map(async (cluster) => {
      try {
        const answer = await probeCluster(cluster, logger, {
          requestTimeoutMs: config.producer.requestTimeoutMs,
          withTopics: true,
        });
        ids.set(cluster.alias, answer.clusterId);
        topics.set(cluster.alias, answer.topics);
        brokers.set(cluster.alias, answer.brokers);
      } catch (error) {
        const cause = connectCause(error).text;
        logger.warn({ cluster: cluster.alias, cause }, 'cluster unreachable');
        topics.set(cluster.alias, undefined);
        causes.set(cluster.alias, cause);
      }
    }),
  );
  const byId = new Map<string, string[]>();
  for (const [alias, id] of ids) byId.set(id, [...(byId.get(id) ?? []), alias]);
  for (const [id, aliases] of byId)
    if (aliases.length > 1) throw new ClusterIdentityError(id, aliases.sort());
  return { ids, topics, brokers, causes };
}
