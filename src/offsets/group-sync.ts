// Group offset sync: keeps the target's copy of selected consumer groups' offsets at the
// translation of their source offsets, so that after a failover the groups continue on the target
// where they were (docs/disaster-recovery.md). Per flow, opt-in (`groupOffsetSync`).
//
// Rules: a group is written only while it has no active member on the target (and the commit is
// made from outside the group, which the broker refuses once a member has joined), and a
// partition's offset on the target only ever moves forward. Partitions whose source position is
// not on the target yet (pending) are left where they are and counted as translation lag.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../config/index.ts';
import { GroupActiveError, GroupSyncFailedError, InternalInvariantError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { topicFilter } from '../replication/topic-selection.ts';
import { Translator, flowWithClients, type PartitionTranslation } from './translate.ts';

export type SyncOutcome = 'synced' | 'current' | 'active' | 'failed';

export interface GroupSyncResult {
  readonly group: string;
  readonly outcome: SyncOutcome;
  /** Target offsets committed by this pass (outcome `synced`). */
  readonly committed: ReadonlyArray<{
    topic: string;
    partition: number;
    offset: number;
    previous: number | null;
  }>;
  readonly partitions: readonly PartitionTranslation[];
  /** Records the group consumed on the source that are not on the target yet. */
  readonly translationLag: number;
  readonly error?: string;
}

/** The consumer groups a flow's group offset sync selects: its patterns, never kafka-mirror's own groups. */
export function syncedGroups(config: Config, flow: FlowConfig): (group: string) => boolean {
  const patterns = topicFilter(flow.groupOffsetSync.include, flow.groupOffsetSync.exclude);
  const own = new Set(config.flows.map((f) => f.group));
  return (group) => patterns(group) && !own.has(group) && !group.startsWith('kafka-mirror');
}

export class GroupOffsetSync {
  readonly #flow: FlowConfig;
  readonly #translator: Translator;
  readonly #selected: (group: string) => boolean;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #failing = false;
  #closed: Promise<void> | undefined;
  #destroyed: Promise<void> | undefined;

  constructor(
    config: Config,
    flow: FlowConfig,
    clients: { source: KafkaClient; target: KafkaClient },
    logger: Logger,
    metrics?: Metrics,
  ) {
    this.#flow = flow;
    this.#translator = new Translator(config, flow, clients);
    this.#selected = syncedGroups(config, flow);
    this.#logger = logger;
    this.#metrics = metrics;
  }

  async connect(): Promise<void> {
    await this.#translator.connect();
  }

  /** Syncs every `groupOffsetSync.intervalMs`, the first pass at once. */
  start(): void {
    const pass = () => {
      this.#running ??= this.syncSelected()
        .catch((error: unknown) => {
          if (this.#destroyed !== undefined) return; // its connections were closed under it
          if (!this.#failing) this.#logger.warn({ err: error }, 'group offset sync failed; will retry');
          this.#failing = true;
        })
        .finally(() => (this.#running = undefined));
    };
    pass();
    this.#timer = setInterval(pass, this.#flow.groupOffsetSync.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer, waits for a pass in progress, then closes the connections. Idempotent. */
  close(): Promise<void> {
    this.#closed ??=
      this.#destroyed ??
      (async () => {
        clearInterval(this.#timer);
        await this.#running;
        await this.destroy();
      })();
    return this.#closed;
  }

  /** Stops the timer and closes the connections at once: a pass in progress fails (not logged). Idempotent. */
  destroy(): Promise<void> {
    clearInterval(this.#timer);
    this.#destroyed ??= this.#translator.close();
    return this.#destroyed;
  }

  /** One pass over the source groups the patterns select. */
  async syncSelected(): Promise<GroupSyncResult[]> {
    const groups = (await this.#translator.clients.sourceAdmin.groups()).filter(this.#selected).sort();
    const results = await this.sync(groups);
    const labels = { flow: this.#flow.name };
    this.#metrics?.groupSyncGroups.set(labels, groups.length);
    this.#metrics?.groupSyncedGroups.set(
      labels,
      results.filter((r) => r.outcome === 'synced' || r.outcome === 'current').length,
    );
    if (this.#failing) this.#logger.info({ groups: groups.length }, 'group offset sync works again');
    this.#failing = false;
    return results;
  }

  /**
   * Syncs these groups once. With `refuseActive`, what `offsets failover` wants: a group with
   * members on the target is an error (GroupActiveError) instead of outcome `active`, and a group
   * that could not be synced is an error (GroupSyncFailedError, with the cause) instead of outcome
   * `failed`.
   */
  async sync(
    groups: readonly string[],
    options: { refuseActive?: boolean } = {},
  ): Promise<GroupSyncResult[]> {
    if (groups.length === 0) return [];
    const translated = await this.#translator.translateGroups(groups);
    const results: GroupSyncResult[] = [];
    for (const group of groups) {
      const partitions = translated.get(group) ?? [];
      const translationLag = partitions.reduce((sum, p) => sum + p.unreplicated, 0);
      let result: GroupSyncResult;
      try {
        result = await this.#syncGroup(group, partitions, translationLag, options.refuseActive === true);
      } catch (error) {
        if (error instanceof GroupActiveError) throw error;
        if (options.refuseActive === true) throw new GroupSyncFailedError(group, error);
        this.#logger.warn({ group, err: error }, 'group offset sync failed for a group; will retry');
        result = {
          group,
          outcome: 'failed',
          committed: [],
          partitions,
          translationLag,
          error: String(error),
        };
      }
      const labels = { flow: this.#flow.name, group };
      this.#metrics?.groupSyncs.inc({ flow: this.#flow.name, outcome: result.outcome });
      this.#metrics?.groupTranslationLag.set(labels, translationLag);
      if (result.outcome === 'synced' || result.outcome === 'current')
        this.#metrics?.groupSynced.set(labels, Date.now() / 1000);
      results.push(result);
    }
    return results;
  }

  async #syncGroup(
    group: string,
    partitions: readonly PartitionTranslation[],
    translationLag: number,
    refuseActive: boolean,
  ): Promise<GroupSyncResult> {
    const movable = partitions.filter((p) => p.targetOffset !== null);
    const base = { group, partitions, translationLag };
    if (movable.length === 0) return { ...base, outcome: 'current', committed: [] };
    const members = await this.#translator.clients.targetAdmin.activeMembers(group);
    if (members > 0) {
      if (refuseActive) throw new GroupActiveError(group, members);
      return { ...base, outcome: 'active', committed: [] };
    }
    const topics = [...new Set(movable.map((p) => p.remoteTopic))];
    const current = new Map(
      (await this.#translator.clients.targetAdmin.committed(group, topics)).map((c) => [
        `${c.topic}/${c.partition}`,
        c.offset,
      ]),
    );
    const committed: Array<{ topic: string; partition: number; offset: number; previous: number | null }> =
      [];
    for (const topic of topics) {
      const forward = movable.flatMap((p) => {
        if (p.remoteTopic !== topic || p.targetOffset === null) return [];
        const previous = current.get(`${topic}/${p.partition}`) ?? -1;
        // Never backwards: a group that consumed further on the target keeps its position.
        return previous >= p.targetOffset
          ? []
          : [
              {
                topic,
                partition: p.partition,
                offset: p.targetOffset,
                previous: previous < 0 ? null : previous,
              },
            ];
      });
      if (forward.length === 0) continue;
      await this.#translator.clients.target.commitOffsets(group, topic, forward);
      committed.push(...forward);
    }
    if (committed.length > 0) {
      this.#logger.info({ group, partitions: committed.length }, 'group offsets synced to the target');
    }
    return { ...base, outcome: committed.length > 0 ? 'synced' : 'current', committed };
  }
}

/**
 * `kafka-mirror offsets failover`: one final sync of one group, refused while the group has
 * members on the target.
 */
export async function failover(
  config: Config,
  logger: Logger,
  options: { readonly flow: string; readonly group: string },
): Promise<GroupSyncResult> {
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const sync = new GroupOffsetSync(config, flow, clients, logger);
  await sync.connect();
  try {
    const [result] = await sync.sync([options.group], { refuseActive: true });
    if (result === undefined) throw new InternalInvariantError(`group ${options.group} was not synced`);
    return result;
  } finally {
    await sync.close();
  }
}
