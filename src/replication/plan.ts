import type { Config, FlowConfig } from '../config/index.ts';
import { flowTopicFilter, remoteTopicOf } from './topic-selection.ts';

export interface PlannedTopic {
  readonly source: string;
  readonly partitions: number;
  readonly remote: string;
  /** What topic sync would do on the target. */
  readonly action: 'exists' | 'create' | { grow: { from: number; to: number } };
}

export interface PlannedFlow {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly group: string;
  readonly naming: string;
  /** Undefined when a cluster of the flow could not be reached. */
  readonly topics: readonly PlannedTopic[] | undefined;
  /** Why its clusters could not be reached (`asia: connection refused (...)`), when known. */
  readonly unreachable?: string;
}

/** What `plan` learnt about the clusters besides their topics. */
export interface ClusterFacts {
  /** Brokers each cluster that answered has now. */
  readonly brokers?: ReadonlyMap<string, number>;
  /** Why each cluster that did not answer could not be reached. */
  readonly causes?: ReadonlyMap<string, string>;
}

export interface Plan {
  readonly flows: readonly PlannedFlow[];
  /** Flows that lead back to where they started; kept harmless by provenance (km.hops). */
  readonly loops: readonly string[];
  /**
   * Refused (exit 2): one remote topic written from different sources with identity names; two
   * flows copying one topic between the same clusters; a replication factor above the target's brokers.
   */
  readonly conflicts: readonly string[];
}

/**
 * What the flows of a config would replicate, from each cluster's topics and partition counts
 * (undefined for a cluster that could not be reached). Pure: `kafka-mirror plan` gathers the
 * topics and prints the result; nothing is written anywhere.
 */
export function makePlan(
  config: Config,
  topicsByCluster: ReadonlyMap<string, ReadonlyMap<string, number> | undefined>,
  facts: ClusterFacts = {},
): Plan {
  const aliases = Object.keys(config.clusters);
  const flows = config.flows.map((flow) => planFlow(flow, aliases, topicsByCluster, facts));
  const conflicts = [
    ...identityConflicts(config, flows),
    ...copiedTwice(flows),
    ...replicationFactorConflicts(config, facts.brokers),
  ];
  return { flows, loops: loopsOf(config), conflicts };
}

/** One flow's topics and what topic sync would do with each, or why its clusters could not be reached. */
function planFlow(
  flow: FlowConfig,
  aliases: readonly string[],
  topicsByCluster: ReadonlyMap<string, ReadonlyMap<string, number> | undefined>,
  facts: ClusterFacts,
): PlannedFlow {
  const sourceTopics = topicsByCluster.get(flow.source);
  const targetTopics = topicsByCluster.get(flow.target);
  const selected = flowTopicFilter(flow);
  const topics =
    sourceTopics === undefined || targetTopics === undefined
      ? undefined
      : [...sourceTopics]
          .filter(([topic]) => selected(topic))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([topic, partitions]): PlannedTopic => {
            const remote = remoteTopicOf(flow, topic, aliases);
            const existing = targetTopics.get(remote);
            const action =
              existing === undefined
                ? 'create'
                : existing < partitions
                  ? { grow: { from: existing, to: partitions } }
                  : 'exists';
            return { source: topic, partitions, remote, action };
          });
  const causes = [flow.source, flow.target].flatMap((alias) => {
    const cause = facts.causes?.get(alias);
    return cause === undefined ? [] : [`${alias}: ${cause}`];
  });
  return {
    name: flow.name,
    source: flow.source,
    target: flow.target,
    group: flow.group,
    naming: flow.naming,
    topics,
    ...(causes.length > 0 ? { unreachable: causes.join('; ') } : {}),
  };
}

/** One target topic written from two different source clusters under identity names. */
function identityConflicts(config: Config, flows: readonly PlannedFlow[]): string[] {
  const writers = new Map<string, Set<string>>();
  for (const [i, flow] of flows.entries()) {
    if (config.flows[i]?.naming !== 'identity') continue;
    for (const topic of flow.topics ?? []) {
      const key = `${flow.target}/${topic.remote}`;
      writers.set(key, (writers.get(key) ?? new Set()).add(flow.source));
    }
  }
  return [...writers]
    .filter(([, sources]) => sources.size > 1)
    .map(
      ([key, sources]) => `${key} is written from ${[...sources].sort().join(' and ')} with identity names`,
    );
}

