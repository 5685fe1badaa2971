// What a config reload changes (docs/operations.md, Reloading the configuration): two validated
// configs in, the flows to add, remove, restart and leave alone, the settings applied live and
// those that need a process restart. Pure: the daemon (src/daemon/reload.ts) does the work.
// Changes are named by key path only, never by value: a path such as `clusters.us.sasl.password`
// says that a secret changed, never what it is (DESIGN.md invariant 7).
import type { Config, FlowConfig } from './types.ts';

/**
 * What a changed top-level setting does to a running daemon: `live` is applied in place,
 * `restart-flows` drains and restarts every flow (each is built with it), `restart-process` is
 * not applied (reported in needsRestart; the running value stays in effect).
 */
export type SettingEffect = 'live' | 'restart-flows' | 'restart-process';

/**
 * The effect of each setting, looked up by its path, then by its section. A setting in neither
 * (one added to the schema later) needs a process restart until someone decides otherwise here.
 */
export const SETTING_EFFECTS: Readonly<Record<string, SettingEffect>> = {
  // Each flow's queue, reader, writer and heartbeat emitter are built with these.
  queue: 'restart-flows',
  consumer: 'restart-flows',
  producer: 'restart-flows',
  heartbeats: 'restart-flows',
  // Read when they are used.
  'shutdown.timeoutMs': 'live',
  'metrics.lagIntervalMs': 'live',
  'admin.stallTimeoutMs': 'live',
  'log.level': 'live',
  // The admin server's socket and the log destination are set up once, at start.
  'admin.host': 'restart-process',
  'admin.port': 'restart-process',
  'admin.tls': 'restart-process',
  'log.pretty': 'restart-process',
  // The file watcher is set up at start (src/cli/start.ts).
  reload: 'restart-process',
};

/** A flow kept by name whose config or environment changed: drained and restarted alone. */
export interface FlowChange {
  readonly name: string;
  /** Key paths that changed: the flow's own (`topics.include`), its clusters', or settings it is built with. */
  readonly reasons: readonly string[];
}

export interface ConfigDiff {
  readonly flows: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly FlowChange[];
    readonly unchanged: readonly string[];
  };
  readonly clusters: {
    readonly added: readonly string[];
    readonly removed: readonly string[];
    readonly changed: readonly string[];
  };
  /** Aliases whose client is replaced (its settings changed, or the request timeout every client has). */
  readonly clients: readonly string[];
  /** Top-level settings that changed (key paths), each with its effect. */
  readonly settings: ReadonlyArray<{ readonly key: string; readonly effect: SettingEffect }>;
  /** Settings changed that only a process restart applies. */
  readonly needsRestart: readonly string[];
  /**
   * Unchanged flows with group offset sync whose sync is rebuilt: it leaves out the groups of every
   * flow and reads every alias, and those sets changed. The flow itself keeps running.
   */
  readonly groupSync: readonly string[];
}

