// DR drills (issue 23): would a failover now work? Translates positions (consumer groups' committed
// offsets, or sample positions of its own some way back from the flow's frontier) as a failover
// would, then reads a sample of records on the target from each translated offset and compares
// every one with the source record its provenance headers name: key, value, headers (the target's
// minus the km.* provenance headers the flow adds) and timestamp. It also checks continuity: from
// the translated offset on, the target must hold every committed source record in order (records
// of aborted transactions and transaction markers are legitimately absent; a replayed stretch
// after a crash is a duplicate, not a gap). Reads only, on both clusters: no commit, no group
// joined or created (raw fetches, RawClient). docs/disaster-recovery.md, DR drills.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { Config, FlowConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { HeaderList, SourceRecord } from '../protocol/records.ts';
import { ProvenanceHeader, replicatedFrom } from '../replication/provenance.ts';
import {
  Translator,
  flowWithClients,
  type OffsetClients,
  type PartitionProgress,
  type PartitionTranslation,
  type SourcePosition,
  type TranslationStatus,
} from './translate.ts';

/**
 * Why a partition did not pass. Failures: `key-differs`, `value-differs`, `headers-differ`,
 * `timestamp-differs` (a target record differs from the source record it names), `missing-on-target`
 * (a committed source record after the position has no copy where it belongs, or the sample is
 * empty), `not-translated` (the position is pending: no target offset). Inconclusive:
 * `source-gone` (the source no longer has the record: retention, compaction). Not drilled:
 * `no-commit` (the group has no offset there), `nothing-replicated` (no sample position yet).
 */
export type DrillReason =
  | 'key-differs'
  | 'value-differs'
  | 'headers-differ'
  | 'timestamp-differs'
  | 'missing-on-target'
  | 'not-translated'
  | 'source-gone'
  | 'no-commit'
  | 'nothing-replicated';

export type DrillOutcome = 'pass' | 'fail' | 'inconclusive' | 'skipped';

/** One record that did not check out. */
export interface DrillMismatch {
  readonly reason: DrillReason;
  readonly sourceOffset: number;
  /** The target record compared (null: no copy on the target). */
  readonly targetOffset: number | null;
}

export interface DrillPartition {
  /** The group whose position was drilled; null for a sample position of the drill's own. */
  readonly group: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly remoteTopic: string;
  /** The source position drilled (the group's committed offset, or the sample position). */
  readonly sourceOffset: number | null;
  readonly targetOffset: number | null;
  readonly translation: TranslationStatus;
  readonly result: DrillOutcome;
  /** The first reason it did not pass (null: passed). */
  readonly reason: DrillReason | null;
  /** Target records compared with their source record. */
  readonly checked: number;
  /** Records that differ or are missing (all found, while `mismatches` keeps the first 10). */
  readonly mismatched: number;
  readonly mismatches: readonly DrillMismatch[];
  /** The flow's RPO on this partition: source offsets not on the target yet. */
  readonly behind: number;
}

export interface DrillReport {
  readonly flow: string;
  /** pass: something was compared and nothing failed; fail: a partition failed; inconclusive: neither. */
  readonly result: 'pass' | 'fail' | 'inconclusive';
  /** The groups drilled (empty: sample positions of the drill's own). */
  readonly groups: readonly string[];
  /** The flow's RPO in records: source offsets not on the target yet, over all its partitions. */
  readonly rpoRecords: number;
  readonly checked: number;
  readonly mismatched: number;
  /** Milliseconds the translation took, and the whole drill (translation included). */
  readonly translationMs: number;
  readonly durationMs: number;
  readonly partitions: readonly DrillPartition[];
}

export interface DrillOptions {
  /** Groups whose committed offsets are drilled; empty: sample positions (`records` back from the frontier). */
  readonly groups: readonly string[];
  /** Target records sampled per partition. */
  readonly records: number;
}

const MAX_LISTED = 10;
/** Target records read per partition at most, per record sampled. */
const SCAN_FACTOR = 100;
const RESERVED: ReadonlySet<string> = new Set(Object.values(ProvenanceHeader));