/** Cycles in the graph of flows (cluster -> cluster), each from its smallest alias. */
function loopsOf(config: Config): string[] {
  const edges = new Map<string, string[]>();
  for (const flow of config.flows) edges.set(flow.source, [...(edges.get(flow.source) ?? []), flow.target]);
  const loops = new Set<string>();
  const walk = (start: string, at: string, path: string[]) => {
    for (const next of edges.get(at) ?? []) {
      if (next === start) {
        const cycle = [...path, next];
        const rotated = rotateToSmallest(cycle.slice(0, -1));
        loops.add([...rotated, rotated[0]].join(' -> '));
      } else if (!path.includes(next)) walk(start, next, [...path, next]);
    }
  };
  for (const alias of edges.keys()) walk(alias, alias, [alias]);
  return [...loops].sort();
}

/**
 * Two flows between the same clusters selecting one source topic: each has its own consumer group,
 * so every record would be written twice. validate refuses what it can tell offline
 * (src/config/flow-overlap.ts); here the topics that exist tell the rest.
 */
function copiedTwice(flows: readonly PlannedFlow[]): string[] {
  const conflicts: string[] = [];
  for (const [j, b] of flows.entries()) {
    for (const a of flows.slice(0, j)) {
      if (a.source !== b.source || a.target !== b.target) continue;
      const theirs = new Set(b.topics?.map((t) => t.source));
      const shared = (a.topics ?? []).filter((t) => theirs.has(t.source)).map((t) => t.source);
      const [first] = shared;
      if (first === undefined) continue;
      const more = shared.length > 1 ? ` (and ${shared.length - 1} more topics)` : '';
      conflicts.push(
        `flows ${a.name} and ${b.name} both copy ${a.source}/${first}${more} to ${a.target}: every record would be written twice`,
      );
    }
  }
  return conflicts;
}

/** A flow creating topics with more replicas than its target has brokers: every creation fails. */
function replicationFactorConflicts(
  config: Config,
  brokers: ReadonlyMap<string, number> | undefined,
): string[] {
  return config.flows.flatMap((flow) => {
    const count = brokers?.get(flow.target);
    if (count === undefined || flow.replicationFactor <= count) return [];
    return [
      `flow ${flow.name}: replicationFactor ${flow.replicationFactor} but ${flow.target} has ${count} broker(s): topics cannot be created there (use -1 for the target's default)`,
    ];
  });
}

function rotateToSmallest(cycle: string[]): string[] {
  const smallest = [...cycle].sort()[0];
  const at = cycle.indexOf(smallest ?? '');
  return [...cycle.slice(at), ...cycle.slice(0, at)];
}

export function renderPlan(plan: Plan): string {
  const lines: string[] = [];
  for (const flow of plan.flows) {
    lines.push(
      `flow ${flow.name}: ${flow.source} -> ${flow.target} (group ${flow.group}, naming ${flow.naming})`,
    );
    if (flow.topics === undefined)
      lines.push(
        `  (a cluster of this flow could not be reached${flow.unreachable === undefined ? '' : `: ${flow.unreachable}`})`,
      );
    else if (flow.topics.length === 0) lines.push('  no matching source topics');
    for (const t of flow.topics ?? []) {
      const action =
        typeof t.action === 'string'
          ? t.action
          : `grow ${t.action.grow.from} -> ${t.action.grow.to} partitions`;
      lines.push(`  ${t.source} (${t.partitions} partitions) -> ${t.remote} [${action}]`);
    }
  }
  for (const loop of plan.loops)
    lines.push(`loop: ${loop} (records never return to a cluster they reached: km.hops)`);
  for (const conflict of plan.conflicts) lines.push(`CONFLICT: ${conflict}`);
  return `${lines.join('\n')}\n`;
}
