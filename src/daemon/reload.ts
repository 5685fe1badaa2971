// Config reload without a restart (docs/operations.md, Reloading the configuration): the new file
// is loaded and validated first (a bad one changes nothing), then diffed against the running
// config (src/config/diff.ts). Removed and changed flows drain (stop fetching, write what is
// queued, commit) and their clients close; then the daemon switches to the new config (clients of
// changed clusters replaced, live settings applied); then added and changed flows start, with the
// retries of start-up. Unchanged flows are not touched: same objects, same consumer group
// membership, no pause. Reloads run one at a time: one asked for while another runs waits for it,
// then reads the file as it is then. The daemon does the steps (ReloadHost); this file orders them,
// reports, counts and logs.
import {
  diffConfigs,
  effectiveConfig,
  loadConfigFile,
  type Config,
  type ConfigDiff,
} from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type Metrics } from '../observability/metrics.ts';

/** What a reload did. `problems` lists why it was invalid or what failed (never a secret). */
export interface ReloadReport {
  /**
   * `applied`: the new config runs. `invalid`: the file could not be read or validated; nothing
   * changed. `failed`: valid, but a step failed (a flow did not drain in time, two aliases are one
   * cluster, the daemon is shutting down); what could be applied was, `problems` says what not.
   */
  readonly result: 'applied' | 'invalid' | 'failed';
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Changed flows, drained and started again. */
  readonly restarted: readonly string[];
  readonly unchanged: readonly string[];
  /** Settings that changed but only take effect when the process restarts (their running values stay). */
  readonly needsRestart: readonly string[];
  readonly problems?: readonly string[];
  /** Per restarted flow, the key paths that changed. */
  readonly reasons?: Readonly<Record<string, readonly string[]>>;
  /** Settings that changed and were applied in place (`log.level`). */
  readonly live?: readonly string[];
}

/** The steps of a reload the daemon performs. */
export interface ReloadHost {
  /** The config running now. */
  config(): Config;
  /** Why no reload can run now (the daemon is not started, or closing), if none can. */
  refusal(): string | undefined;
  /**
   * Stops a flow of the running config, by `deadline` (epoch ms): its start cancelled if it is
   * still starting, else drained and its clients closed. Rejects with why it did not drain (it is
   * stopped anyway). `removed`: its metric series go too.
   */
  retire(name: string, deadline: number, removed: boolean): Promise<void>;
  /** Makes `config` the running one: clients, clusters, live settings. Resolves with what failed. */
  switchTo(config: Config, diff: ConfigDiff): Promise<unknown[]>;
  /** Starts a flow of the (new) running config, with the retries of start-up. */
  launch(name: string): void;
  /** Rebuilds the group offset sync of a running flow (the flow itself is not touched). */
  rebuildGroupSync(name: string): Promise<void>;
}

export class Reloads {
  readonly #host: ReloadHost;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  /** The reload running or last run: the next one waits for it. */
  #last: Promise<unknown> = Promise.resolve();

  constructor(host: ReloadHost, metrics: Metrics, logger: Logger) {
    this.#host = host;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** Applies a validated config, after the reloads before it. */
  apply(next: Config): Promise<ReloadReport> {
    return this.#serialised(() => Promise.resolve(next));
  }

  /** Loads and validates the file (with `env`'s overrides), then applies it, after the reloads before it. */
  applyFile(file: string, env: NodeJS.ProcessEnv): Promise<ReloadReport> {
    return this.#serialised(() => loadConfigFile(file, env));
  }

  /** Resolves once no reload runs (close() waits so, bounded). */
  idle(): Promise<void> {
    return this.#last.then(() => {});
  }

  #serialised(load: () => Promise<Config>): Promise<ReloadReport> {
    const run = this.#last.then(() => this.#run(load));
    this.#last = run.catch(() => {});
    return run;
  }

  async #run(load: () => Promise<Config>): Promise<ReloadReport> {
    const report = await this.#attempt(load);
    this.#record(report);
    return report;
  }

  async #attempt(load: () => Promise<Config>): Promise<ReloadReport> {
    const current = this.#host.config();
    const refusal = this.#host.refusal();
    if (refusal !== undefined) return { ...nothing(current, 'failed'), problems: [refusal] };
    let next: Config;
    try {
      next = await load();
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [problemOf(error)];
      return { ...nothing(current, 'invalid'), problems };
    }
    // Checked again: the daemon may have begun closing while the file was read.
    const late = this.#host.refusal();
    if (late !== undefined) return { ...nothing(current, 'failed'), problems: [late] };
    return this.#change(current, next);
  }

  async #change(current: Config, next: Config): Promise<ReloadReport> {
    const diff = diffConfigs(current, next);
    const { added, removed, changed, unchanged } = diff.flows;
    const restarted = changed.map((c) => c.name);
    // The new config's drain time: an operator may raise it in the same reload.
    const deadline = Date.now() + next.shutdown.timeoutMs;
    const problems: string[] = [];
    const retired = await Promise.allSettled([
      ...removed.map((name) => this.#host.retire(name, deadline, true)),
      ...restarted.map((name) => this.#host.retire(name, deadline, false)),
    ]);
    for (const outcome of retired)
      if (outcome.status === 'rejected') problems.push(problemOf(outcome.reason));
    const switched = await this.#host.switchTo(effectiveConfig(current, next, diff), diff);
    problems.push(...switched.map(problemOf));
    for (const name of [...added, ...restarted]) this.#host.launch(name);
    const rebuilt = await Promise.allSettled(diff.groupSync.map((name) => this.#host.rebuildGroupSync(name)));
    for (const outcome of rebuilt)
      if (outcome.status === 'rejected') problems.push(problemOf(outcome.reason));
    return {
      result: problems.length === 0 ? 'applied' : 'failed',
      added,
      removed,
      restarted,
      unchanged,
      needsRestart: diff.needsRestart,
      ...(problems.length > 0 ? { problems } : {}),
      reasons: Object.fromEntries(changed.map((c) => [c.name, c.reasons])),
      live: diff.settings.filter((s) => s.effect === 'live').map((s) => s.key),
    };
  }

  /** One log line per reload, with its result and what changed; the metrics. */
  #record(report: ReloadReport): void {
    this.#metrics.reloaded(report.result);
    if (report.result === 'applied') this.#logger.info(report, 'config reloaded');
    else if (report.result === 'invalid')
      this.#logger.error(report, 'config reload refused: the file is invalid; nothing changed');
    else this.#logger.error(report, 'config reload failed: see problems');
  }
}

/** A report of a reload that changed nothing: every flow unchanged. */
function nothing(current: Config, result: 'invalid' | 'failed'): ReloadReport {
  return {
    result,
    added: [],
    removed: [],
    restarted: [],
    unchanged: current.flows.map((flow) => flow.name),
    needsRestart: [],
  };
}

/** An error as a problem line: its message and code (`KM_DRAIN_TIMEOUT`). */
function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `${message} (${errorCode(error)})`;
}