/** Runs drills of one flow over its own connections to both clusters (reads only). */
export class Drill {
  readonly #flow: FlowConfig;
  readonly #translator: Translator;

  constructor(config: Config, flow: FlowConfig, kafka: { source: KafkaClient; target: KafkaClient }) {
    this.#flow = flow;
    this.#translator = new Translator(config, flow, kafka);
  }

  async connect(): Promise<void> {
    await this.#translator.connect();
  }

  /** Closes the connections (best effort). Idempotent. */
  close(): Promise<void> {
    return this.#translator.close();
  }

  async run(options: DrillOptions): Promise<DrillReport> {
    const started = performance.now();
    const { progress, positions } = await this.#positions(options);
    const translationMs = Math.round(performance.now() - started);
    const clients = this.#translator.clients;
    const lows = new Map<string, Map<number, number>>();
    const partitions: DrillPartition[] = [];
    for (const { group, translation } of positions) {
      const low = await sourceLow(clients, lows, translation.topic, translation.partition);
      partitions.push(
        await drillPartition(clients, this.#flow, { group, translation, low }, options.records),
      );
    }
    const checked = partitions.reduce((n, p) => n + p.checked, 0);
    const failed = partitions.some((p) => p.result === 'fail');
    return {
      flow: this.#flow.name,
      result: failed ? 'fail' : checked > 0 ? 'pass' : 'inconclusive',
      groups: options.groups,
      rpoRecords: progress.reduce((n, p) => n + p.behind, 0),
      checked,
      mismatched: partitions.reduce((n, p) => n + p.mismatched, 0),
      translationMs,
      durationMs: Math.round(performance.now() - started),
      partitions,
    };
  }

  /** The translated positions to drill, with the flow's progress on every partition. */
  async #positions(options: DrillOptions): Promise<{
    progress: PartitionProgress[];
    positions: Array<{ group: string | null; translation: PartitionTranslation }>;
  }> {
    if (options.groups.length > 0) {
      const { progress, groups } = await this.#translator.survey(options.groups);
      const positions = options.groups.flatMap((group) =>
        (groups.get(group) ?? []).map((translation) => ({ group, translation })),
      );
      return { progress, positions };
    }
    // Per partition, the position `records` committed offsets back from the last replicated record.
    const frontier = await this.#translator.frontier();
    const sampled: SourcePosition[] = frontier.flatMap((f) =>
      f.last === undefined
        ? []
        : [
            {
              topic: f.topic,
              partition: f.partition,
              offset: Math.max(f.source.low, f.next - options.records),
            },
          ],
    );
    const translated = sampled.length === 0 ? [] : await this.#translator.translatePositions(sampled);
    const byKey = new Map(translated.map((t) => [`${t.topic}/${t.partition}`, t]));
    const positions = frontier.map((f) => {
      const translation: PartitionTranslation = byKey.get(`${f.topic}/${f.partition}`) ?? {
        topic: f.topic,
        partition: f.partition,
        remoteTopic: f.remoteTopic,
        sourceOffset: null,
        targetOffset: null,
        status: 'no-commit',
        behind: f.behind,
        unreplicated: 0,
        skipped: 0,
        probes: 0,
      };
      return { group: null, translation };
    });
    return { progress: frontier, positions };
  }
}

async function sourceLow(
  clients: OffsetClients,
  cache: Map<string, Map<number, number>>,
  topic: string,
  partition: number,
): Promise<number> {
  let lows = cache.get(topic);
  if (lows === undefined) {
    lows = new Map((await clients.sourceAdmin.watermarks(topic)).map((m) => [m.partition, m.low]));
    cache.set(topic, lows);
  }
  return lows.get(partition) ?? 0;
}

interface Drilled {
  readonly group: string | null;
  readonly translation: PartitionTranslation;
  /** The source partition's log start. */
  readonly low: number;
}

