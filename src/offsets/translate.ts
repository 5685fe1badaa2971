// Offset translation: where a source consumer group's committed position (or any source position,
// positions.ts) is on the target.
//
// Offsets are not preserved, but every replicated record carries its source offset
// (`km.src.offset`), and a flow writes each source partition to the same target partition in
// order. So the source offsets along a target partition rise (a crash replay repeats a stretch,
// see below), and the translation of a committed offset c is found by search, never by scan:
//
// 1. the first source record at or after c (one fetch) gives a timestamp; the target's own time
//    index (ListOffsets by timestamp) gives a target position near it;
// 2. from there, probes of single records (one small fetch each) bracket and then bisect the
//    target partition for the first record whose source offset is at or after c.
//
// The result is that record's target offset: a consumer starting there reads every source record
// from c on and none before it. Gaps (compaction, transaction markers, aborted records, records
// skipped by loop prevention) need nothing special: the search looks for "at or after". Records
// on the target that did not come from this source partition (written there, or copied from
// another source) are stepped over by the probes. Offsets
// whose records are not on the target yet are reported as pending, never guessed. After a crash of
// the replicator a stretch of records is written twice (at-least-once); the translation then lands
// on one of the copies, and a consumer may see the duplicated stretch again, never a gap.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { ClusterConfig, Config, FlowConfig } from '../config/index.ts';
import { InvalidPositionError, TranslationFailedError, UsageError } from '../errors/index.ts';
import { createClient } from '../kafka/client.ts';
import { connectAll } from '../kafka/connect-all.ts';
import { RawClient } from '../kafka/raw-client.ts';
import { TopicAdmin } from '../kafka/topic-admin.ts';
import type { Logger } from '../observability/logger.ts';
import { partitionKey } from '../replication/ports.ts';
import { lastReplicated, probeFrom, type Replicated, type TargetView } from './frontier.ts';
import { searchTarget } from './search.ts';
import { flowTopicFilter, remoteTopicOf } from '../replication/topic-selection.ts';

/**
 * - `translated`: `targetOffset` is the first target record replicated from `sourceOffset` or after.
 * - `caught-up`: every source record before `sourceOffset` is on the target and none after it yet:
 *   the group continues at the target's end (`targetOffset`).
 * - `pending`: source records before `sourceOffset` are not on the target yet; no target offset.
 * - `gap`: the target's first record at or after `sourceOffset` comes from a later offset and the
 *   source has records in between that have no copy on the target: records that came from the
 *   target (loop prevention), records written before the flow started, or records the target's
 *   retention deleted. `targetOffset` is where the group resumes, `skipped` source offsets later.
 * - `no-commit`: the group has no committed offset on this source partition.
 */
export type TranslationStatus = 'translated' | 'caught-up' | 'pending' | 'gap' | 'no-commit';

export interface PartitionTranslation {
  readonly topic: string;
  readonly partition: number;
  readonly remoteTopic: string;
  /** The group's committed offset on the source (null: none). */
  readonly sourceOffset: number | null;
  readonly targetOffset: number | null;
  readonly status: TranslationStatus;
  /** Source offsets not yet replicated: the source partition's end minus the next offset the flow will write. */
  readonly behind: number;
  /** Source offsets before the committed offset not on the target yet (status `pending`). */
  readonly unreplicated: number;
  /** Source offsets between the committed offset and the first one on the target (status `gap`). */
  readonly skipped: number;
  /** Single-record fetches the search took on the target. */
  readonly probes: number;
}

/** A position on a source partition: the offset of the next record a consumer of it reads. */
export interface SourcePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface TranslationReport {
  readonly flow: string;
  readonly group: string;
  readonly partitions: PartitionTranslation[];
}

/**
 * One source partition and its target partition: how far the flow's copies reach (the frontier).
 * `Translator.frontier()` gives one per partition of the flow's source topics.
 */
