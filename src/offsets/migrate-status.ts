// `kafka-mirror migrate-status`: for a cloud migration (or any cut-over), whether the target has
// caught up with each source topic of a flow: every record copied, the same partitions and topic
// configs, and the synced consumer groups' offsets in place. Reads only.
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { syncedGroups } from './group-sync.ts';
import { Translator, flowWithClients } from './translate.ts';

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
  const { sourceAdmin, targetAdmin } = translator.clients;
  await translator.connect();
  try {
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
    const result = topics.map((topic): TopicMigration => {
      const remoteTopic = remoteOf.get(topic) ?? topic;
      const mine = progress.filter((p) => p.topic === topic);
      const behind = mine.reduce((sum, p) => sum + p.behind, 0);
      const source = sourceConfigs.get(topic) ?? {};
      const target = targetConfigs.get(remoteTopic) ?? {};
      const configDifferences: Record<string, readonly [string | null, string | null]> = {};
      for (const name of new Set([...Object.keys(source), ...Object.keys(target)])) {
        if (source[name] !== target[name])
          configDifferences[name] = [source[name] ?? null, target[name] ?? null];
      }
      const partitions = { source: mine.length, target: targetCounts.get(remoteTopic) ?? 0 };
      const total = withCommits.get(topic)?.size ?? 0;
      const groupsBehind = [...(unsynced.get(topic) ?? [])];
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
    });
    return {
      flow: flow.name,
      groupSync: flow.groupOffsetSync.enabled,
      topics: result,
      ready: result.every((t) => t.ready),
    };
  } finally {
    await translator.close();
  }
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (set === undefined) map.set(key, (set = new Set()));
  set.add(value);
}
