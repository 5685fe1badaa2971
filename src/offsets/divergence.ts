// The divergence report: what a failover of a flow would lose now. Per partition of the flow's
// source topics, the last source offset on the target (its frontier, frontier.ts), the source's end
// (from the source when it answers, else from the running daemon's last lag refresh), the records
// at risk between them and their time range. With `list`, once the source answers, exactly which
// records never reached the target (read_committed: no markers, no aborted records). The counts
// are as of the last lag refresh when they come from the daemon: short by up to one
// metrics.lagIntervalMs of writes, long by transaction markers and aborted records.
import type { ClusterConfig, Config, FlowConfig } from '../config/index.ts';
import { SourceEndUnknownError, TargetNoAnswerError } from '../errors/index.ts';
import type { Kafka as KafkaClient } from 'kafkajs';
import { createClient } from '../kafka/client.ts';
import type { RawClient } from '../kafka/raw-client.ts';
import type { TopicAdmin } from '../kafka/topic-admin.ts';
import type { Logger } from '../observability/logger.ts';
import { riskWindowSeconds } from '../replication/rpo.ts';
import { lastReplicated, type TargetView } from './frontier.ts';
import { flowNamed, Translator } from './translate.ts';

/** What the running daemon last knew of a source partition (its /status, at its last lag refresh). */
export interface DaemonEnd {
  readonly topic: string;
  readonly partition: number;
  readonly remoteTopic: string;
  readonly logEnd: number;
}

/** The daemon's last lag refresh of the flow, or why there is none. */
export type DaemonAnswer =
  { readonly refreshedAt: number; readonly partitions: readonly DaemonEnd[] } | { readonly reason: string };

export interface MissingRecord {
  readonly offset: number;
  readonly timestamp: number;
}

export interface DivergencePartition {
  readonly topic: string;
  readonly partition: number;
  readonly remoteTopic: string;
  /** The last source offset whose record is on the target (null: none is). */
  readonly frontier: number | null;
  /** That record's timestamp (epoch ms; the copy keeps the source's). */
  readonly frontierTimestamp: number | null;
  /** The source's end (next offset) as last known. */
  readonly sourceEnd: number;
  /** Offsets after the frontier up to the end: records at risk, markers and aborted records included. */
  readonly atRisk: number;
  /** The source's last record time (source), or the lag refresh time the end was read at (daemon). */
  readonly sourceLastTimestamp: number | null;
  /** Seconds from the frontier's record to `sourceLastTimestamp` (0 when nothing is at risk). */
  readonly rpoSeconds: number;
  /** With `list`: the committed source records after the frontier, which the target lacks. */
  readonly missing?: readonly MissingRecord[];
}

export interface DivergenceReport {
  readonly flow: string;
  /** Where the source ends came from: the source itself, or the daemon's last lag refresh. */
  readonly endsFrom: 'source' | 'daemon';
  /** When the ends were read (epoch ms as an ISO string). */
  readonly endsAt: string;
  /** Why the source was not asked or did not answer (null: it answered). */
  readonly sourceError: string | null;
  readonly partitions: readonly DivergencePartition[];
  readonly atRisk: number;
  readonly rpoSeconds: number;
  /** With `list`: the records listed missing, over every partition (null: not listed). */
  readonly missing: number | null;
}

export interface DivergenceOptions {
  readonly flow: string;
  readonly list: boolean;
  /** The running daemon's last lag refresh of the flow (asked only when the source does not answer). */
  readonly daemon: () => Promise<DaemonAnswer>;
  /** Clients with fewer retries than the daemon's: a source that is down is told quickly. */
  readonly clients?: (config: Config, logger: Logger, flow: string) => Clients;
}

interface Clients {
  readonly flow: FlowConfig;
  readonly clients: { readonly source: KafkaClient; readonly target: KafkaClient };
}

/** The divergence report of one flow. Reads only. */
export async function divergence(
  config: Config,
  logger: Logger,
  options: DivergenceOptions,
): Promise<DivergenceReport> {
  const { flow, clients } = (options.clients ?? quickClients)(config, logger, options.flow);
  const translator = new Translator(config, flow, clients);
  try {
    const sourceError = await sourceAnswers(translator);
    if (sourceError === undefined) return await fromSource(translator, flow, options.list);
    const answer = await options.daemon();
    if ('reason' in answer) throw new SourceEndUnknownError(flow.name, sourceError, answer.reason);
    return await fromDaemon(translator, flow, answer, sourceError);
  } finally {
    await translator.close();
  }
}

/** Undefined when the source answers a metadata request, else why not. */
async function sourceAnswers(translator: Translator): Promise<unknown> {
  try {
    await translator.clients.sourceAdmin.connect();
    await translator.clients.source.connect();
    await translator.clients.sourceAdmin.partitionCounts();
    return undefined;
  } catch (error) {
    return error;
  }
}

async function targetRead<T>(flow: FlowConfig, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new TargetNoAnswerError(flow.name, error);
  }
}

