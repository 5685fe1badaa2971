// Composition root: config -> clients -> flows -> admin server. Owns start-up, retries of flows
// whose clusters are unreachable, lag refresh, readiness, progress logging and the close order.
// It never exits the process (cli.ts does).
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import type { Kafka as KafkaClient } from 'kafkajs';
import { heapWarning, type Config, type FlowConfig } from '../config/index.ts';
import { ClusterIdentityError, ShutdownTimeoutError } from '../errors.ts';
import { createClient } from '../kafka/client.ts';
import { probeCluster, type ClusterAnswer } from '../kafka/cluster-probe.ts';
import { connectCause, isConnectFailure } from '../kafka/connect-cause.ts';
import { HEARTBEAT_TOPIC, HeartbeatEmitter } from '../kafka/heartbeat.ts';
import { SourceReader } from '../kafka/source-reader.ts';
import { IdempotentWriter } from '../kafka/writers/idempotent-writer.ts';
import { clusterOf } from '../kafka/raw-client.ts';
import { TargetWriter } from '../kafka/writers/target-writer.ts';
import { TransactionalWriter } from '../kafka/writers/transactional-writer.ts';
import { TopicAdmin } from '../kafka/topic-admin.ts';
import { AdminServer, type Readiness } from '../observability/admin-server.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics, errorCode, type FlowMetrics } from '../observability/metrics.ts';
import { GroupOffsetSync } from '../offsets/group-sync.ts';
import { Flow } from '../replication/flow.ts';
import { measureLag, type PartitionLag } from '../replication/lag.ts';
import { Reachability } from './reachability.ts';
import { packageVersion } from '../version.ts';

/** After the drain, how long closing client connections may take before the process exits anyway. */
const DISCONNECT_TIMEOUT_MS = 5000;

interface RunningFlow {
  readonly flow: Flow;
  readonly reader: SourceReader;
  readonly writer: TargetWriter | IdempotentWriter | TransactionalWriter;
  readonly sourceAdmin: TopicAdmin;
  readonly admins: readonly TopicAdmin[];
  readonly heartbeat: HeartbeatEmitter | undefined;
  /** Group offset sync, when the flow has it enabled. */
  readonly groupSync: GroupOffsetSync | undefined;
}

/** Every configured flow, running or not yet (its clusters unreachable). */
interface FlowEntry {
  readonly config: FlowConfig;
  readonly metrics: FlowMetrics;
  running: RunningFlow | undefined;
  /** Why the flow could not start, while it is retried. */
  startError: string | undefined;
  /** The cluster whose client failed while the flow was connecting, if one did. */
  failedOn: string | undefined;
  lag: readonly PartitionLag[];
  lagAt: number | undefined;
  lagFailing: boolean;
}

/** Records not yet replicated, from the flow's last lag refresh. */
const lagRecords = (entry: FlowEntry) => entry.lag.reduce((sum, p) => sum + p.lag, 0);

export class Daemon {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #admin: AdminServer;
  readonly #clients = new Map<string, KafkaClient>();
  readonly #flows = new Map<string, FlowEntry>();
  readonly #starting = new Set<Promise<void>>();
  /** Kafka cluster id of every alias seen so far. */
  readonly #clusterIds = new Map<string, string>();
  readonly #stop = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #startedAt = Date.now();
  /** Which clusters answer; flows wait here for theirs. */
  readonly #reach: Reachability;
  #closing: Promise<void> | undefined;