/** What reloading `next` over `current` (both validated) does. */
export function diffConfigs(current: Config, next: Config): ConfigDiff {
  const clusters = diffClusters(current, next);
  const settings = changedPaths(settingsOf(current), settingsOf(next)).map((key) => ({
    key,
    effect: settingEffect(key),
  }));
  const restartAll = settings.filter((s) => s.effect === 'restart-flows').map((s) => s.key);
  const aliasesChanged = clusters.added.length > 0 || clusters.removed.length > 0;
  const before = new Map(current.flows.map((flow) => [flow.name, flow]));
  const after = new Set(next.flows.map((flow) => flow.name));
  const flows = {
    added: [] as string[],
    removed: current.flows.filter((flow) => !after.has(flow.name)).map((flow) => flow.name),
    changed: [] as FlowChange[],
    unchanged: [] as string[],
  };
  for (const flow of next.flows) {
    const old = before.get(flow.name);
    if (old === undefined) {
      flows.added.push(flow.name);
      continue;
    }
    const reasons = [
      ...changedPaths(old, flow),
      ...[flow.source, flow.target].flatMap((alias) =>
        clusters.changedPaths.filter((path) => path.startsWith(`clusters.${alias}.`)),
      ),
      ...restartAll,
      // `us.orders` keeps its name under prefix naming only while `us` is an alias.
      ...(aliasesChanged && flow.naming === 'prefix' && !flow.stackPrefixes ? ['clusters (aliases)'] : []),
    ];
    if (reasons.length > 0) flows.changed.push({ name: flow.name, reasons: [...new Set(reasons)] });
    else flows.unchanged.push(flow.name);
  }
  const groupsChanged = changedPaths(groupsOf(current), groupsOf(next)).length > 0;
  const timeoutChanged = settings.some((s) => s.key === 'producer.requestTimeoutMs');
  return {
    flows,
    clusters: { added: clusters.added, removed: clusters.removed, changed: clusters.changed },
    clients: timeoutChanged ? Object.keys(current.clusters) : [...clusters.changed, ...clusters.removed],
    settings,
    needsRestart: settings.filter((s) => s.effect === 'restart-process').map((s) => s.key),
    groupSync:
      groupsChanged || aliasesChanged
        ? flows.unchanged.filter((name) => next.flows.find((f) => f.name === name)?.groupOffsetSync.enabled)
        : [],
  };
}

/**
 * The config a daemon runs after reloading `next`: `next`, except the settings that need a
 * process restart, which keep their running values (so /status and the daemon never claim what
 * is not in effect).
 */
export function effectiveConfig(current: Config, next: Config, diff: ConfigDiff): Config {
  if (diff.needsRestart.length === 0) return next;
  const result: Record<string, unknown> = { ...next };
  for (const path of diff.needsRestart) {
    const [section = '', key] = path.split('.');
    const running = (current as unknown as Record<string, Record<string, unknown>>)[section];
    if (key === undefined || running === undefined) result[section] = running;
    else result[section] = Object.freeze({ ...(result[section] as object), [key]: running[key] });
  }
  return Object.freeze(result) as unknown as Config;
}

/** The effect of a changed setting: by its path, each shorter prefix, then the default. */
export function settingEffect(path: string): SettingEffect {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const effect = SETTING_EFFECTS[parts.slice(0, n).join('.')];
    if (effect !== undefined) return effect;
  }
  return 'restart-process';
}

function diffClusters(current: Config, next: Config) {
  const before = Object.keys(current.clusters);
  const after = Object.keys(next.clusters);
  const paths = changedPaths(
    Object.fromEntries(before.filter((a) => a in next.clusters).map((a) => [a, current.clusters[a]])),
    Object.fromEntries(after.filter((a) => a in current.clusters).map((a) => [a, next.clusters[a]])),
  ).map((path) => `clusters.${path}`);
  return {
    added: after.filter((alias) => !(alias in current.clusters)),
    removed: before.filter((alias) => !(alias in next.clusters)),
    changed: [...new Set(paths.map((path) => path.split('.')[1] as string))],
    changedPaths: paths,
  };
}

/** Everything but clusters and flows. */
function settingsOf(config: Config): Record<string, unknown> {
  const { clusters: _clusters, flows: _flows, ...settings } = config;
  return settings;
}

/** What group offset sync depends on besides its own flow: the groups of all flows, the aliases. */
function groupsOf(config: Config): Record<string, unknown> {
  return {
    groups: config.flows.map((flow: FlowConfig) => flow.group).sort(),
    aliases: Object.keys(config.clusters).sort(),
  };
}

/**
 * The key paths (`topics.include`, `queue.maxBytes`) whose values differ, descending into
 * mappings; a list is one value (compared whole, in order).
 */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (isMapping(a) && isMapping(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => changedPaths(a[key], b[key], `${prefix}${key}.`));
  }
  return sameValue(a, b) ? [] : [prefix.slice(0, -1)];
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => changedPaths(item, b[i]).length === 0);
  if (isMapping(a) && isMapping(b)) return changedPaths(a, b).length === 0;
  return Object.is(a, b);
}
