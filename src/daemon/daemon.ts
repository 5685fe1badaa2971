// Composition root and lifecycle: config -> clients -> flows -> admin server. Owns start-up, the
// retries of flows whose clusters are unreachable, and the close order. Each flow is built by
// flow-assembly.ts; what the daemon tells about its flows is status.ts. It never exits the process
// (cli.ts does).
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics } from 'node:v8';
import type { Kafka as KafkaClient } from 'kafkajs';
import { heapWarning, type Config } from '../config/index.ts';
import { ClusterIdentityError, ShutdownTimeoutError, UnknownClusterError } from '../errors/index.ts';
import { createClient } from '../kafka/client.ts';
import { probeCluster, type ClusterAnswer } from '../kafka/cluster-probe.ts';
import { connectCause, isConnectFailure } from '../kafka/connect-cause.ts';
import { AdminServer, type Readiness } from '../observability/admin-server.ts';
import { ControlEndpoint } from '../observability/control-endpoint.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics, errorCode } from '../observability/metrics.ts';
import { backoffMs } from '../replication/backoff.ts';
import type { Flow } from '../replication/flow.ts';
import { packageVersion } from '../version.ts';
import { controlRoutes } from './control.ts';
import { assembleFlow, closeClients, closeSidecars, destroyFlow, type RunningFlow } from './flow-assembly.ts';
import { Reachability } from './reachability.ts';
import { DaemonStatus, flowEntry, type FlowEntry } from './status.ts';

export { inspectClusters, type ClusterInspection } from './inspect-clusters.ts';

/** After the drain, how long closing client connections may take before the process exits anyway. */
const DISCONNECT_TIMEOUT_MS = 5000;
/** A flow that could not start is tried again after 1 s, doubling up to a minute. */
const START_RETRY_BASE_MS = 1000;
const START_RETRY_MAX_MS = 60_000;

