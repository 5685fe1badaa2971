import type { Config } from '../config/index.ts';
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
}

export interface Plan {
  readonly flows: readonly PlannedFlow[];
  /** Flows that lead back to where they started; kept harmless by provenance (km.hops). */
  readonly loops: readonly string[];
  /** Two flows writing one remote topic from different sources with identity names: refused. */
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
): Plan {
  const aliases = Object.keys(config.clusters);
  const flows: PlannedFlow[] = config.flows.map((flow) => {
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
    return {
      name: flow.name,
      source: flow.source,
      target: flow.target,
      group: flow.group,
      naming: flow.naming,
      topics,
    };
  });

  // Conflicts: one target topic written from two different source clusters under identity names.
  const writers = new Map<string, Set<string>>();
  for (const [i, flow] of flows.entries()) {
    if (config.flows[i]?.naming !== 'identity') continue;
    for (const topic of flow.topics ?? []) {
      const key = `${flow.target}/${topic.remote}`;
      writers.set(key, (writers.get(key) ?? new Set()).add(flow.source));
    }
  }
  const conflicts = [...writers]
    .filter(([, sources]) => sources.size > 1)
    .map(
      ([key, sources]) => `${key} is written from ${[...sources].sort().join(' and ')} with identity names`,
    );

  // Loops: cycles in the graph of flows (cluster -> cluster).
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
  return { flows, loops: [...loops].sort(), conflicts };
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
    if (flow.topics === undefined) lines.push('  (a cluster of this flow could not be reached)');
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
