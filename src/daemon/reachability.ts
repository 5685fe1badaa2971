// Which clusters answer, and why the others do not. At start every cluster is probed once; a
// cluster that does not answer is probed again with capped exponential backoff until it does, and
// each failed probe is one log line that names the cluster, the cause (connection refused, DNS,
// TLS, authentication, ...) and when the next probe is. Flows wait for their clusters here instead
// of retrying through the client, whose connection errors would otherwise fill the log (issue 20).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterConfig } from '../config/index.ts';
import { backoffMs } from '../replication/backoff.ts';
import type { ClusterAnswer } from '../kafka/cluster-probe.ts';
import { connectCause, type ConnectCause } from '../kafka/connect-cause.ts';
import type { Logger } from '../observability/logger.ts';

/** First probe again after about a second; then doubling, at most every 30 s. */
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;

export interface ClusterState {
  /** Undefined until the first probe has answered or failed. */
  readonly reachable: boolean | undefined;
  /** Why the last probe failed, while the cluster is unreachable. */
  readonly cause: ConnectCause | undefined;
  /** Failed probes in a row. */
  readonly failures: number;
  /** When the next probe starts (epoch ms), while the cluster is unreachable. */
  readonly nextRetryAt: number | undefined;
}

interface Options {
  readonly probe: (cluster: ClusterConfig) => Promise<ClusterAnswer>;
  /** Stops the probes (close). */
  readonly signal: AbortSignal;
  /** After every answer, first round included. */
  readonly onAnswer?: (alias: string, answer: ClusterAnswer) => void;
  /** After every failed probe, and when a flow found the cluster unreachable after all. */
  readonly onFailure?: (alias: string, error: unknown) => void;
  /** The backoff's first step and cap (tests shorten them). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/** A cluster not probed yet. */
const UNKNOWN: ClusterState = { reachable: undefined, cause: undefined, failures: 0, nextRetryAt: undefined };

export class Reachability {
  #clusters: Readonly<Record<string, ClusterConfig>>;
  readonly #logger: Logger;
  readonly #options: Options;
  readonly #states = new Map<string, ClusterState>();
  /** The retry loop of each unreachable cluster: resolves once it answers (or on close). */
  readonly #retrying = new Map<string, Promise<void>>();

  constructor(clusters: Readonly<Record<string, ClusterConfig>>, logger: Logger, options: Options) {
    this.#clusters = clusters;
    this.#logger = logger;
    this.#options = options;
    for (const alias of Object.keys(clusters)) this.#states.set(alias, UNKNOWN);
  }

