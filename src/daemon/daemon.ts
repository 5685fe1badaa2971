// Composition root and lifecycle: config -> clients -> flows -> admin server. Owns start-up and
// the close order. Each flow is started, and retried while its clusters are unreachable, by
// flow-start.ts and built by flow-assembly.ts; what the daemon tells about its flows is status.ts.
// It never exits the process (cli.ts does).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { type Config, type ConfigDiff, type FlowConfig } from '../config/index.ts';
import { ClusterIdentityError, ShutdownTimeoutError, UnknownClusterError } from '../errors/index.ts';
import { createClient } from '../kafka/client.ts';
import { probeCluster } from '../kafka/cluster-probe.ts';
import { AdminServer, type Readiness } from '../observability/admin-server.ts';
import { ControlEndpoint } from '../observability/control-endpoint.ts';
import type { Logger } from '../observability/logger.ts';
import { Metrics, errorCode } from '../observability/metrics.ts';
import type { Flow } from '../replication/flow.ts';
import { packageVersion } from '../version.ts';
import {
  buildGroupSync,
  closeClients,
  closeSidecars,
  destroyFlow,
  drainFlow,
  replaceGroupSync,
  type RunningFlow,
} from './flow-assembly.ts';
import { controlRoutes } from './control.ts';
import { startWithRetry, type FlowStartHost } from './flow-start.ts';
import { Reachability } from './reachability.ts';
import { checkHeap, checkReplicationFactor } from './start-checks.ts';
import { Reloads, type ReloadHost, type ReloadReport } from './reload.ts';
import { DaemonStatus, flowEntry, type FlowEntry } from './status.ts';

export { inspectClusters, type ClusterInspection } from './inspect-clusters.ts';
export type { ReloadReport } from './reload.ts';

/** After the drain, how long closing client connections may take before the process exits anyway. */
const DISCONNECT_TIMEOUT_MS = 5000;

export class Daemon {
  /** The running config: replaced by a reload. */
  #config: Config;
  /** The file the config came from and its environment overrides, for POST /control/reload. */
  readonly #configFile: { path: string; env: NodeJS.ProcessEnv } | undefined;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #admin: AdminServer;
  readonly #status: DaemonStatus;
  readonly #clients = new Map<string, KafkaClient>();
  readonly #flows = new Map<string, FlowEntry>();
  /** The start loop of each flow still starting. */
  readonly #starting = new Map<FlowEntry, Promise<void>>();
  /** Flows a reload is stopping: close() waits for them too. */
  readonly #retiring = new Map<FlowEntry, Promise<void>>();
  readonly #reloads: Reloads;
  #started = false;
  /** Kafka cluster id of every alias seen so far. */
  readonly #clusterIds = new Map<string, string>();
  readonly #stop = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  #lagTimer: NodeJS.Timeout | undefined;
  /** Which clusters answer; flows wait here for theirs. */
  readonly #reach: Reachability;
  #closed: Promise<void> | undefined;
  #destroyed: Promise<void> | undefined;

  /**
   * `configFile`: the file the config came from, which `POST /control/reload` re-reads (with
   * `env`'s overrides); without it that route is refused.
   */
  constructor(
    config: Config,
    logger: Logger,
    options: { metrics?: Metrics; configFile?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.#config = config;
    this.#logger = logger;
    this.#metrics = options.metrics ?? new Metrics({ version: packageVersion(), defaultMetrics: true });
    this.#configFile =
      options.configFile === undefined ? undefined : { path: options.configFile, env: options.env ?? {} };
    for (const flow of config.flows) this.#addEntry(flow);
    this.#reach = new Reachability(config.clusters, logger, {
      probe: (cluster) =>
        probeCluster(cluster, logger, { requestTimeoutMs: this.#config.producer.requestTimeoutMs }),
      signal: this.#stop.signal,
      onAnswer: (alias, answer) => {
        const flows = [...this.#flows.values()].map((e) => e.config);
        checkReplicationFactor(flows, alias, answer, logger);
      },
      onFailure: (alias, error) => {
        for (const entry of this.#flows.values()) {
          if (entry.config.source === alias) entry.metrics.error('source', errorCode(error));
          else if (entry.config.target === alias) entry.metrics.error('target', errorCode(error));
        }
      },
    });
    const running = () => this.#config;
    this.#status = new DaemonStatus({
      get config() {
        return running();
      },
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
      this.#config.admin.tls,
    );
    this.#reloads = new Reloads(this.#reloadHost(), this.#metrics, logger.child({ component: 'reload' }));
  }

  /** What POST /control/reload runs: the config file re-read and applied (none without a file). */
  #reloadFromFile(): (() => Promise<ReloadReport>) | undefined {
    const file = this.#configFile;
    return file === undefined ? undefined : () => this.reloadFile(file.path, file.env);
  }