export interface PartitionFrontier {
  readonly topic: string;
  readonly remoteTopic: string;
  readonly partition: number;
  /** Log start and end offsets, read when the frontier was. */
  readonly source: { readonly low: number; readonly high: number };
  readonly target: { readonly low: number; readonly high: number };
  /** Whether the target has this partition. */
  readonly onTarget: boolean;
  /** The target partition's last record replicated from this source partition (undefined: none). */
  readonly last: Replicated | undefined;
  /** The source offset the flow writes next (after `last`, or the source's log start). */
  readonly next: number;
  /** The first committed source record the target does not have yet (undefined: none). */
  readonly firstUnreplicated: number | undefined;
  /** Source offsets from that record to the source's end (0 when the target has everything). */
  readonly behind: number;
}

/** A frontier while it is read and translated against. */
type Side = TargetView & { -readonly [K in keyof PartitionFrontier]: PartitionFrontier[K] };

/** The connections a Translator reads through, shared with whoever commits what it translates. */
export interface OffsetClients {
  readonly sourceAdmin: TopicAdmin;
  readonly targetAdmin: TopicAdmin;
  readonly source: RawClient;
  readonly target: RawClient;
}

/** How far the flow got on one source partition. */
export interface PartitionProgress {
  readonly topic: string;
  readonly remoteTopic: string;
  readonly partition: number;
  /** Source offsets not on the target yet (from the first committed record it lacks to the end). */
  readonly behind: number;
  /** Whether the target has the partition. */
  readonly onTarget: boolean;
}

/**
 * Translates consumer groups' committed offsets for one flow. Holds its own connections to both
 * clusters (`clients`); reads only. Results that cannot change while the group's source offset
 * stays put (translated, caught-up, gap) are remembered, for the groups of the latest survey, so a
 * periodic sync re-translates only what moved.
 */
export class Translator {
  readonly clients: OffsetClients;
  readonly #flow: FlowConfig;
  readonly #aliases: readonly string[];
  readonly #settled = new Map<string, PartitionTranslation>();

  constructor(config: Config, flow: FlowConfig, kafka: { source: KafkaClient; target: KafkaClient }) {
    this.#flow = flow;
    this.#aliases = Object.keys(config.clusters);
    this.clients = {
      sourceAdmin: new TopicAdmin(kafka.source),
      targetAdmin: new TopicAdmin(kafka.target),
      source: new RawClient(kafka.source),
      target: new RawClient(kafka.target),
    };
  }