  /**
   * The clusters of a reloaded config: new aliases and `changed` ones start over (unknown until
   * probed: probeAll them), removed ones are forgotten (a retry loop of theirs ends).
   */
  update(clusters: Readonly<Record<string, ClusterConfig>>, changed: readonly string[]): void {
    this.#clusters = clusters;
    for (const alias of this.#states.keys()) if (!(alias in clusters)) this.#states.delete(alias);
    for (const alias of Object.keys(clusters))
      if (!this.#states.has(alias) || changed.includes(alias)) this.#states.set(alias, UNKNOWN);
  }

  /** Probes these clusters (all by default) once, at the same time; the answers of those that answered. The others are retried. */
  async probeAll(
    aliases: readonly string[] = Object.keys(this.#clusters),
  ): Promise<Map<string, ClusterAnswer>> {
    const answers = new Map<string, ClusterAnswer>();
    await Promise.all(
      aliases.map(async (alias) => {
        const answer = await this.#probe(alias);
        if (answer !== undefined) answers.set(alias, answer);
        else this.#retry(alias);
      }),
    );
    return answers;
  }

  /** Resolves once the cluster answers (at once if it did last time), or when probes stop. */
  until(alias: string): Promise<void> {
    if (this.#states.get(alias)?.reachable === true || this.#options.signal.aborted) return Promise.resolve();
    return this.#retry(alias);
  }

  /** A flow could not connect to a cluster that had answered: probe it again before its next attempt. */
  lost(alias: string, error: unknown): void {
    this.#failed(alias, error, 0);
    this.#retry(alias);
  }

  state(alias: string): ClusterState | undefined {
    return this.#states.get(alias);
  }

  /** Why a flow waits for this cluster, for /readyz and /status; undefined once it answers. */
  reason(alias: string): string | undefined {
    const state = this.#states.get(alias);
    if (state === undefined || state.reachable === true) return undefined;
    if (state.reachable === undefined || state.cause === undefined) return `connecting to cluster ${alias}`;
    const next =
      state.nextRetryAt === undefined ? '' : `; next retry at ${new Date(state.nextRetryAt).toISOString()}`;
    return `cluster ${alias} unreachable: ${state.cause.text}${next}`;
  }

  /** One loop per cluster, however many flows wait for it. */
  #retry(alias: string): Promise<void> {
    let loop = this.#retrying.get(alias);
    if (loop === undefined) {
      loop = this.#retryLoop(alias).finally(() => this.#retrying.delete(alias));
      this.#retrying.set(alias, loop);
    }
    return loop;
  }

  async #retryLoop(alias: string): Promise<void> {
    const { signal } = this.#options;
    while (!signal.aborted) {
      const state = this.#states.get(alias);
      if (state === undefined || state.reachable === true) return; // removed by a reload, or answered
      const { retryBaseMs = RETRY_BASE_MS, retryMaxMs = RETRY_MAX_MS } = this.#options;
      const delay = Math.round(backoffMs(Math.max(0, state.failures - 1), retryBaseMs, retryMaxMs));
      const nextRetryAt = Date.now() + delay;
      this.#states.set(alias, { ...state, nextRetryAt });
      const cluster = this.#clusters[alias] as ClusterConfig;
      this.#logger.warn(
        {
          cluster: alias,
          bootstrapServers: cluster.bootstrapServers,
          cause: state.cause?.text,
          kind: state.cause?.kind,
          code: state.cause?.code,
          failures: state.failures,
          retryInMs: delay,
          nextRetryAt: new Date(nextRetryAt).toISOString(),
        },
        'cluster unreachable; retrying',
      );
      await sleep(delay, undefined, { signal, ref: false }).catch(() => {});
      if (signal.aborted) return;
      await this.#probe(alias);
    }
  }

  /** One probe; records the outcome. */
  async #probe(alias: string): Promise<ClusterAnswer | undefined> {
    const before = this.#states.get(alias) ?? UNKNOWN;
    const cluster = this.#clusters[alias] as ClusterConfig;
    let answer: ClusterAnswer;
    try {
      answer = await this.#options.probe(cluster);
    } catch (error) {
      if (this.#clusters[alias] !== cluster) return undefined; // replaced or removed by a reload meanwhile
      this.#failed(alias, error, before.failures + 1);
      return undefined;
    }
    if (this.#clusters[alias] !== cluster) return undefined;
    this.#states.set(alias, { reachable: true, cause: undefined, failures: 0, nextRetryAt: undefined });
    this.#logger.info(
      {
        cluster: alias,
        clusterId: answer.clusterId,
        brokers: answer.brokers,
        ...(before.failures > 0 ? { afterFailures: before.failures } : {}),
      },
      before.failures > 0 ? 'cluster reachable again' : 'cluster reachable',
    );
    this.#options.onAnswer?.(alias, answer);
    return answer;
  }

  #failed(alias: string, error: unknown, failures: number): void {
    const cause = connectCause(error);
    this.#states.set(alias, {
      reachable: false,
      cause,
      failures: Math.max(1, failures),
      nextRetryAt: undefined,
    });
    this.#logger.debug({ cluster: alias, err: error }, 'cluster probe failed');
    this.#options.onFailure?.(alias, error);
  }
}
