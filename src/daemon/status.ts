// What the daemon tells about its flows: readiness (/readyz), status (/status), the gauges read at
// each scrape, the lag each flow's source group still has (refreshed on a timer) and the progress
// log line. Reads the daemon's flow entries; changes nothing but their lag.
import type { Config, FlowConfig } from '../config/index.ts';
import type { Readiness } from '../observability/admin-server.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type FlowMetrics, type Metrics } from '../observability/metrics.ts';
import { measureLag, type PartitionLag } from '../replication/lag.ts';
import { partitionKey } from '../replication/ports.ts';
import { RpoTracker, type FlowRpo } from '../replication/rpo.ts';
import { packageVersion } from '../version.ts';
import type { RunningFlow } from './flow-assembly.ts';
import type { Reachability } from './reachability.ts';

/** Every configured flow, running or not yet (its clusters unreachable). */
export interface FlowEntry {
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
  /** The recovery point at each lag refresh (src/replication/rpo.ts). */
  readonly rpo: RpoTracker;
  /** Aborted when the flow is to stop on its own (a reload removes or changes it): ends its start retries. */
  readonly stop: AbortController;
}

/** A flow not started yet. */
export function flowEntry(config: FlowConfig, metrics: FlowMetrics): FlowEntry {
  return {
    config,
    metrics,
    running: undefined,
    startError: undefined,
    failedOn: undefined,
    lag: [],
    lagAt: undefined,
    lagFailing: false,
    rpo: new RpoTracker(),
    stop: new AbortController(),
  };
}

/** Records not yet replicated, from the flow's last lag refresh. */
const lagRecords = (entry: FlowEntry) => entry.lag.reduce((sum, p) => sum + p.lag, 0);

/** How often the progress line is logged per flow; once a minute while idle. */
const PROGRESS_INTERVAL_MS = 5000;
const IDLE_PROGRESS_EVERY = 12;

export interface StatusSources {
  readonly config: Config;
  readonly flows: ReadonlyMap<string, FlowEntry>;
  readonly reach: Reachability;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Whether the daemon is closing (or destroyed): then no flow is ready. */
  readonly ending: () => boolean;
}

export class DaemonStatus {
  readonly #sources: StatusSources;
  readonly #startedAt = Date.now();

  constructor(sources: StatusSources) {
    this.#sources = sources;
  }

  /** As /readyz: every flow running, assigned, not halted, its target acknowledging; none while closing. */
  readiness(): Readiness {
    const flows: Record<string, string[]> = {};
    for (const [name, entry] of this.#sources.flows) flows[name] = this.#notReady(entry);
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
      draining: this.#sources.ending(),
      clusters: Object.fromEntries(
        Object.keys(this.#sources.config.clusters).map((alias) => [alias, this.#clusterStatus(alias)]),
      ),
      flows: [...this.#sources.flows].map(([name, entry]) =>
        this.#flowStatus(name, entry, readiness.flows[name]),
      ),
    };
  }

  #clusterStatus(alias: string): object {
    const state = this.#sources.reach.state(alias);
    return {
      reachable: state?.reachable ?? null,
      cause: state?.cause?.text ?? null,
      kind: state?.cause?.kind ?? null,
      nextRetryAt: state?.nextRetryAt === undefined ? null : new Date(state.nextRetryAt).toISOString(),
    };
  }

