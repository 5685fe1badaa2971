// Composition root: config -> clients -> flows. Owns start-up, retries of flows whose clusters
// are unreachable, progress logging and the close order. It never exits the process (cli.ts does).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from './config/index.ts';
import { ClusterIdentityError, ShutdownTimeoutError } from './errors.ts';
import { createClient } from './kafka/client.ts';
import { SourceReader } from './kafka/source-reader.ts';
import { TargetWriter } from './kafka/target-writer.ts';
import { TopicAdmin } from './kafka/topic-admin.ts';
import type { Logger } from './observability/logger.ts';
import { Flow } from './replication/flow.ts';

interface RunningFlow {
  readonly flow: Flow;
  readonly reader: SourceReader;
  readonly writer: TargetWriter;
  readonly admins: readonly TopicAdmin[];
}

export class Daemon {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #clients = new Map<string, KafkaClient>();
  readonly #running = new Map<string, RunningFlow>();
  readonly #starting = new Set<Promise<void>>();
  /** Kafka cluster id of every alias seen so far. */
  readonly #clusterIds = new Map<string, string>();
  readonly #stop = new AbortController();
  #progress: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(config: Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  /**
   * Checks that no two aliases are the same cluster (those reachable now; the others when their
   * flow connects), then starts every flow. A flow whose clusters are unreachable is retried with
   * backoff until close(). Rejects with ClusterIdentityError.
   */
  async start(): Promise<void> {
    // Bounded: an unreachable cluster must not hold up the flows of the others.
    const { ids } = await inspectClusters(this.#config, this.#logger, false);
    for (const [alias, id] of ids) this.#registerClusterId(alias, id);
    for (const flow of this.#config.flows) {
      const starting = this.#startWithRetry(flow).finally(() => this.#starting.delete(starting));
      this.#starting.add(starting);
    }
    let last = new Map<string, number>();
    let lastAt = Date.now();
    this.#progress = setInterval(() => {
      const now = Date.now();
      const memory = process.memoryUsage();
      const mib = (n: number) => Math.round(n / 2 ** 20);
      const next = new Map<string, number>();
      for (const [name, { flow }] of this.#running) {
        const written = flow.stats.recordsWritten;
        next.set(name, written);
        const rate = ((written - (last.get(name) ?? 0)) * 1000) / Math.max(1, now - lastAt);
        this.#logger.info(
          {
            flow: name,
            state: flow.state,
            recordsWritten: written,
            recordsPerSec: Math.round(rate),
            skippedLoop: flow.stats.skipped.loop,
            queued: flow.queued.records,
            queuedBytes: flow.queued.bytes,
            halted: flow.stats.halted.size,
          },
          'progress',
        );
        this.#logger.debug(
          {
            rssMiB: mib(memory.rss),
            heapTotalMiB: mib(memory.heapTotal),
            heapUsedMiB: mib(memory.heapUsed),
            externalMiB: mib(memory.external),
            arrayBuffersMiB: mib(memory.arrayBuffers),
          },
          'memory',
        );
      }
      last = next;
      lastAt = now;
    }, 5000);
    this.#progress.unref();
  }

  get flows(): readonly Flow[] {
    return [...this.#running.values()].map((r) => r.flow);
  }

  /** Graceful: every flow stops fetching, drains, commits; then clients disconnect. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const { timeoutMs } = this.#config.shutdown;
    this.#stop.abort();
    clearInterval(this.#progress);
    // A flow still connecting to an unreachable cluster must not hold the shutdown past its timeout.
    await Promise.race([Promise.allSettled(this.#starting), sleep(timeoutMs, undefined, { ref: false })]);
    const results = await Promise.allSettled([...this.#running.values()].map((r) => r.flow.close(timeoutMs)));
    const failed = results.filter((r) => r.status === 'rejected');
    await Promise.allSettled([...this.#running.values()].map((r) => this.#disconnect(r)));
    this.#running.clear();
    if (failed.length > 0) throw new ShutdownTimeoutError(timeoutMs);
  }

  async #disconnect(running: RunningFlow): Promise<void> {
    await Promise.allSettled([
      running.writer.close(),
      running.reader.disconnect(),
      ...running.admins.map((a) => a.disconnect()),
    ]);
  }

  #client(alias: string): KafkaClient {
    let client = this.#clients.get(alias);
    if (client === undefined) {
      const cluster = this.#config.clusters[alias];
      if (cluster === undefined) throw new Error(`no cluster ${alias}`);
      client = createClient(cluster, this.#logger, this.#config.producer.requestTimeoutMs);
      this.#clients.set(alias, client);
    }
    return client;
  }

  async #startWithRetry(config: FlowConfig): Promise<void> {
    const logger = this.#logger.child({ flow: config.name });
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        const running = await this.#startFlow(config, logger);
        if (this.#stop.signal.aborted) {
          await running.flow.close(this.#config.shutdown.timeoutMs).catch(() => {});
          await this.#disconnect(running);
          return;
        }
        this.#running.set(config.name, running);
        logger.info(
          { source: config.source, target: config.target, topics: running.reader.topics.length },
          'flow running',
        );
        return;
      } catch (error) {
        const delay = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
        logger.error({ err: error, retryInMs: delay }, 'flow could not start; retrying');
        await sleep(delay, undefined, { signal: this.#stop.signal }).catch(() => {});
      }
    }
  }

  #registerClusterId(alias: string, id: string): void {
    for (const [other, otherId] of this.#clusterIds) {
      if (other !== alias && otherId === id) throw new ClusterIdentityError(id, [other, alias].sort());
    }
    this.#clusterIds.set(alias, id);
  }

  async #startFlow(config: FlowConfig, logger: Logger): Promise<RunningFlow> {
    const sourceAdmin = new TopicAdmin(this.#client(config.source));
    const targetAdmin = new TopicAdmin(this.#client(config.target));
    const writer = new TargetWriter(this.#client(config.target), { ...this.#config.producer, logger });
    let flow: Flow | undefined;
    const reader = new SourceReader(
      this.#client(config.source),
      { group: config.group, startFrom: config.startFrom, consumer: this.#config.consumer, logger },
      {
        onBatch: (batch, keepAlive) => (flow as Flow).onBatch(batch, keepAlive),
        onAssignment: () => flow?.onAssignment(),
        onRebalancing: () => flow?.onRebalancing(),
      },
    );
    const running: RunningFlow = {
      flow: undefined as never,
      reader,
      writer,
      admins: [sourceAdmin, targetAdmin],
    };
    try {
      await Promise.all([sourceAdmin.connect(), targetAdmin.connect(), writer.connect(), reader.connect()]);
      const [sourceId, targetId] = await Promise.all([sourceAdmin.clusterId(), targetAdmin.clusterId()]);
      this.#registerClusterId(config.source, sourceId);
      this.#registerClusterId(config.target, targetId);
      flow = new Flow({
        identity: { source: sourceId, target: targetId },
        aliases: Object.keys(this.#config.clusters),
        config,
        settings: this.#config,
        source: reader,
        target: writer,
        catalogs: { source: sourceAdmin, target: targetAdmin },
        logger,
      });
      await flow.start();
      return { ...running, flow };
    } catch (error) {
      await this.#disconnect(running);
      throw error;
    }
  }
}

/**
 * For `kafka-mirror plan`: every cluster's topics with their partition counts (undefined when a
 * cluster cannot be reached within its connection timeout). Refuses two aliases for one cluster.
 * Reads only.
 */
export interface ClusterInspection {
  /** Cluster id of every alias that answered. */
  readonly ids: Map<string, string>;
  /** Topics and partition counts (when asked for), undefined for a cluster that did not answer. */
  readonly topics: Map<string, Map<string, number> | undefined>;
}

/**
 * Asks every cluster, each within three connection timeouts, for its cluster id (and its topics
 * with their partition counts when `withTopics`). Reads only. Refuses two aliases for one cluster
 * (ClusterIdentityError). Used at start and by `kafka-mirror plan`.
 */
export async function inspectClusters(
  config: Config,
  logger: Logger,
  withTopics = true,
): Promise<ClusterInspection> {
  const ids = new Map<string, string>();
  const topics = new Map<string, Map<string, number> | undefined>();
  await Promise.all(
    Object.values(config.clusters).map(async (cluster) => {
      const admin = new TopicAdmin(createClient(cluster, logger, config.producer.requestTimeoutMs));
      const limitMs = cluster.connectionTimeoutMs * 3;
      try {
        const look = (async () => {
          await admin.connect();
          return {
            id: await admin.clusterId(),
            found: withTopics ? await admin.partitionCounts() : undefined,
          };
        })();
        const answer = await Promise.race([look, sleep(limitMs, 'timeout' as const, { ref: false })]);
        if (answer === 'timeout') throw new Error(`no answer within ${limitMs} ms`);
        ids.set(cluster.alias, answer.id);
        topics.set(cluster.alias, answer.found);
      } catch (error) {
        logger.warn(
          { cluster: cluster.alias, err: error },
          'cluster unreachable; checked again when its flows connect',
        );
        topics.set(cluster.alias, undefined);
      } finally {
        await admin.disconnect().catch(() => {});
      }
    }),
  );
  const byId = new Map<string, string[]>();
  for (const [alias, id] of ids) byId.set(id, [...(byId.get(id) ?? []), alias]);
  for (const [id, aliases] of byId)
    if (aliases.length > 1) throw new ClusterIdentityError(id, aliases.sort());
  return { ids, topics };
}