  /** /control/ of the admin server (daemon/control.ts): refuses every request while admin.control is off. */
  #controlEndpoint(): ControlEndpoint {
    return new ControlEndpoint({
      config: this.#config.admin.control,
      routes: controlRoutes({
        flows: this.#flows,
        logger: this.#logger,
        ending: () => this.#closed !== undefined || this.#destroyed !== undefined,
        reload: this.#reloadFromFile(),
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
    checkHeap(this.#config, this.#logger);
    // Bounded: an unreachable cluster must not hold up the flows of the others.
    for (const [alias, answer] of await this.#reach.probeAll())
      this.#registerClusterId(alias, answer.clusterId);
    for (const entry of this.#flows.values()) this.#launch(entry);
    this.#timers.push(this.#status.progressTimer().unref());
    this.#startLagTimer();
    this.#started = true;
    return { adminPort: port };
  }

  /**
   * Applies a validated config without a restart (reload.ts): unchanged flows keep running
   * untouched, removed ones drain and stop, changed ones drain and start again, added ones start.
   * Reloads run one after the other; refused (result `failed`) before start() and while closing.
   */
  reload(next: Config): Promise<ReloadReport> {
    return this.#reloads.apply(next);
  }

  /** Loads and validates the file (`env`: the environment overrides), then reload(); `invalid` changes nothing. */
  reloadFile(file: string, env: NodeJS.ProcessEnv = {}): Promise<ReloadReport> {
    return this.#reloads.applyFile(file, env);
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
      // Nor a flow a reload is draining (it drains by the same kind of deadline).
      await Promise.race([
        Promise.allSettled([...this.#starting.values(), ...this.#retiring.values()]),
        sleep(left(), undefined, { ref: false }),
      ]);
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
      const flows = [...this.#running(), ...this.#running(this.#retiring.keys())];
      await bounded(Promise.allSettled(flows.map(({ running }) => destroyFlow(running))));
      for (const { entry } of flows) entry.metrics.state('stopped');
    } finally {
      await this.#admin.destroy();
    }
  }

  /** Stops the timers, the cluster probes and the start retries. */
  #stopRetriesAndTimers(): void {
    this.#stop.abort();
    for (const timer of [...this.#timers, this.#lagTimer]) clearInterval(timer);
  }

  #startLagTimer(): void {
    clearInterval(this.#lagTimer);
    const every = this.#config.metrics.lagIntervalMs;
    this.#lagTimer = setInterval(() => this.#status.refreshAllLag(), every).unref();
  }

  /** A flow of the config, not started: its entry (replacing one of the same name) and gauges. */
  #addEntry(flow: FlowConfig): FlowEntry {
    this.#metrics.queueMaxRecords.set({ flow: flow.name }, this.#config.queue.maxRecords);
    this.#metrics.queueMaxBytes.set({ flow: flow.name }, this.#config.queue.maxBytes);
    const entry = flowEntry(flow, this.#metrics.flow(flow.name));
    this.#flows.set(flow.name, entry);
    return entry;
  }

  /** Starts the flow in the background, retried until it runs or it or the daemon stops (flow-start.ts). */
  #launch(entry: FlowEntry): void {
    const starting = startWithRetry(entry, this.#startHost()).finally(() => this.#starting.delete(entry));
    this.#starting.set(entry, starting);
  }

  /** What starting a flow needs of the daemon (flow-start.ts). */
  #startHost(): FlowStartHost {
    return {
      settings: () => this.#config,
      registry: this.#metrics,
      logger: this.#logger,
      reach: this.#reach,
      signal: this.#stop.signal,
      destroyed: () => this.#destroyed !== undefined,
      client: (alias) => this.#client(alias),
      registerClusterId: (alias, id) => this.#registerClusterId(alias, id),
      running: (entry) => void this.#status.refreshLag(entry),
    };
  }

  /**
   * The flows running now, with their entries: by default those of the config that no reload is
   * stopping (a reload stops those itself, and close() waits for it).
   */
  #running(
    entries: Iterable<FlowEntry> = [...this.#flows.values()].filter((e) => !this.#retiring.has(e)),
  ): Array<{ entry: FlowEntry; running: RunningFlow }> {
    return [...entries].flatMap((entry) =>
      entry.running === undefined ? [] : [{ entry, running: entry.running }],
    );
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

  /** What reloads need of the daemon (reload.ts). */
  #reloadHost(): ReloadHost {
    return {
      config: () => this.#config,
      refusal: () => {
        if (this.#closed !== undefined || this.#destroyed !== undefined)
          return 'the daemon is shutting down: reload refused';
        return this.#started ? undefined : 'the daemon has not started yet: reload refused';
      },
      retire: (name, deadline, removed) => this.#retire(name, deadline, removed),
      switchTo: (config, diff) => this.#switchTo(config, diff),
      launch: (name) => {
        const flow = this.#config.flows.find((f) => f.name === name);
        if (flow !== undefined) this.#launch(this.#addEntry(flow));
      },
      rebuildGroupSync: (name) => this.#rebuildGroupSync(name),
    };
  }

  /** Stops a flow for a reload by `deadline`; a removed flow leaves the config and its metric series go. */
  async #retire(name: string, deadline: number, removed: boolean): Promise<void> {
    const entry = this.#flows.get(name);
    if (entry === undefined) return;
    if (removed) this.#flows.delete(name);
    const retiring = this.#stopEntry(entry, deadline);
    this.#retiring.set(entry, retiring);
    try {
      await retiring;
    } finally {
      this.#retiring.delete(entry);
      // A restarted flow's partitions may move: its per-partition lag series start over.
      await this.#metrics.removeFlow(name, removed ? undefined : ['kafka_mirror_lag_records']);
    }
  }

  /** Ends the flow's start retries, or drains it (as close() does) and closes its clients. */
  async #stopEntry(entry: FlowEntry, deadline: number): Promise<void> {
    const left = () => Math.max(1, deadline - Date.now());
    entry.stop.abort();
    const starting = this.#starting.get(entry);
    if (starting !== undefined) await Promise.race([starting, sleep(left(), undefined, { ref: false })]);
    const running = entry.running;
    if (running === undefined) return;
    try {
      await drainFlow(running, entry.metrics, left());
    } finally {
      entry.running = undefined;
    }
  }

  /** Makes a reloaded config the running one; the errors of clusters probed anew (identity). */
  async #switchTo(config: Config, diff: ConfigDiff): Promise<unknown[]> {
    this.#config = config;
    const changed = (key: string) => diff.settings.some((s) => s.key === key);
    // Only when the file changed it: a level set live otherwise (control) stays.
    if (changed('log.level')) this.#logger.level = config.log.level;
    // Nothing runs on these any more: the flows that did were stopped.
    for (const alias of diff.clients) this.#clients.delete(alias);
    for (const alias of [...diff.clusters.changed, ...diff.clusters.removed]) this.#clusterIds.delete(alias);
    this.#reach.update(config.clusters, diff.clusters.changed);
    if (changed('metrics.lagIntervalMs')) this.#startLagTimer();
    checkHeap(config, this.#logger); // more flows or larger queues may not fit any more
    const errors: unknown[] = [];
    const probed = await this.#reach.probeAll([...diff.clusters.added, ...diff.clusters.changed]);
    for (const [alias, answer] of probed) {
      try {
        this.#registerClusterId(alias, answer.clusterId);
      } catch (error) {
        errors.push(error);
      }
    }
    return errors;
  }

  /** A running flow's group offset sync, built again for the running config; the flow is not touched. */
  async #rebuildGroupSync(name: string): Promise<void> {
    const entry = this.#flows.get(name);
    const running = entry?.running;
    if (entry === undefined || running === undefined) return; // still starting: built with the new config
    const { source, target } = entry.config;
    const clients = { source: this.#client(source), target: this.#client(target) };
    const logger = this.#logger.child({ flow: name });
    const groupSync = buildGroupSync(this.#config, entry.config, clients, logger, this.#metrics);
    await replaceGroupSync(running, groupSync, () => {
      if (entry.running !== running || this.#stop.signal.aborted) return false; // stopped meanwhile
      entry.running = { ...running, groupSync };
      return true;
    });
  }
}

/** Resolves when `work` settles, or after DISCONNECT_TIMEOUT_MS, whichever comes first. */
async function bounded(work: Promise<unknown>): Promise<void> {
  await Promise.race([work, sleep(DISCONNECT_TIMEOUT_MS, undefined, { ref: false })]);
}
