import type { FlowConfig } from '../config/index.ts';
import { TargetTopicMissingError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { configFilter, type TopicConfigCatalog } from './config-sync.ts';
import { flowTopicFilter, remoteTopicOf, topicFilter } from './topic-selection.ts';

/** What creating a topic came to: created now, or there already. */
export type TopicCreation = 'created' | 'exists';

/** What the synchroniser needs of a cluster (implemented by kafka/topic-admin.ts). */
export interface TopicCatalog extends TopicConfigCatalog {
  partitionCounts(): Promise<Map<string, number>>;
  topicConfigs(
    topics: readonly string[],
    allowed: readonly string[],
  ): Promise<Map<string, Record<string, string>>>;
  /**
   * Creates the topic; `exists` when it was there already (another instance of the flow created it
   * first), which is no failure. Rejects for any other refusal.
   */
  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
  ): Promise<TopicCreation>;
  addPartitions(name: string, count: number): Promise<void>;
  /** The topics among `topics` for which `group` has a committed offset. */
  committedTopics(group: string, topics: readonly string[]): Promise<Set<string>>;
}

export interface SyncResult {
  /** Source topics ready to replicate: selected, and their remote topic exists with enough partitions. */
  readonly ready: string[];
  /** Partition count of every ready source topic. */
  readonly partitions: Map<string, number>;
  readonly created: string[];
  /** Each remote topic created by this pass, with the configs it was created with. */
  readonly createdWith: Map<string, Record<string, string>>;
  readonly grown: string[];
  /** Source topic -> why it is not ready (retried on the next refresh). */
  readonly failed: Map<string, string>;
  /** Source topics not selected: `filter` (include/exclude, internal) or `policy` (named after the target). */
  readonly excluded: { filter: number; policy: number };
}

/**
 * One pass of the topic synchroniser of a flow: lists the source topics, applies the flow's
 * selection, creates missing remote topics on the target with the source's partition count and
 * the allowed topic configs, and adds partitions where the source grew (target partition =
 * source partition needs at least as many). It never deletes or shrinks anything, and never
 * recreates a remote topic this flow has replicated into before (an operator deleted it).
 */
export async function syncTopics(
  flow: FlowConfig,
  aliases: readonly string[],
  source: TopicCatalog,
  target: TopicCatalog,
  logger: Logger,
  /** The daemon's internal topics this flow copies under their own name (heartbeats), if they exist. */
  internal: readonly string[] = [],
  /**
   * Remote topics reported deleted, kept by the caller from one pass to the next: each is logged
   * once while it stays missing (not at every refresh), and again only after it came back.
   */
  deleted: Set<string> = new Set(),
): Promise<SyncResult> {
  const result: SyncResult = {
    ready: [],
    partitions: new Map(),
    created: [],
    createdWith: new Map(),
    grown: [],
    failed: new Map(),
    excluded: { filter: 0, policy: 0 },
  };
  const sourceTopics = selectedTopics(flow, await source.partitionCounts(), internal, result.excluded);
  const remoteOf = (topic: string) =>
    internal.includes(topic) ? topic : remoteTopicOf(flow, topic, aliases);
  const targetTopics = await target.partitionCounts();
  for (const remote of deleted) {
    if (!targetTopics.has(remote)) continue;
    // Recreated by an operator (the runbook's first way on); a new deletion is reported again.
    deleted.delete(remote);
    logger.info({ remoteTopic: remote }, 'remote topic exists again');
  }
  const missing = sourceTopics.filter(([topic]) => !targetTopics.has(remoteOf(topic))).map(([t]) => t);
  const replicatedBefore =
    missing.length > 0 ? await source.committedTopics(flow.group, missing) : new Set<string>();
  const configs = missing.length > 0 ? await creationConfigs(flow, source, missing) : new Map();
  const pass: Pass = { flow, target, logger, deleted, result };
  for (const [topic, partitions] of sourceTopics) {
    const remote = remoteOf(topic);
    const existing = targetTopics.get(remote);
    try {
      if (existing === undefined && replicatedBefore.has(topic)) reportDeleted(pass, topic, remote);
      else if (existing === undefined)
        await create(pass, topic, remote, partitions, configs.get(topic) ?? {});
      else if (existing < partitions) await grow(pass, topic, remote, existing, partitions);
      result.ready.push(topic);
      result.partitions.set(topic, partitions);
    } catch (error) {
      result.failed.set(topic, error instanceof Error ? error.message : String(error));
      logger.error({ topic, remoteTopic: remote, err: error }, 'cannot prepare remote topic; will retry');
    }
  }
  return result;
}

