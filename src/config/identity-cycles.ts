// Topic configuration sync along a cycle of identity-named flows (active-active `us <-> asia`, a
// ring `a -> b -> c -> a`) would copy a topic's configs back to the cluster they came from under
// the same name: a change made on one cluster could be reverted by the flow coming back before the
// flow going out copied it (each flow refreshes on its own timer). Such flows do not sync topic
// configs; each says so at start (info, not a config warning: identity active-active is a
// supported topology and its configs need no change), and docs/operations.md explains it. Along
// prefixed names nothing comes back under its own name (a flow never copies topics named after its
// target), so only cycles where every flow keeps names count.
import type { FlowConfig } from './types.ts';

/** Names of the flows with identity naming whose target reaches their source again through identity-named flows. */
export function identityCycleFlows(flows: readonly FlowConfig[]): Set<string> {
  const identity = flows.filter((f) => f.naming === 'identity');
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set([from]);
    const queue = [from];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      if (at === to) return true;
      for (const f of identity)
        if (f.source === at && !seen.has(f.target)) {
          seen.add(f.target);
          queue.push(f.target);
        }
    }
    return false;
  };
  return new Set(identity.filter((f) => reaches(f.target, f.source)).map((f) => f.name));
}

/** The flow as it runs: topic config sync off along an identity cycle. */
export function effectiveFlow(flow: FlowConfig, flows: readonly FlowConfig[]): FlowConfig {
  if (!flow.topicConfigSync.enabled || !identityCycleFlows(flows).has(flow.name)) return flow;
  return { ...flow, topicConfigSync: { ...flow.topicConfigSync, enabled: false } };
}