/** One translated position: its sample read on the target and compared with the source. */
async function drillPartition(
  clients: OffsetClients,
  flow: FlowConfig,
  drilled: Drilled,
  records: number,
): Promise<DrillPartition> {
  const t = drilled.translation;
  const base = {
    group: drilled.group,
    topic: t.topic,
    partition: t.partition,
    remoteTopic: t.remoteTopic,
    sourceOffset: t.sourceOffset,
    targetOffset: t.targetOffset,
    translation: t.status,
    behind: t.behind,
    checked: 0,
    mismatched: 0,
    mismatches: [] as DrillMismatch[],
  };
  if (t.status === 'no-commit') {
    const reason = drilled.group === null ? 'nothing-replicated' : 'no-commit';
    return { ...base, result: 'skipped', reason };
  }
  if (t.status === 'pending' || t.sourceOffset === null || t.targetOffset === null) {
    const mismatch = {
      reason: 'not-translated' as const,
      sourceOffset: t.sourceOffset ?? 0,
      targetOffset: null,
    };
    return { ...base, result: 'fail', reason: 'not-translated', mismatched: 1, mismatches: [mismatch] };
  }
  // caught-up: nothing from the position on is on the target yet; the group resumes at its end.
  if (t.status === 'caught-up') return { ...base, result: 'pass', reason: null };
  const from = { cluster: flow.source, topic: t.topic, partition: t.partition };
  const sample = await targetSample(clients, t.remoteTopic, t.partition, t.targetOffset, from, records);
  const last = Math.max(...sample.map((s) => s.sourceOffset), t.sourceOffset);
  const start = Math.max(t.sourceOffset, drilled.low);
  const source = await readSource(clients, t.topic, t.partition, start, last);
  const found = compareSample(sample, source, { position: t.sourceOffset, low: drilled.low });
  return { ...base, ...found, mismatches: found.mismatches.slice(0, MAX_LISTED) };
}

interface Sampled {
  readonly offset: number;
  readonly sourceOffset: number;
  readonly record: SourceRecord;
}

/**
 * Up to `count` target records replicated from `from`, from `offset` on (fewer when the partition
 * ends first, or after `count * SCAN_FACTOR` records read).
 */
async function targetSample(
  clients: OffsetClients,
  topic: string,
  partition: number,
  offset: number,
  from: { cluster: string; topic: string; partition: number },
  count: number,
): Promise<Sampled[]> {
  const sample: Sampled[] = [];
  // Records written on the target itself (active-active) or copied from elsewhere are stepped
  // over, within a bound: a drill reads a sample, never a whole partition.
  let scanned = 0;
  for (let at = offset; sample.length < count && scanned < count * SCAN_FACTOR;) {
    const records = await clients.target.recordsFrom(topic, partition, at);
    const end = records.at(-1);
    if (end === undefined) break;
    scanned += records.length;
    for (const record of records) {
      const sourceOffset = replicatedFrom(record.headers, from);
      if (sourceOffset !== undefined && sample.length < count)
        sample.push({ offset: Number(record.offset), sourceOffset, record });
    }
    at = Number(end.offset) + 1;
  }
  return sample;
}

/** The committed source records from `start` to `last` (inclusive), by offset. */
async function readSource(
  clients: OffsetClients,
  topic: string,
  partition: number,
  start: number,
  last: number,
): Promise<Map<number, SourceRecord>> {
  const found = new Map<number, SourceRecord>();
  for (let at = start; at <= last;) {
    const records = await clients.source.recordsFrom(topic, partition, at);
    const end = records.at(-1);
    if (end === undefined) break;
    for (const record of records) if (Number(record.offset) <= last) found.set(Number(record.offset), record);
    at = Number(end.offset) + 1;
  }
  return found;
}

/**
 * Compares the target sample with the source records: content record by record, and continuity
 * (every committed source record from the position to the last sampled one has a copy, in order).
 */