/**
 * The configs each missing remote topic is created with: those of `topicConfigs` its source topic
 * sets, and with topic config sync every other one the sync would set at the next refresh (so the
 * topic is right from its first record; an excluded config listed in `topicConfigs` is still
 * copied here, as it always was, and never synced afterwards).
 */
async function creationConfigs(
  flow: FlowConfig,
  source: TopicCatalog,
  topics: readonly string[],
): Promise<Map<string, Record<string, string>>> {
  if (!flow.topicConfigSync.enabled) return source.topicConfigs(topics, flow.topicConfigs);
  const synced = configFilter(flow.topicConfigSync.exclude);
  const copied = (name: string) => flow.topicConfigs.includes(name) || synced(name);
  const overrides = await source.topicOverrides(topics);
  return new Map(
    [...overrides].map(([topic, all]) => [
      topic,
      Object.fromEntries(Object.entries(all).filter(([name]) => copied(name))),
    ]),
  );
}

/** What one pass works with. */
interface Pass {
  readonly flow: FlowConfig;
  readonly target: TopicCatalog;
  readonly logger: Logger;
  readonly deleted: Set<string>;
  readonly result: SyncResult;
}

/** The source topics the flow copies (selected, or internal), counting those it does not by why. */
function selectedTopics(
  flow: FlowConfig,
  topics: ReadonlyMap<string, number>,
  internal: readonly string[],
  excluded: { filter: number; policy: number },
): Array<[topic: string, partitions: number]> {
  const selected = flowTopicFilter(flow);
  const byFilter = topicFilter(flow.topics.include, flow.topics.exclude);
  return [...topics].filter(([topic]) => {
    if (internal.includes(topic) || selected(topic)) return true;
    if (byFilter(topic)) excluded.policy++;
    else excluded.filter++;
    return false;
  });
}

/**
 * The remote topic of a topic this flow replicated into before is gone: deleted on the target. It
 * stays ready, so its writes halt the partitions with KM_TARGET_TOPIC_MISSING (target-writer.ts);
 * each halt is logged by the flow. Reported once while it stays missing.
 */
function reportDeleted({ logger, deleted }: Pass, topic: string, remote: string): void {
  if (!deleted.has(remote))
    logger.error(
      { topic, remoteTopic: remote, err: new TargetTopicMissingError(remote, undefined) },
      'remote topic was deleted; not recreating it (see the runbook: target topic deleted)',
    );
  deleted.add(remote);
}

async function create(
  { flow, target, logger, result }: Pass,
  topic: string,
  remote: string,
  partitions: number,
  configs: Record<string, string>,
): Promise<void> {
  const creation = await target.createTopic(remote, partitions, flow.replicationFactor, configs);
  // `exists`: another instance of the flow created it first; that is success too.
  if (creation === 'exists') return;
  result.created.push(remote);
  result.createdWith.set(remote, configs);
  logger.info({ topic, remoteTopic: remote, partitions, configs }, 'created remote topic');
}

/** Target partition = source partition: the remote topic needs at least as many partitions. */
async function grow(
  { target, logger, result }: Pass,
  topic: string,
  remote: string,
  from: number,
  to: number,
): Promise<void> {
  await target.addPartitions(remote, to);
  result.grown.push(remote);
  logger.info({ topic, remoteTopic: remote, from, to }, 'added partitions to remote topic');
}