  get #connections(): ReadonlyArray<TopicAdmin | RawClient> {
    const { sourceAdmin, targetAdmin, source, target } = this.clients;
    return [sourceAdmin, targetAdmin, source, target];
  }

  async connect(): Promise<void> {
    await connectAll(this.#connections);
  }

  /** Closes the connections to both clusters (best effort: a failure to close one is not reported). Idempotent. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#connections.map((c) => c.close()));
  }

  /** Every partition of the flow's source topics, with the group's committed offset translated. */
  async translate(group: string): Promise<PartitionTranslation[]> {
    return (await this.translateGroups([group])).get(group) ?? [];
  }

  /** As `translate`, for several groups at once (the target partitions are read once for all). */
  async translateGroups(groups: readonly string[]): Promise<Map<string, PartitionTranslation[]>> {
    return (await this.survey(groups)).groups;
  }

  /** The flow's progress on every partition, and the groups' translations, from one read of both sides. */
  async survey(
    groups: readonly string[],
  ): Promise<{ progress: PartitionProgress[]; groups: Map<string, PartitionTranslation[]> }> {
    const results = new Map(groups.map((g) => [g, [] as PartitionTranslation[]]));
    const sides = await this.#sides();
    const progress = sides.map(({ topic, remoteTopic, partition, behind, onTarget }) => ({
      topic,
      remoteTopic,
      partition,
      behind,
      onTarget,
    }));
    const topics = [...new Set(sides.map((s) => s.topic))];
    if (topics.length === 0) return { progress, groups: results };
    const committed = new Map<string, Map<string, number>>();
    for (const group of groups) {
      const offsets = await this.clients.sourceAdmin.committed(group, topics);
      committed.set(group, new Map(offsets.map((c) => [`${c.topic}/${c.partition}`, c.offset])));
    }
    for (const side of sides) {
      const { topic, partition, last } = side;
      for (const group of groups) {
        const offset = committed.get(group)?.get(`${topic}/${partition}`);
        const key = `${group}\u0000${partitionKey(topic, partition)}`;
        const known = this.#settled.get(key);
        side.probes = 0;
        // A remembered answer holds while the group's source offset stays put and the target
        // partition still spans it (not recreated, not cut back by retention).
        const valid =
          known !== undefined &&
          known.sourceOffset === offset &&
          known.targetOffset !== null &&
          known.targetOffset >= side.target.low &&
          known.targetOffset <= side.target.high;
        const result = valid ? { ...known, probes: 0 } : await this.#translate(side, offset, last);
        const translated = { ...result, behind: side.behind };
        if (result.status === 'translated' || result.status === 'caught-up' || result.status === 'gap')
          this.#settled.set(key, translated);
        else this.#settled.delete(key);
        results.get(group)?.push(translated);
      }
    }
    // Forget groups no longer asked about (deleted, or no longer selected): the cache stays bounded.
    for (const key of this.#settled.keys()) {
      if (!results.has(key.slice(0, key.indexOf('\u0000')))) this.#settled.delete(key);
    }
    return { progress, groups: results };
  }

  /** How far the flow's copies reach on every partition of its source topics (reads both clusters). */
  async frontier(): Promise<PartitionFrontier[]> {
    return (await this.#sides()).map(({ client: _c, from: _f, probes: _p, ...frontier }) => frontier);
  }

  /**
   * Every partition of the flow's source topics (or only those `wanted` names, by partitionKey)
   * with its target partition and the flow's progress on it.
   */
  async #sides(wanted?: ReadonlySet<string>): Promise<Side[]> {
    const selected = flowTopicFilter(this.#flow);
    const [sourceTopics, targetTopics] = await Promise.all([
      this.clients.sourceAdmin.partitionCounts(),
      this.clients.targetAdmin.partitionCounts(),
    ]);
    const sides: Side[] = [];
    const topics = [...sourceTopics.keys()].filter(selected).sort();
    for (const topic of topics.filter((t) => wanted === undefined || wanted.has(partitionKey(t, -1)))) {
      const remoteTopic = remoteTopicOf(this.#flow, topic, this.#aliases);
      const sourceMarks = (await this.clients.sourceAdmin.watermarks(topic)).sort(
        (a, b) => a.partition - b.partition,
      );
      const targetMarks = targetTopics.has(remoteTopic)
        ? await this.clients.targetAdmin.watermarks(remoteTopic)
        : [];
      for (const source of sourceMarks) {
        if (wanted !== undefined && !wanted.has(partitionKey(topic, source.partition))) continue;
        const onTarget = targetMarks.find((m) => m.partition === source.partition);
        const side: Side = {
          topic,
          remoteTopic,
          partition: source.partition,
          source,
          target: onTarget ?? { low: 0, high: 0 },
          onTarget: onTarget !== undefined,
          last: undefined,
          next: source.low,
          firstUnreplicated: undefined,
          behind: 0,
          probes: 0,
          client: this.clients.target,
          from: { cluster: this.#flow.source, topic, partition: source.partition },
        };
        side.last = await lastReplicated(side, side.target);
        side.next = side.last === undefined ? source.low : side.last.sourceOffset + 1;
        // Transaction markers and aborted records at the source's end are never copied: what is
        // behind starts at the next committed record, not at the next offset.
        const pending = await this.clients.source.firstFrom(
          topic,
          source.partition,
          Math.max(side.next, source.low),
        );
        side.firstUnreplicated = pending === undefined ? undefined : Number(pending.offset);
        side.behind =
          side.firstUnreplicated === undefined ? 0 : Math.max(0, source.high - side.firstUnreplicated);
        sides.push(side);
      }
    }
    return sides;
  }

  /**
   * Source positions (any, not only a group's commits: a stream processor's checkpoint, a sink's
   * table) translated as `translate` translates committed offsets, in the order given. Every
   * position must be on a partition of the flow's source topics and at or before its end; else
   * nothing is translated (InvalidPositionError). Nothing is remembered between calls.
   */
  async translatePositions(positions: readonly SourcePosition[]): Promise<PartitionTranslation[]> {
    // A topic is wanted under the key of partition -1, each of its partitions under its own key.
    const wanted = new Set(
      positions.flatMap((p) => [partitionKey(p.topic, -1), partitionKey(p.topic, p.partition)]),
    );
    const sides = new Map((await this.#sides(wanted)).map((s) => [partitionKey(s.topic, s.partition), s]));
    const checked = positions.map((position) => {
      const { topic, partition, offset } = position;
      const side = sides.get(partitionKey(topic, partition));
      const name = `${topic}:${partition}:${offset}`;
      if (side === undefined)
        throw new InvalidPositionError(name, `not a partition of flow ${this.#flow.name}'s source topics`);
      if (offset > side.source.high)
        throw new InvalidPositionError(name, `past the end of the source partition (${side.source.high})`);
      return { side, offset };
    });
    const results: PartitionTranslation[] = [];
    for (const { side, offset } of checked) {
      side.probes = 0;
      results.push({ ...(await this.#translate(side, offset, side.last)), behind: side.behind });
    }
    return results;
  }

  async #translate(
    side: Side,
    committed: number | undefined,
    last: Replicated | undefined,
  ): Promise<PartitionTranslation> {
    const { topic, partition, remoteTopic, source, target } = side;
    const base = { topic, partition, remoteTopic, behind: 0, skipped: 0, unreplicated: 0 };
    if (committed === undefined || committed < 0) {
      return { ...base, sourceOffset: null, targetOffset: null, status: 'no-commit', probes: side.probes };
    }
    if (!side.onTarget) {
      // The remote topic or partition is not there (yet): nothing to translate to.
      return {
        ...base,
        sourceOffset: committed,
        targetOffset: null,
        status: 'pending',
        unreplicated: Math.max(0, committed - source.low),
        probes: side.probes,
      };
    }
    if (last === undefined || last.sourceOffset < committed) {
      // Nothing from the committed offset on is on the target: caught up if no committed source
      // record before it is missing there.
      const unreplicated = side.firstUnreplicated;
      const pending = unreplicated !== undefined && unreplicated < committed;
      return {
        ...base,
        sourceOffset: committed,
        targetOffset: pending ? null : target.high,
        status: pending ? 'pending' : 'caught-up',
        unreplicated: pending ? committed - unreplicated : 0,
        probes: side.probes,
      };
    }
    const first = await this.clients.source.firstFrom(topic, partition, Math.max(committed, source.low));
    const hint =
      first === undefined
        ? undefined
        : (await this.clients.targetAdmin.offsetsAt(remoteTopic, Number(first.timestamp))).get(partition);
    const found = await searchTarget(committed, { start: target.low, end: target.high }, hint, (x) =>
      probeFrom(side, x),
    );
    if (found === undefined) {
      throw new TranslationFailedError(remoteTopic, partition, committed, last.sourceOffset);
    }
    const firstOnSource = first === undefined ? found.sourceOffset : Number(first.offset);
    const gap = firstOnSource < found.sourceOffset;
    return {
      ...base,
      sourceOffset: committed,
      targetOffset: found.offset,
      status: gap ? 'gap' : 'translated',
      skipped: gap ? found.sourceOffset - committed : 0,
      probes: side.probes,
    };
  }
}

/** The flow named `name`, or a usage error listing the flows there are. */
export function flowNamed(config: Config, name: string): FlowConfig {
  const flow = config.flows.find((f) => f.name === name);
  if (flow === undefined) {
    throw new UsageError(
      `no flow named ${name}; the config has ${config.flows.map((f) => f.name).join(', ')}`,
    );
  }
  return flow;
}

/** For the offsets commands: the flow named `name` and new clients of its source and target. */
export function flowWithClients(
  config: Config,
  logger: Logger,
  name: string,
): { flow: FlowConfig; clients: { source: KafkaClient; target: KafkaClient } } {
  const flow = flowNamed(config, name);
  const client = (alias: string) =>
    createClient(config.clusters[alias] as ClusterConfig, logger, config.producer.requestTimeoutMs);
  return { flow, clients: { source: client(flow.source), target: client(flow.target) } };
}

/** Translates `group`'s committed offsets on the flow's source into offsets on its target. Reads only. */
export async function translateOffsets(
  config: Config,
  logger: Logger,
  options: { readonly flow: string; readonly group: string },
): Promise<TranslationReport> {
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const translator = new Translator(config, flow, clients);
  await translator.connect();
  try {
    return { flow: flow.name, group: options.group, partitions: await translator.translate(options.group) };
  } finally {
    await translator.close();
  }
}