  #flowStatus(name: string, entry: FlowEntry, notReady: readonly string[] | undefined): object {
    const flow = entry.running?.flow;
    const halted = new Map(
      flow?.haltedPartitions().map((h) => [partitionKey(h.topic, h.partition), h.reason]),
    );
    const { queue } = this.#sources.config;
    return {
      name,
      source: entry.config.source,
      target: entry.config.target,
      group: entry.config.group,
      state: flow?.exportedState ?? 'starting',
      ready: notReady?.length === 0,
      notReady,
      startError: entry.running === undefined ? this.#startError(entry) : undefined,
      assignedPartitions: flow?.assigned.length ?? 0,
      recordsWritten: flow?.stats.recordsWritten ?? 0,
      delivery: entry.config.delivery,
      aclSync: entry.running?.acl?.sync.status() ?? null,
      drill: entry.running?.drill?.status() ?? null,
      recordsSkipped: {
        loop: flow?.stats.skipped.loop ?? 0,
        replayed: flow?.stats.skipped.replayed ?? 0,
      },
      queue: {
        records: flow?.queued.records ?? 0,
        bytes: flow?.queued.bytes ?? 0,
        maxRecords: queue.maxRecords,
        maxBytes: queue.maxBytes,
      },
      lagRecords: lagRecords(entry),
      lagSeconds: flow?.pendingAgeSeconds() ?? 0,
      lagRefreshedAt: entry.lagAt === undefined ? null : new Date(entry.lagAt).toISOString(),
      recoveryPoint: recoveryPoint(entry.rpo.last),
      partitions: entry.lag.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        remoteTopic: flow?.remoteTopic(p.topic),
        committed: p.committed,
        acknowledged: flow?.acknowledged(p.topic, p.partition) ?? null,
        logEnd: p.logEnd,
        lag: p.lag,
        halted: halted.get(partitionKey(p.topic, p.partition)) ?? null,
      })),
      topicConfigSync: {
        // As it runs: off along a cycle of identity-named flows (config/identity-cycles.ts).
        enabled: (flow?.config ?? entry.config).topicConfigSync.enabled,
        refusedTopics: flow?.topicConfigRefusals() ?? [],
      },
    };
  }

  /** Why a flow is not running yet: a cluster it waits for, or its last failure. */
  #startError(entry: FlowEntry): string | undefined {
    const { source, target } = entry.config;
    const waiting = [source, target].flatMap((alias) => this.#sources.reach.reason(alias) ?? []);
    return waiting.length > 0 ? waiting.join('; ') : entry.startError;
  }

  #notReady(entry: FlowEntry): string[] {
    if (this.#sources.ending()) return ['draining: the daemon is shutting down'];
    const running = entry.running;
    if (running === undefined) {
      const why = this.#startError(entry);
      return [`starting${why === undefined ? '' : `: ${why}`}`];
    }
    const { flow, writer } = running;
    const reasons: string[] = [];
    // A flow an operator paused is ready: it is held on purpose, its process healthy; failing the
    // probe would stall a rollout or page someone for the pause (docs/operations.md, Control).
    // kafka_mirror_flow_state{state="paused"} and its growing lag show it.
    const { exportedState } = flow;
    if (exportedState !== 'running' && exportedState !== 'halted' && exportedState !== 'paused')
      reasons.push(exportedState);
    if (!flow.joined) reasons.push('not assigned by the source consumer group yet');
    const halted = flow.stats.halted.size;
    if (halted > 0)
      reasons.push(
        `${halted} partition(s) halted: the target refused a record or the topic was deleted (see /status)`,
      );
    const since = writer.pendingSince();
    const stalledMs = since === undefined ? 0 : Date.now() - since;
    if (stalledMs > this.#sources.config.admin.stallTimeoutMs) {
      reasons.push(`target has not acknowledged a write for ${Math.round(stalledMs / 1000)} s`);
    }
    return reasons;
  }

  /** Gauges that are read, not counted: set just before each scrape. */
  updateGauges(): void {
    const m = this.#sources.metrics;
    const readiness = this.readiness();
    for (const [name, entry] of this.#sources.flows) {
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

  /** Refreshes the lag of every running flow (each on its own). */
  refreshAllLag(): void {
    for (const entry of this.#sources.flows.values()) void this.refreshLag(entry);
  }

  /** Reads log-end and committed offsets of the flow's assigned partitions from the source. */
  async refreshLag(entry: FlowEntry): Promise<void> {
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
      this.#setLagGauges(config.name, entry.lag, lag);
      entry.lag = lag;
      entry.lagAt = Date.now();
      this.#sources.metrics.lagRefreshed.set({ flow: config.name }, entry.lagAt / 1000);
      this.#updateRpo(entry, entry.lagAt);
      entry.lagFailing = false;
    } catch (error) {
      entry.metrics.error('source', errorCode(error));
      if (!entry.lagFailing) {
        this.#sources.logger.warn(
          { flow: config.name, err: error },
          'cannot read lag from the source; will retry',
        );
      }
      entry.lagFailing = true;
    }
  }

  /**
   * The recovery point from this refresh's source ends and the flow's acknowledged positions (what
   * the target has in this run; the committed offset where nothing was acknowledged yet).
   */
  #updateRpo(entry: FlowEntry, at: number): void {
    const flow = entry.running?.flow;
    const inputs = entry.lag.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      logEnd: p.logEnd,
      position: Math.max(p.committed, flow?.acknowledged(p.topic, p.partition) ?? p.committed),
    }));
    const rpo = entry.rpo.update(inputs, at, flow?.pendingAgeSeconds(at) ?? 0);
    const labels = { flow: entry.config.name };
    this.#sources.metrics.rpoRecords.set(labels, rpo.records);
    this.#sources.metrics.rpoSeconds.set(labels, rpo.seconds);
  }

  /** One lag series per assigned partition: those of partitions no longer assigned are removed. */
  #setLagGauges(flow: string, old: readonly PartitionLag[], lag: readonly PartitionLag[]): void {
    const gauge = this.#sources.metrics.lagRecords;
    const now = new Set(lag.map((p) => partitionKey(p.topic, p.partition)));
    for (const p of old) {
      if (!now.has(partitionKey(p.topic, p.partition))) {
        gauge.remove({ flow, topic: p.topic, partition: String(p.partition) });
      }
    }
    for (const p of lag) gauge.set({ flow, topic: p.topic, partition: String(p.partition) }, p.lag);
  }

  /** Every 5 s per running flow: what moved, the rate, what remains and when it will be done. */
  progressTimer(): NodeJS.Timeout {
    let last = new Map<string, number>();
    let lastAt = Date.now();
    let ticks = 0;
    return setInterval(() => {
      const now = Date.now();
      const next = new Map<string, number>();
      ticks++;
      for (const [name, entry] of this.#sources.flows) {
        const written = entry.running?.flow.stats.recordsWritten;
        if (written === undefined) continue;
        next.set(name, written);
        const before = last.get(name) ?? 0;
        // Fewer than last time: a reload restarted the flow, which counts from 0 again.
        const moved = written >= before ? written - before : written;
        const rate = (moved * 1000) / Math.max(1, now - lastAt);
        // Quiet when idle: one line a minute once nothing moves and nothing remains.
        if (moved === 0 && lagRecords(entry) === 0 && ticks % IDLE_PROGRESS_EVERY !== 0) continue;
        this.#logProgress(name, entry, rate, now);
      }
      this.#logMemory();
      last = next;
      lastAt = now;
    }, PROGRESS_INTERVAL_MS);
  }

  #logProgress(name: string, entry: FlowEntry, rate: number, now: number): void {
    const flow = entry.running?.flow;
    if (flow === undefined) return;
    const remaining = lagRecords(entry);
    this.#sources.logger.info(
      {
        flow: name,
        state: flow.exportedState,
        recordsWritten: flow.stats.recordsWritten,
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

  #logMemory(): void {
    const memory = process.memoryUsage();
    const mib = (n: number) => Math.round(n / 2 ** 20);
    this.#sources.logger.debug(
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
}

/** /status's `recoveryPoint` of a flow: as of its last lag refresh (null before the first). */
export function recoveryPoint(rpo: FlowRpo): object | null {
  if (rpo.asOf === undefined) return null;
  return {
    asOf: new Date(rpo.asOf).toISOString(),
    records: rpo.records,
    seconds: Math.round(rpo.seconds * 1000) / 1000,
    partitions: rpo.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      position: p.position,
      logEnd: p.logEnd,
      records: p.records,
    })),
  };
}
