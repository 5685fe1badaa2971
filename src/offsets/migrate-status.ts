// `kafka-mirror migrate-status`: for a cloud migration (or any cut-over), whether the target has
// caught up with each source topic of a flow: every record copied, the same partitions and topic
// configs, and the synced consumer groups' offsets in place. Reads only.
import type { Config, FlowConfig } from '../config/index.ts';
import type { TopicAdmin } from '../kafka/topic-admin.ts';
import type { Logger } from '../observability/logger.ts';
import { syncedGroups } from './group-sync.ts';
import {
  Translator,
  flowWithClients,
  type PartitionProgress,
  type PartitionTranslation,
} from './translate.ts';

export interface TopicMigration {
  readonly topic: string;
  readonly remoteTopic: string;
  readonly partitions: { readonly source: number; readonly target: number };
  /** Source offsets not on the target yet, over all partitions. */
  readonly behind: number;
  /** Allow-listed topic configs (flow.topicConfigs) set differently on the two sides: name -> [source, target]. */
  readonly configDifferences: Readonly<Record<string, readonly [string | null, string | null]>>;
  /** Synced groups with a committed offset on this topic, and those whose target offsets equal the translation. */
  readonly groups: { readonly total: number; readonly synced: number; readonly behind: readonly string[] };
  readonly ready: boolean;
}

export interface MigrationStatus {
  readonly flow: string;
  /** Group offset sync is off for the flow: groups are not checked. */
  readonly groupSync: boolean;
  readonly topics: TopicMigration[];
  readonly ready: boolean;
}

export async function migrationStatus(
  config: Config,
  logger: Logger,
  options: { readonly flow: string },
): Promise<MigrationStatus> {
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const translator = new Translator(config, flow, clients);
  await translator.connect();
  try {
    const topics = await topicMigrations(config, flow, translator);
    return {
      flow: flow.name,
      groupSync: flow.groupOffsetSync.enabled,
      topics,
      ready: topics.every((t) => t.ready),
    };
  } finally {
    await translator.close();
  }
}

/** Each source topic of the flow, compared with its copy on the target. */
async function topicMigrations(
  config: Config,
  flow: FlowConfig,
  translator: Translator,
): Promise<TopicMigration[]> {
  const { sourceAdmin, targetAdmin } = translator.clients;
  const groups = flow.groupOffsetSync.enabled
    ? (await sourceAdmin.groups()).filter(syncedGroups(config, flow)).sort()
    : [];
  const { progress, groups: translated } = await translator.survey(groups);
  const topics = [...new Set(progress.map((p) => p.topic))];
  const remoteOf = new Map(progress.map((p) => [p.topic, p.remoteTopic]));
  const remotes = [...new Set(progress.filter((p) => p.onTarget).map((p) => p.remoteTopic))];
  const [sourceConfigs, targetConfigs, targetCounts] = await Promise.all([
    sourceAdmin.topicConfigs(topics, flow.topicConfigs),
    targetAdmin.topicConfigs(remotes, flow.topicConfigs),
    targetAdmin.partitionCounts(),
  ]);
  const groupsOf = await groupsByTopic(targetAdmin, groups, translated);
  return topics.map((topic) => {
    const remoteTopic = remoteOf.get(topic) ?? topic;
    return topicMigration(
      topic,
      remoteTopic,
      {
        progress: progress.filter((p) => p.topic === topic),
        sourceConfigs: sourceConfigs.get(topic) ?? {},
        targetConfigs: targetConfigs.get(remoteTopic) ?? {},
        targetPartitions: targetCounts.get(remoteTopic) ?? 0,
      },
      groupsOf,
    );
  });
}

/** Per source topic: the synced groups with a committed offset on it, and those of them behind on the target. */
interface GroupsByTopic {
  readonly withCommits: ReadonlyMap<string, ReadonlySet<string>>;
  readonly unsynced: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Each group's target offsets compared with the translation of its source offsets. */
async function groupsByTopic(
  targetAdmin: TopicAdmin,
  groups: readonly string[],
  translated: ReadonlyMap<string, readonly PartitionTranslation[]>,
): Promise<GroupsByTopic> {
  const unsynced = new Map<string, Set<string>>(); // topic -> groups behind
  const withCommits = new Map<string, Set<string>>(); // topic -> groups with a commit
  for (const group of groups) {
    const partitions = (translated.get(group) ?? []).filter((p) => p.sourceOffset !== null);
    if (partitions.length === 0) continue;
    const onTarget = new Map(
      (await targetAdmin.committed(group, [...new Set(partitions.map((p) => p.remoteTopic))])).map((c) => [
        `${c.topic}/${c.partition}`,
        c.offset,
      ]),
    );
    for (const p of partitions) {
      addTo(withCommits, p.topic, group);
      // Behind: pending, or the target's offset short of the translation (ahead is fine).
      const there = onTarget.get(`${p.remoteTopic}/${p.partition}`) ?? -1;
      if (p.targetOffset === null || there < p.targetOffset) addTo(unsynced, p.topic, group);
    }
  }
  return { withCommits, unsynced };
}

/** One topic's status: ready when nothing is behind and partitions, configs and groups agree. */
function topicMigration(
  topic: string,
  remoteTopic: string,
  sides: {
    readonly progress: readonly PartitionProgress[];
    readonly sourceConfigs: Readonly<Record<string, string>>;
    readonly targetConfigs: Readonly<Record<string, string>>;
    readonly targetPartitions: number;
  },
  groupsOf: GroupsByTopic,
): TopicMigration {
  const behind = sides.progress.reduce((sum, p) => sum + p.behind, 0);
  const configDifferences = configDifferencesOf(sides.sourceConfigs, sides.targetConfigs);
  const partitions = { source: sides.progress.length, target: sides.targetPartitions };
  const total = groupsOf.withCommits.get(topic)?.size ?? 0;
  const groupsBehind = [...(groupsOf.unsynced.get(topic) ?? [])];
  return {
    topic,
    remoteTopic,
    partitions,
    behind,
    configDifferences,
    groups: { total, synced: total - groupsBehind.length, behind: groupsBehind },
    ready:
      behind === 0 &&
      partitions.source === partitions.target &&
      Object.keys(configDifferences).length === 0 &&
      groupsBehind.length === 0,
  };
}

/** The configs set differently on the two sides: name -> [source, target] (null: not set). */
function configDifferencesOf(
  source: Readonly<Record<string, string>>,
  target: Readonly<Record<string, string>>,
): Record<string, readonly [string | null, string | null]> {
  const differences: Record<string, readonly [string | null, string | null]> = {};
  for (const name of new Set([...Object.keys(source), ...Object.keys(target)])) {
    if (source[name] !== target[name]) differences[name] = [source[name] ?? null, target[name] ?? null];
  }
  return differences;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}