async function fromSource(
  translator: Translator,
  flow: FlowConfig,
  list: boolean,
): Promise<DivergenceReport> {
  const { target, targetAdmin, source } = translator.clients;
  await targetRead(flow, () => Promise.all([target.connect(), targetAdmin.connect()]));
  const frontiers = await targetRead(flow, () => translator.frontier());
  const at = Date.now();
  const partitions: DivergencePartition[] = [];
  for (const f of frontiers) {
    const frontier = f.last?.sourceOffset ?? null;
    const from = frontier === null ? f.source.low : frontier + 1;
    const atRisk = Math.max(0, f.source.high - from);
    const missing = list ? await committedBetween(source, f.topic, f.partition, from, f.source.high) : [];
    const lastAtRisk = list
      ? missing.at(-1)
      : await lastCommitted(source, f.topic, f.partition, from, f.source.high);
    const firstAtRisk = f.last?.timestamp ?? missing[0]?.timestamp;
    const sourceLast = lastAtRisk?.timestamp ?? f.last?.timestamp ?? null;
    partitions.push({
      topic: f.topic,
      partition: f.partition,
      remoteTopic: f.remoteTopic,
      frontier,
      frontierTimestamp: f.last?.timestamp ?? null,
      sourceEnd: f.source.high,
      atRisk,
      sourceLastTimestamp: sourceLast,
      rpoSeconds: atRisk === 0 ? 0 : riskWindowSeconds(firstAtRisk, sourceLast ?? undefined),
      ...(list ? { missing } : {}),
    });
  }
  return report(flow, 'source', at, null, partitions, list);
}

async function fromDaemon(
  translator: Translator,
  flow: FlowConfig,
  answer: Extract<DaemonAnswer, { refreshedAt: number }>,
  sourceError: unknown,
): Promise<DivergenceReport> {
  const { target, targetAdmin } = translator.clients;
  await targetRead(flow, () => Promise.all([target.connect(), targetAdmin.connect()]));
  const partitions: DivergencePartition[] = [];
  for (const end of answer.partitions) {
    const last = await targetRead(flow, () => lastOnTarget(flow, target, targetAdmin, end));
    const frontier = last?.sourceOffset ?? null;
    // Without the source, its log start is unknown: with nothing on the target every offset before the end is at risk.
    const atRisk = Math.max(0, end.logEnd - (frontier === null ? 0 : frontier + 1));
    partitions.push({
      topic: end.topic,
      partition: end.partition,
      remoteTopic: end.remoteTopic,
      frontier,
      frontierTimestamp: last?.timestamp ?? null,
      sourceEnd: end.logEnd,
      atRisk,
      sourceLastTimestamp: answer.refreshedAt,
      rpoSeconds: atRisk === 0 ? 0 : riskWindowSeconds(last?.timestamp, answer.refreshedAt),
    });
  }
  return report(flow, 'daemon', answer.refreshedAt, String(sourceError), partitions, false);
}

async function lastOnTarget(flow: FlowConfig, target: RawClient, admin: TopicAdmin, end: DaemonEnd) {
  if (!(await admin.topicExists(end.remoteTopic))) return undefined;
  const mark = (await admin.watermarks(end.remoteTopic)).find((m) => m.partition === end.partition);
  if (mark === undefined) return undefined;
  const view: TargetView = {
    client: target,
    remoteTopic: end.remoteTopic,
    partition: end.partition,
    from: { cluster: flow.source, topic: end.topic, partition: end.partition },
    probes: 0,
  };
  return await lastReplicated(view, mark);
}

/** The committed data records of a source partition in [from, end): read_committed, so no markers or aborted records. */
export async function committedBetween(
  source: RawClient,
  topic: string,
  partition: number,
  from: number,
  end: number,
): Promise<MissingRecord[]> {
  const out: MissingRecord[] = [];
  for (let at = from; at < end;) {
    const records = await source.recordsFrom(topic, partition, at);
    const last = records.at(-1);
    if (last === undefined) break;
    for (const r of records)
      if (Number(r.offset) < end) out.push({ offset: Number(r.offset), timestamp: Number(r.timestamp) });
    at = Number(last.offset) + 1;
  }
  return out;
}

/** The last committed data record in [from, end), probed back from the end at doubling distances. */
async function lastCommitted(
  source: RawClient,
  topic: string,
  partition: number,
  from: number,
  end: number,
): Promise<MissingRecord | undefined> {
  for (let back = 1; end > from; back *= 2) {
    const at = Math.max(from, end - back);
    const found = (await committedBetween(source, topic, partition, at, end)).at(-1);
    if (found !== undefined || at === from) return found;
  }
  return undefined;
}

/** The flow and clients of both its clusters that give up after two retries: a source that is down is told in seconds. */
export function quickClients(config: Config, logger: Logger, name: string): Clients {
  const flow = flowNamed(config, name);
  const client = (alias: string) =>
    createClient(
      config.clusters[alias] as ClusterConfig,
      logger,
      config.producer.requestTimeoutMs,
      QUICK_RETRY,
    );
  return { flow, clients: { source: client(flow.source), target: client(flow.target) } };
}

const QUICK_RETRY = { initialRetryTime: 250, maxRetryTime: 1000, retries: 2 };

function report(
  flow: FlowConfig,
  endsFrom: 'source' | 'daemon',
  at: number,
  sourceError: string | null,
  partitions: DivergencePartition[],
  list: boolean,
): DivergenceReport {
  return {
    flow: flow.name,
    endsFrom,
    endsAt: new Date(at).toISOString(),
    sourceError,
    partitions,
    atRisk: partitions.reduce((sum, p) => sum + p.atRisk, 0),
    rpoSeconds: partitions.reduce((max, p) => Math.max(max, p.rpoSeconds), 0),
    missing: list ? partitions.reduce((sum, p) => sum + (p.missing?.length ?? 0), 0) : null,
  };
}