export function compareSample(
  sample: readonly Sampled[],
  source: ReadonlyMap<number, SourceRecord>,
  at: { readonly position: number; readonly low: number },
): Pick<DrillPartition, 'result' | 'reason' | 'checked' | 'mismatched' | 'mismatches'> {
  const mismatches: DrillMismatch[] = [];
  let gone = 0;
  let checked = 0;
  const expected = [...source.keys()].sort((a, b) => a - b);
  let next = 0; // index in `expected` of the next source record the target should hold
  if (sample.length === 0)
    mismatches.push({
      reason: 'missing-on-target',
      sourceOffset: expected[0] ?? at.position,
      targetOffset: null,
    });
  for (const s of sample) {
    // A replayed stretch (at-least-once after a crash) repeats earlier source offsets: no gap.
    for (; next < expected.length && (expected[next] as number) < s.sourceOffset; next++) {
      const missing = expected[next] as number;
      if (!supersededLater(source, missing))
        mismatches.push({ reason: 'missing-on-target', sourceOffset: missing, targetOffset: null });
    }
    if (expected[next] === s.sourceOffset) next++;
    const original = source.get(s.sourceOffset);
    if (original === undefined) {
      // Below the source's log start (retention), or removed there since (compaction): inconclusive.
      gone++;
      continue;
    }
    checked++;
    const reason = difference(original, s.record);
    if (reason !== undefined)
      mismatches.push({ reason, sourceOffset: s.sourceOffset, targetOffset: s.offset });
  }
  const first = mismatches[0];
  if (first !== undefined)
    return { result: 'fail', reason: first.reason, checked, mismatched: mismatches.length, mismatches };
  if (checked === 0 && gone > 0)
    return { result: 'inconclusive', reason: 'source-gone', checked, mismatched: 0, mismatches };
  return { result: 'pass', reason: null, checked, mismatched: 0, mismatches };
}

/**
 * Whether a source record's key is written again later in the window read: on a compacted topic
 * the target's cleaner may have removed the older record (each cluster compacts on its own
 * schedule). The later record itself is checked like any other.
 */
function supersededLater(source: ReadonlyMap<number, SourceRecord>, offset: number): boolean {
  const key = source.get(offset)?.key;
  if (key === null || key === undefined) return false;
  for (const [o, r] of source) if (o > offset && r.key !== null && key.equals(r.key)) return true;
  return false;
}

/** The first way the target record differs from its source record, or undefined. */
export function difference(source: SourceRecord, target: SourceRecord): DrillReason | undefined {
  if (!sameBytes(source.key, target.key)) return 'key-differs';
  if (!sameBytes(source.value, target.value)) return 'value-differs';
  if (!sameHeaders(source.headers, target.headers)) return 'headers-differ';
  if (Number(source.timestamp) !== Number(target.timestamp)) return 'timestamp-differs';
  return undefined;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** Headers in order, byte for byte, the km.* provenance headers left out on both sides (the flow replaces them). */
function sameHeaders(a: HeaderList, b: HeaderList): boolean {
  const kept = (list: HeaderList) => list.filter(([key]) => !RESERVED.has(key));
  const x = kept(a);
  const y = kept(b);
  return (
    x.length === y.length &&
    x.every(([key, value], i) => {
      const [otherKey, other] = y[i] as readonly [string, Buffer | string | null];
      const bytes = (v: Buffer | string | null) => (typeof v === 'string' ? Buffer.from(v) : v);
      return key === otherKey && sameBytes(bytes(value), bytes(other));
    })
  );
}

/** `kafka-mirror drill`: one drill of the flow, over connections of its own, closed before it returns. */
export async function runDrill(
  config: Config,
  logger: Logger,
  options: { readonly flow: string; readonly groups: readonly string[]; readonly records?: number },
): Promise<DrillReport> {
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const drill = new Drill(config, flow, clients);
  await drill.connect();
  try {
    const groups = options.groups.length > 0 ? options.groups : flow.drill.groups;
    return await drill.run({ groups, records: options.records ?? flow.drill.records });
  } finally {
    await drill.close();
  }
}