export class Daemon {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #admin: AdminServer;
  readonly #status: DaemonStatus;
  readonly #clients = new Map<string, KafkaClient>();
  readonly #flows = new Map<string, FlowEntry>();
  readonly #starting = new Set<Promise<void>>();
  /** Kafka cluster id of every alias seen so far. */
  readonly #clusterIds = new Map<string, string>();
  readonly #stop = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  /** Which clusters answer; flows wait here for theirs. */
  readonly #reach: Reachability;
  #closed: Promise<void> | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(config: Config, logger: Logger, options: { metrics?: Metrics } = {}) {
    this.#config = config;
    this.#logger = logger;
    this.#metrics = options.metrics ?? new Metrics({ version: packageVersion(), defaultMetrics: true });
    for (const flow of config.flows) {
      this.#metrics.queueMaxRecords.set({ flow: flow.name }, config.queue.maxRecords);
      this.#metrics.queueMaxBytes.set({ flow: flow.name }, config.queue.maxBytes);
      this.#flows.set(flow.name, flowEntry(flow, this.#metrics.flow(flow.name)));
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
    this.#status = new DaemonStatus({
      config,
      flows: this.#flows,
      reach: this.#reach,
      metrics: this.#metrics,
      logger,
      ending: () => this.#closed !== undefined || this.#destroyed !== undefined,
    });
    this.#admin = new AdminServer(
      {
        metrics: async () => {
          this.#status.updateGauges();
          return {
            contentType: this.#metrics.registry.contentType,
            body: await this.#metrics.registry.metrics(),
          };
        },
        readiness: () => this.readiness(),
        status: () => this.status(),
      },
      logger.child({ component: 'admin' }),
      this.#controlEndpoint(),
    );
  }

  /** /control/ of the admin server (daemon/control.ts): refuses every request while admin.control is off. */
  #controlEndpoint(): ControlEndpoint {
    return new ControlEndpoint({
      config: this.#config.admin.control,
      routes: controlRoutes({
        flows: this.#flows,
        logger: this.#logger,
        ending: () => this.#closed !== undefined || this.#destroyed !== undefined,
      }),
      count: (labels) => this.#metrics.controlRequests.inc(labels),
      logger: this.#logger.child({ component: 'control' }),
    });
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
      setInterval(() => this.#status.refreshAllLag(), this.#config.metrics.lagIntervalMs),
      this.#status.progressTimer(),
    );
    for (const timer of this.#timers) timer.unref();
    return { adminPort: port };
  }

  get flows(): readonly Flow[] {
    return [...this.#flows.values()].flatMap((e) => (e.running === undefined ? [] : [e.running.flow]));
  }

  /** As /readyz: every flow running, assigned, not halted, its target acknowledging; none while closing. */
  readiness(): Readiness {
    return this.#status.readiness();
  }

  /** As /status: what each flow does, per partition; never any part of the config's secrets. */
  status(): unknown {
    return this.#status.status();
  }

  /**
   * Graceful, within shutdown.timeoutMs: not ready at once; every flow stops fetching, drains,
   * commits; then clients disconnect and the admin server closes. Rejects with
   * ShutdownTimeoutError when a flow did not drain in time. Idempotent; after destroy(), resolves
   * with it.
   */
  close(): Promise<void> {
    this.#closed ??= this.#destroyed ?? this.#close();
    return this.#closed;
  }

  /**
   * At once: no flow drains (what is not committed is replayed by the next run), every client and
   * the admin server close. Idempotent, also while close() is in progress (which then settles once
   * its flows find their clients gone, by shutdown.timeoutMs at the latest).
   */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#destroy();
    return this.#destroyed;
  }

  async #close(): Promise<void> {
    // One deadline for the whole drain, so an orchestrator's grace period of shutdown.timeoutMs
    // plus a few seconds always suffices.
    const { timeoutMs } = this.#config.shutdown;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.#stopRetriesAndTimers();
    try {
      // A flow still connecting to an unreachable cluster must not hold the shutdown past its timeout.
      await Promise.race([Promise.allSettled(this.#starting), sleep(left(), undefined, { ref: false })]);
      const flows = this.#running();
      await Promise.allSettled(flows.map(({ running }) => closeSidecars(running)));
      const results = await Promise.allSettled(
        flows.map(async ({ entry, running }) => {
          try {
            await running.flow.close(Math.max(1, left()));
          } finally {
            entry.metrics.state('stopped');
          }
        }),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      // Disconnecting is best effort and bounded: everything that matters is committed by now.
      await bounded(Promise.allSettled(flows.map(({ running }) => closeClients(running))));
      if (failed.length > 0) throw new ShutdownTimeoutError(timeoutMs);
    } finally {
      await this.#admin.close();
    }
  }

  async #destroy(): Promise<void> {
    this.#stopRetriesAndTimers();
    try {
      const flows = this.#running();
      await bounded(Promise.allSettled(flows.map(({ running }) => destroyFlow(running))));
      for (const { entry } of flows) entry.metrics.state('stopped');
    } finally {
      await this.#admin.destroy();
    }
  }

  /** Stops the timers, the cluster probes and the start retries. */
  #stopRetriesAndTimers(): void {
    this.#stop.abort();
    for (const timer of this.#timers) clearInterval(timer);
  }

  /** The flows running now, with their entries. */
  #running(): Array<{ entry: FlowEntry; running: RunningFlow }> {
    return [...this.#flows.values()].flatMap((entry) =>
      entry.running === undefined ? [] : [{ entry, running: entry.running }],
    );
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

  #client(alias: string): KafkaClient {
    let client = this.#clients.get(alias);
    if (client === undefined) {
      const cluster = this.#config.clusters[alias];
      if (cluster === undefined) throw new UnknownClusterError(alias);
      client = createClient(cluster, this.#logger, this.#config.producer.requestTimeoutMs);
      this.#clients.set(alias, client);
    }
    return client;
  }

  #registerClusterId(alias: string, id: string): void {
    for (const [other, otherId] of this.#clusterIds) {
      if (other !== alias && otherId === id) throw new ClusterIdentityError(id, [other, alias].sort());
    }
    this.#clusterIds.set(alias, id);
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
          await this.#stopLate(running);
          return;
        }
        entry.running = running;
        entry.startError = undefined;
        logger.info(
          { source: config.source, target: config.target, topics: running.reader.topics.length },
          'flow running',
        );
        void this.#status.refreshLag(entry);
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
        await this.#retryLater(entry, logger, error, attempt);
      }
    }
  }

  #startFlow(entry: FlowEntry, logger: Logger): Promise<RunningFlow> {
    return assembleFlow({
      settings: this.#config,
      config: entry.config,
      metrics: entry.metrics,
      registry: this.#metrics,
      logger,
      client: (alias) => this.#client(alias),
      registerClusterId: (alias, id) => this.#registerClusterId(alias, id),
      failedOn: (alias) => (entry.failedOn ??= alias),
    });
  }

  /** A flow that finished starting after close() or destroy() began: stopped the same way. */
  async #stopLate(running: RunningFlow): Promise<void> {
    if (this.#destroyed !== undefined) return destroyFlow(running);
    await running.flow.close(this.#config.shutdown.timeoutMs).catch(() => {});
    await closeClients(running);
  }

  /** Says why the flow could not start, and waits (with backoff) before the next attempt. */
  async #retryLater(entry: FlowEntry, logger: Logger, error: unknown, attempt: number): Promise<void> {
    const delay = backoffMs(attempt, START_RETRY_BASE_MS, START_RETRY_MAX_MS, { jitter: false });
    entry.startError = connectCause(error).text;
    entry.metrics.error(entry.failedOn === entry.config.target ? 'target' : 'source', errorCode(error));
    logger.error({ err: error, cause: entry.startError, retryInMs: delay }, 'flow could not start; retrying');
    await sleep(delay, undefined, { signal: this.#stop.signal }).catch(() => {});
  }
}

/** Resolves when `work` settles, or after DISCONNECT_TIMEOUT_MS, whichever comes first. */
async function bounded(work: Promise<unknown>): Promise<void> {
  await Promise.race([work, sleep(DISCONNECT_TIMEOUT_MS, undefined, { ref: false })]);
}
