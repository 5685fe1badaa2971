// Two flows between the same source and target that both select a topic copy each of its records
// twice, through two consumer groups (issue 20). validate has no topics to look at, so the check
// here is conservative: it refuses only what certainly overlaps, and `kafka-mirror plan` checks
// the topics that exist (src/replication/plan.ts).
//
// The rule (docs/configuration.md): flows A and B with the same source and target overlap when
//   - a literal include of one (a name without regular-expression syntax, such as `payments` or
//     `orders\.eu`) is selected by both flows, their exclusions included; the name is the example;
//   - or both include the same pattern text and neither excludes that same text; the pattern is
//     the example.
// Different regular expressions that happen to share names (`orders\..*` and `.*\.eu`) are not
// compared here: plan finds them among the topics.
import type { FlowConfig } from './types.ts';

export interface FlowOverlap {
  /** Indexes in the config's flows: `first` < `second`. */
  readonly first: number;
  readonly second: number;
  /** A topic name (from a literal include) or a pattern both flows include. */
  readonly example: string;
}

/** Characters with a meaning in a regular expression; escaped, they stand for themselves. */
const SYNTAX = '\\^$.|?*+()[]{}';

/** The one name a pattern matches, when it has no regular-expression syntax (escapes allowed). */
export function literalOf(pattern: string): string | undefined {
  let name = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !(SYNTAX.includes(next) || next === '-' || next === '/')) return undefined;
      name += next;
      i++;
    } else if (SYNTAX.includes(c)) return undefined;
    else name += c;
  }
  return name;
}

/** As the flow's topic filter (src/replication/topic-selection.ts): whole-name matches, exclude wins, internal topics never. */
function selects(flow: FlowConfig, topic: string): boolean {
  const whole = (p: string) => new RegExp(`^(?:${p})$`).test(topic);
  return (
    !topic.startsWith('__') &&
    !topic.startsWith('kafka-mirror.') &&
    !topic.startsWith(`${flow.target}.`) &&
    flow.topics.include.some(whole) &&
    !flow.topics.exclude.some(whole)
  );
}

function example(a: FlowConfig, b: FlowConfig): string | undefined {
  for (const pattern of [...a.topics.include, ...b.topics.include]) {
    const name = literalOf(pattern);
    if (name !== undefined && selects(a, name) && selects(b, name)) return pattern;
  }
  for (const pattern of a.topics.include) {
    if (literalOf(pattern) !== undefined || !b.topics.include.includes(pattern)) continue;
    if (!a.topics.exclude.includes(pattern) && !b.topics.exclude.includes(pattern)) return pattern;
  }
  return undefined;
}

/**
 * Pairs of flows with different names, the same source and the same target, that certainly
 * select a topic in common. Flows with invalid patterns are skipped (reported elsewhere).
 */
export function flowOverlaps(flows: readonly FlowConfig[]): FlowOverlap[] {
  const overlaps: FlowOverlap[] = [];
  for (let second = 0; second < flows.length; second++) {
    for (let first = 0; first < second; first++) {
      const a = flows[first] as FlowConfig;
      const b = flows[second] as FlowConfig;
      if (a.source !== b.source || a.target !== b.target || a.source === a.target || a.name === b.name)
        continue;
      let found: string | undefined;
      try {
        found = example(a, b);
      } catch {
        continue; // an invalid pattern, already reported under its key
      }
      if (found !== undefined) overlaps.push({ first, second, example: found });
    }
  }
  return overlaps;
}
