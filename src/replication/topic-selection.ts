import type { FlowConfig, NamingPolicy } from '../config/index.ts';

/** Topics the daemon itself writes (heartbeats, checkpoints) start with this and are never replicated as data. */
export const INTERNAL_TOPIC_PREFIX = 'kafka-mirror.';

export type TopicFilter = (topic: string) => boolean;

/**
 * A topic is selected when an include pattern matches its whole name and no exclude pattern
 * does (exclude wins). Kafka's internal topics (`__consumer_offsets`, `__transaction_state`, any
 * `__*`) and the daemon's own internal topics never match, whatever the patterns say.
 */
export function topicFilter(include: readonly string[], exclude: readonly string[]): TopicFilter {
  const whole = (patterns: readonly string[]) => patterns.map((p) => new RegExp(`^(?:${p})$`));
  const includes = whole(include);
  const excludes = whole(exclude);
  return (topic) =>
    !topic.startsWith('__') &&
    !topic.startsWith(INTERNAL_TOPIC_PREFIX) &&
    includes.some((re) => re.test(topic)) &&
    !excludes.some((re) => re.test(topic));
}

/** The name a source topic gets on the target: `orders` (identity) or `us.orders` (prefix). */
export function remoteTopic(naming: NamingPolicy, sourceAlias: string, topic: string): string {
  return naming === 'prefix' ? `${sourceAlias}.${topic}` : topic;
}

/**
 * The remote topic of a flow. With `prefix` naming a topic that already carries a cluster alias
 * prefix (`us.orders` on asia, copied onward to eu) keeps its name unless the flow stacks prefixes,
 * so chains do not grow `eu.asia.us.orders`.
 */
export function remoteTopicOf(
  flow: Pick<FlowConfig, 'naming' | 'source' | 'stackPrefixes'>,
  topic: string,
  aliases: readonly string[],
): string {
  if (
    flow.naming === 'prefix' &&
    !flow.stackPrefixes &&
    aliases.some((alias) => topic.startsWith(`${alias}.`))
  ) {
    return topic;
  }
  return remoteTopic(flow.naming, flow.source, topic);
}

/**
 * The topics a flow replicates: its include/exclude selection, minus topics named after its own
 * target (`us.orders` is what us wrote elsewhere: it never goes back to us).
 */
export function flowTopicFilter(flow: Pick<FlowConfig, 'target' | 'topics'>): TopicFilter {
  const selected = topicFilter(flow.topics.include, flow.topics.exclude);
  return (topic) => selected(topic) && !topic.startsWith(`${flow.target}.`);
}