  constructor(config: Config, logger: Logger, options: { metrics?: Metrics } = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#metrics = options.metrics ?? new Metrics({ version: packageVersion(), defaultMetrics: true });
    for (const flow of config.flows) {
      const metrics = this.#metrics.flow(flow.name);
      this.#metrics.queueMaxRecords.set({ flow: flow.name }, config.queue.maxRecords);
      this.#metrics.queueMaxBytes.set({ flow: flow.name }, config.queue.maxBytes);
      this.#flows.set(flow.name, {
        config: flow,
        metrics,
        running: undefined,
        startError: undefined,
        failedOn: undefined,
        lag: [],
        lagAt: undefined,
        lagFailing: false,
      });
    }
    this.#reach = new Reachability(config.clusters, logger, {
      probe: (cluster) =>
        probeCluster(cluster, logger, { requestTimeoutMs: config.producer.requestTimeoutMs }),
      signal: this.#stop.signal,
      onAnswer: (alias, answer) => this.#checkReplicationFactor(alias, answer),
      onFailure: (alias, error) => {
        for (const entry of this.#flows.values()) {
          if (entry.config.source === alias) entry.metrics.error('source', errorCode(error));
          else if (entry.config.target === alias) entry.metrics.error('target', errorCode(error));
        }
      },
    });
    this.#admin = new AdminServer(
      {
        metrics: async () => {
          this.#updateGauges();
          return {
            contentType: this.#metrics.registry.contentType,
            body: await this.#metrics.registry.metrics(),
          };
        },
        readiness: () => this.readiness(),
        status: () => this.status(),
      },
      logger.child({ component: 'admin' }),
    );
  }

  /**
   * Starts the admin server, probes every cluster once, checks that no two aliases are the same
   * cluster (those reachable now; the others when their flow connects), then starts every flow. A
   * flow whose clusters are unreachable waits for them (each probed with backoff, one log line per
   * cluster and retry) until close(). Rejects with ClusterIdentityError or AdminListenError.
   */
  async start(): Promise<{ adminPort: number }> {
    // First, so probes answer (not ready) while clusters are being reached.
    const { port } = await this.#admin.listen(this.#config.admin.host, this.#config.admin.port);
    this.#checkHeap();
    // Bounded: an unreachable cluster must not hold up the flows of the others.
    for (const [alias, answer] of await this.#reach.probeAll())
      this.#registerClusterId(alias, answer.clusterId);
    for (const entry of this.#flows.values()) {
      const starting = this.#startWithRetry(entry).finally(() => this.#starting.delete(starting));
      this.#starting.add(starting);
    }
    this.#timers.push(
      setInterval(() => {
        for (const entry of this.#flows.values()) void this.#refreshLag(entry);
      }, this.#config.metrics.lagIntervalMs),
      this.#progressTimer(),
    );
    for (const timer of this.#timers) timer.unref();
    return { adminPort: port };
  }

  get flows(): readonly Flow[] {
    return [...this.#flows.values()].flatMap((e) => (e.running === undefined ? [] : [e.running.flow]));
  }

  /** As /readyz: every flow running, assigned, not halted, its target acknowledging; none while closing. */
  readiness(): Readiness {
    const flows: Record<string, string[]> = {};
    for (const [name, entry] of this.#flows) flows[name] = this.#notReady(entry);
    return { ready: Object.values(flows).every((reasons) => reasons.length === 0), flows };
  }

  /** As /status: what each flow does, per partition; never any part of the config's secrets. */
  status(): unknown {
    const readiness = this.readiness();
    return {
      service: 'kafka-mirror',
      version: packageVersion(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      ready: readiness.ready,
      draining: this.#closing !== undefined,
      clusters: Object.fromEntries(
        Object.keys(this.#config.clusters).map((alias) => {
          const state = this.#reach.state(alias);
          return [
            alias,
            {
              reachable: state?.reachable ?? null,
              cause: state?.cause?.text ?? null,
              kind: state?.cause?.kind ?? null,
              nextRetryAt:
                state?.nextRetryAt === undefined ? null : new Date(state.nextRetryAt).toISOString(),
            },
          ];
        }),
      ),
      flows: [...this.#flows].map(([name, entry]) => {
        const flow = entry.running?.flow;
        const halted = new Map(flow?.haltedPartitions().map((h) => [`${h.topic}/${h.partition}`, h.reason]));
        return {
          name,
          source: entry.config.source,
          target: entry.config.target,
          group: entry.config.group,
          state: flow?.exportedState ?? 'starting',
          ready: readiness.flows[name]?.length === 0,
          notReady: readiness.flows[name],
          startError: entry.running === undefined ? this.#startError(entry) : undefined,
          assignedPartitions: flow?.assigned.length ?? 0,
          recordsWritten: flow?.stats.recordsWritten ?? 0,
          delivery: entry.config.delivery,
          recordsSkipped: {
            loop: flow?.stats.skipped.loop ?? 0,
            replayed: flow?.stats.skipped.replayed ?? 0,
          },
          queue: {
            records: flow?.queued.records ?? 0,
            bytes: flow?.queued.bytes ?? 0,
            maxRecords: this.#config.queue.maxRecords,
            maxBytes: this.#config.queue.maxBytes,
          },
          lagRecords: lagRecords(entry),
          lagSeconds: flow?.pendingAgeSeconds() ?? 0,
          lagRefreshedAt: entry.lagAt === undefined ? null : new Date(entry.lagAt).toISOString(),
          partitions: entry.lag.map((p) => ({
            topic: p.topic,
            partition: p.partition,
            remoteTopic: flow?.remoteTopic(p.topic),
            committed: p.committed,
            acknowledged: flow?.acknowledged(p.topic, p.partition) ?? null,
            logEnd: p.logEnd,
            lag: p.lag,
            halted: halted.get(`${p.topic}/${p.partition}`) ?? null,
          })),
        };
      }),
    };
  }

  /** Graceful: not ready at once; every flow stops fetching, drains, commits; then clients disconnect and the admin server closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // One deadline for the whole drain, so an orchestrator's grace period of shutdown.timeoutMs
    // plus a few seconds always suffices.
    const { timeoutMs } = this.#config.shutdown;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.#stop.abort();
    for (const timer of this.#timers) clearInterval(timer);
    try {
      // A flow still connecting to an unreachable cluster must not hold the shutdown past its timeout.
      await Promise.race([Promise.allSettled(this.#starting), sleep(left(), undefined, { ref: false })]);
      const running = [...this.#flows.values()].flatMap((e) => (e.running === undefined ? [] : [e]));
      await Promise.allSettled(
        running.flatMap((e) => [e.running?.heartbeat?.close(), e.running?.groupSync?.close()]),
      );
      const results = await Promise.allSettled(
        running.map(async (e) => {
          try {
            await e.running?.flow.close(Math.max(1, left()));
          } finally {
            e.metrics.state('stopped');
          }
        }),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      // Disconnecting is best effort and bounded: everything that matters is committed by now.
      await Promise.race([
        Promise.allSettled(running.map((e) => e.running !== undefined && this.#disconnect(e.running))),
        sleep(DISCONNECT_TIMEOUT_MS, undefined, { ref: false }),
      ]);
      if (failed.length > 0) throw new ShutdownTimeoutError(timeoutMs);
    } finally {
      await this.#admin.close();
    }
  }

  async #disconnect(running: RunningFlow): Promise<void> {
    await Promise.allSettled([
      running.heartbeat?.close(),
      running.groupSync?.close(),
      running.writer.close(),
      running.reader.close(),
      ...running.admins.map((a) => a.close()),
    ]);
  }

  /**
   * Every flow's queue holds up to its byte budget, and the budget charges each record at least the
   * heap it holds. A V8 heap limit below the budgets plus room for the runtime and one fetch would
   * end in an out-of-memory crash under a backlog: say so at start (docs/operations.md, Memory).
   */
  #checkHeap(): void {
    const warning = heapWarning(this.#config, getHeapStatistics().heap_size_limit);
    if (warning !== undefined) this.#logger.warn(warning);
  }

  /**
   * A replication factor above the target's brokers makes every topic creation there fail: said
   * when the target answers (validate cannot know the brokers; `plan` refuses it).
   */
  #checkReplicationFactor(alias: string, answer: ClusterAnswer): void {
    for (const { config } of this.#flows.values()) {
      if (config.target !== alias || config.replicationFactor <= answer.brokers) continue;
      this.#logger.error(
        {
          flow: config.name,
          target: alias,
          replicationFactor: config.replicationFactor,
          brokers: answer.brokers,
        },
        "flows[].replicationFactor is above the target's broker count: topics cannot be created there (use -1 for the target's default)",
      );
    }
  }

  /** Why a flow is not running yet: a cluster it waits for, or its last failure. */
  #startError(entry: FlowEntry): string | undefined {
    const { source, target } = entry.config;
    const waiting = [source, target].flatMap((alias) => this.#reach.reason(alias) ?? []);
    return waiting.length > 0 ? waiting.join('; ') : entry.startError;
  }

  #notReady(entry: FlowEntry): string[] {
    if (this.#closing !== undefined) return ['draining: the daemon is shutting down'];
    const running = entry.running;
    if (running === undefined) {
      const why = this.#startError(entry);
      return [`starting${why === undefined ? '' : `: ${why}`}`];
    }
    const { flow, writer } = running;
    const reasons: string[] = [];
    if (flow.exportedState !== 'running' && flow.exportedState !== 'halted') reasons.push(flow.exportedState);
    if (!flow.joined) reasons.push('not assigned by the source consumer group yet');
    const halted = flow.stats.halted.size;
    if (halted > 0)
      reasons.push(
        `${halted} partition(s) halted: the target refused a record or the topic was deleted (see /status)`,
      );
    const since = writer.pendingSince();
    const stalledMs = since === undefined ? 0 : Date.now() - since;
    if (stalledMs > this.#config.admin.stallTimeoutMs) {
      reasons.push(`target has not acknowledged a write for ${Math.round(stalledMs / 1000)} s`);
    }
    return reasons;
  }

  /** Gauges that are read, not counted: set just before each scrape. */
  #updateGauges(): void {
    const m = this.#metrics;
    const readiness = this.readiness();
    for (const [name, entry] of this.#flows) {
      const flow = entry.running?.flow;
      const labels = { flow: name };
      m.queueRecords.set(labels, flow?.queued.records ?? 0);
      m.queueBytes.set(labels, flow?.queued.bytes ?? 0);
      m.halted.set(labels, flow?.stats.halted.size ?? 0);
      m.assigned.set(labels, flow?.assigned.length ?? 0);
      m.ready.set(labels, readiness.flows[name]?.length === 0 ? 1 : 0);
      m.lagSeconds.set(labels, flow?.pendingAgeSeconds() ?? 0);
      if (flow !== undefined) entry.metrics.state(flow.exportedState);
    }
  }

  /** Reads log-end and committed offsets of the flow's assigned partitions from the source. */
  async #refreshLag(entry: FlowEntry): Promise<void> {
    const running = entry.running;
    if (running === undefined) return;
    const { config } = entry;
    try {
      const lag = await measureLag(
        running.sourceAdmin,
        config.group,
        config.startFrom,
        running.flow.assigned,
      );
      const now = new Set(lag.map((p) => `${p.topic}\u0000${p.partition}`));
      for (const old of entry.lag) {
        if (!now.has(`${old.topic}\u0000${old.partition}`)) {
          this.#metrics.lagRecords.remove({
            flow: config.name,
            topic: old.topic,
            partition: String(old.partition),
          });
        }
      }
      for (const p of lag) {
        this.#metrics.lagRecords.set(
          { flow: config.name, topic: p.topic, partition: String(p.partition) },
          p.lag,
        );
      }
      entry.lag = lag;
      entry.lagAt = Date.now();
      this.#metrics.lagRefreshed.set({ flow: config.name }, entry.lagAt / 1000);
      entry.lagFailing = false;
    } catch (error) {
      entry.metrics.error('source', errorCode(error));
      if (!entry.lagFailing) {
        this.#logger.warn({ flow: config.name, err: error }, 'cannot read lag from the source; will retry');
      }
      entry.lagFailing = true;
    }
  }

  /** Every 5 s per running flow: what moved, the rate, what remains and when it will be done. */
  #progressTimer(): NodeJS.Timeout {
    let last = new Map<string, number>();
    let lastAt = Date.now();
    let ticks = 0;
    return setInterval(() => {
      const now = Date.now();
      const next = new Map<string, number>();
      ticks++;
      for (const [name, entry] of this.#flows) {
        const flow = entry.running?.flow;
        if (flow === undefined) continue;
        const written = flow.stats.recordsWritten;
        next.set(name, written);
        const moved = written - (last.get(name) ?? 0);
        const rate = (moved * 1000) / Math.max(1, now - lastAt);
        const remaining = lagRecords(entry);
        // Quiet when idle: one line a minute once nothing moves and nothing remains.
        if (moved === 0 && remaining === 0 && ticks % 12 !== 0) continue;
        this.#logger.info(
          {
            flow: name,
            state: flow.exportedState,
            recordsWritten: written,
            recordsPerSec: Math.round(rate),
            lagRecords: remaining,
            lagSeconds: Math.round(flow.pendingAgeSeconds(now)),
            etaSeconds: remaining > 0 && rate > 0 ? Math.round(remaining / rate) : null,
            skippedLoop: flow.stats.skipped.loop,
            queued: flow.queued.records,
            queuedBytes: flow.queued.bytes,
            halted: flow.stats.halted.size,
          },
          'progress',
        );
      }
      const memory = process.memoryUsage();
      const mib = (n: number) => Math.round(n / 2 ** 20);
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
      last = next;
      lastAt = now;
    }, 5000);
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

  async #startWithRetry(entry: FlowEntry): Promise<void> {
    const { config } = entry;
    const logger = this.#logger.child({ flow: config.name });
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      // An unreachable cluster is probed (one log line per cluster and retry), not the flow.
      await Promise.all([this.#reach.until(config.source), this.#reach.until(config.target)]);
      if (this.#stop.signal.aborted) return;
      entry.failedOn = undefined;
      try {
        const running = await this.#startFlow(entry, logger);
        if (this.#stop.signal.aborted) {
          await running.flow.close(this.#config.shutdown.timeoutMs).catch(() => {});
          await this.#disconnect(running);
          return;
        }
        entry.running = running;
        entry.startError = undefined;
        logger.info(
          { source: config.source, target: config.target, topics: running.reader.topics.length },
          'flow running',
        );
        void this.#refreshLag(entry);
        return;
      } catch (error) {
        if (entry.failedOn !== undefined && isConnectFailure(error)) {
          // The cluster answered its probe, then the flow's clients could not reach it: the
          // cluster's retry line says why, and the next attempt waits for it to answer again.
          logger.debug({ err: error, cluster: entry.failedOn }, 'flow could not reach a cluster');
          this.#reach.lost(entry.failedOn, error);
          attempt = -1;
          continue;
        }
        const delay = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
        entry.startError = connectCause(error).text;
        entry.metrics.error(entry.failedOn === config.target ? 'target' : 'source', errorCode(error));
        logger.error(
          { err: error, cause: entry.startError, retryInMs: delay },
          'flow could not start; retrying',
        );
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

  async #startFlow(entry: FlowEntry, logger: Logger): Promise<RunningFlow> {
    const { config, metrics } = entry;
    const source = this.#client(config.source);
    const sourceAdmin = new TopicAdmin(source);
    const targetAdmin = new TopicAdmin(this.#client(config.target));
    const onRetry = (error: unknown) => {
      metrics.retried();
      metrics.error('target', errorCode(error));
    };
    const onResend = (reason: string) => metrics.produceRetried(reason);
    const targetOptions = {
      ...this.#config.producer,
      logger,
      onRetry,
      onResend,
      topicExists: (topic: string) => targetAdmin.topicExists(topic),
    };
    const writer =
      config.delivery === 'exactly-once'
        ? new TransactionalWriter(this.#client(config.target), {
            ...this.#config.producer,
            group: config.group,
            positionsTopic: config.transaction.positionsTopic,
            transaction: config.transaction,
            replicationFactor: config.replicationFactor,
            logger,
            onRetry,
            onResend,
            onTransaction: (result) => metrics.transaction(result),
            topicExists: (topic) => targetAdmin.topicExists(topic),
          })
        : this.#config.producer.maxInFlightPerPartition > 1
          ? new IdempotentWriter(clusterOf(this.#client(config.target)), targetOptions)
          : new TargetWriter(this.#client(config.target), targetOptions);
    let flow: Flow | undefined;
    const reader = new SourceReader(
      source,
      { group: config.group, startFrom: config.startFrom, consumer: this.#config.consumer, logger },
      {
        onBatch: (batch, keepAlive) => (flow as Flow).onBatch(batch, keepAlive),
        onAssignment: (assigned) => flow?.onAssignment(assigned),
        onRebalancing: () => flow?.onRebalancing(),
        onCorruptBatch: (error) => flow?.onCorruptBatch(error),
        onCrash: (error) => {
          metrics.error('source', errorCode(error));
          flow?.onCrash();
        },
      },
    );
    const { heartbeats } = this.#config;
    const heartbeat = heartbeats.enabled
      ? new HeartbeatEmitter(source, sourceAdmin, {
          flow: config.name,
          intervalMs: heartbeats.intervalMs,
          logger,
          onSent: () => metrics.heartbeatSent(),
          onError: (error) => metrics.error('source', errorCode(error)),
        })
      : undefined;
    const groupSync = config.groupOffsetSync.enabled
      ? new GroupOffsetSync(
          this.#config,
          config,
          { source, target: this.#client(config.target) },
          logger.child({ component: 'group-offset-sync' }),
          this.#metrics,
        )
      : undefined;
    const running: RunningFlow = {
      flow: undefined as never,
      reader,
      writer,
      sourceAdmin,
      admins: [sourceAdmin, targetAdmin],
      heartbeat,
      groupSync,
    };
    try {
      // Which cluster a connection failure came from, for its retry line (#startWithRetry).
      const on = <T>(alias: string, step: Promise<T>): Promise<T> =>
        step.catch((error: unknown) => {
          entry.failedOn ??= alias;
          throw error;
        });
      const { source: from, target: to } = config;
      await Promise.all([
        on(from, sourceAdmin.connect()),
        on(to, targetAdmin.connect()),
        on(from, reader.connect()),
      ]);
      await on(to, writer instanceof TransactionalWriter ? writer.connect(targetAdmin) : writer.connect());
      const [sourceId, targetId] = await Promise.all([
        on(from, sourceAdmin.clusterId()),
        on(to, targetAdmin.clusterId()),
      ]);
      this.#registerClusterId(config.source, sourceId);
      this.#registerClusterId(config.target, targetId);
      // Before the flow's first topic sync, so the sync finds the heartbeat topic to copy.
      await heartbeat?.start();
      flow = new Flow({
        identity: { source: sourceId, target: targetId },
        aliases: Object.keys(this.#config.clusters),
        config,
        settings: this.#config,
        source: reader,
        target: writer,
        catalogs: { source: sourceAdmin, target: targetAdmin },
        heartbeatTopic: heartbeats.enabled ? HEARTBEAT_TOPIC : undefined,
        metrics,
        logger,
      });
      await flow.start();
      await groupSync?.connect();
      groupSync?.start();
      return { ...running, flow };
    } catch (error) {
      await this.#disconnect(running);
      throw error;
    }
  }
}

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
