// Builds one running flow, in order: the admins of its source and target, the source reader and
// the target writer (all connected), the heartbeat emitter, the flow itself, then the group offset
// sync and the DR drills. When a step fails, what was built is closed again. Also how a running flow's clients are
// closed (after the flow drained) or destroyed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { effectiveFlow, type Config, type FlowConfig } from '../config/index.ts';
import type { CorruptRecordBatchError } from '../errors/index.ts';
import { AclAdmin } from '../kafka/acl-admin.ts';
import { HEARTBEAT_TOPIC, HeartbeatEmitter } from '../kafka/heartbeat.ts';
import { SourceReader, type BatchHandler } from '../kafka/source-reader.ts';
import { TopicAdmin } from '../kafka/topic-admin.ts';
import { createWriter, type Writer } from '../kafka/writers/index.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type FlowMetrics, type Metrics } from '../observability/metrics.ts';
import { DrillRunner } from '../offsets/drill-runner.ts';
import { GroupOffsetSync } from '../offsets/group-sync.ts';
import { AclSync } from '../replication/acl-sync.ts';
import { Flow } from '../replication/flow.ts';
import type { FetchedBatch, TopicPartition } from '../replication/ports.ts';

/** After a flow drained, how long closing its clients may take (as the daemon's close). */
const CLOSE_CLIENTS_TIMEOUT_MS = 5000;

/** What the assembly needs of the daemon. */
export interface AssemblyContext {
  readonly settings: Config;
  readonly config: FlowConfig;
  readonly metrics: FlowMetrics;
  /** The daemon's registry (group offset sync sets its own gauges). */
  readonly registry: Metrics;
  readonly logger: Logger;
  /** The daemon's client of a cluster (one per alias, shared by the flows). */
  client(alias: string): KafkaClient;
  /** Records a cluster's id; throws ClusterIdentityError when another alias has it. */
  registerClusterId(alias: string, id: string): void;
  /** A connection step failed on this cluster (the retry line names it). */
  failedOn(alias: string): void;
}

/** The clients and timers of a flow: what is closed after the flow itself. */
export interface FlowClients {
  readonly reader: SourceReader;
  readonly writer: Writer;
  readonly sourceAdmin: TopicAdmin;
  readonly targetAdmin: TopicAdmin;
  readonly heartbeat: HeartbeatEmitter | undefined;
  /** Group offset sync, when the flow has it enabled. */
  readonly groupSync: GroupOffsetSync | undefined;
  /** Topic ACL sync and its admins of both clusters, when the flow has it enabled. */
  readonly acl: { readonly sync: AclSync; readonly source: AclAdmin; readonly target: AclAdmin } | undefined;
  /** DR drills on a timer, when the flow has drill.intervalMs > 0. */
  readonly drill: DrillRunner | undefined;
}

export interface RunningFlow extends FlowClients {
  readonly flow: Flow;
}

/**
 * The reader's events, passed on to the flow. The reader is built and connected before the flow
 * (the flow needs the cluster ids that connecting learns), so the flow is bound here once it
 * exists. Until then the reader has no topics and fetches nothing: the flow sets them.
 */
class ReaderEvents implements BatchHandler {
  readonly #metrics: FlowMetrics;
  #flow: Flow | undefined;

  constructor(metrics: FlowMetrics) {
    this.#metrics = metrics;
  }

  bind(flow: Flow): void {
    this.#flow = flow;
  }

  onBatch(batch: FetchedBatch, keepAlive: () => Promise<void>): Promise<boolean> {
    // Never called unbound (nothing is fetched before the flow sets the topics); dropped if it were.
    return this.#flow?.onBatch(batch, keepAlive) ?? Promise.resolve(false);
  }

  onAssignment(assigned: readonly TopicPartition[]): void {
    this.#flow?.onAssignment(assigned);
  }

  onRebalancing(): void {
    this.#flow?.onRebalancing();
  }

  onCorruptBatch(error: CorruptRecordBatchError): void {
    this.#flow?.onCorruptBatch(error);
  }

  onCrash(error: unknown): void {
    this.#metrics.error('source', errorCode(error));
    this.#flow?.onCrash();
  }
}

/** Builds, connects and starts the flow; on a failure, closes what was built and rejects. */
export async function assembleFlow(ctx: AssemblyContext): Promise<RunningFlow> {
  const events = new ReaderEvents(ctx.metrics);
  const clients = buildClients(ctx, events);
  try {
    const identity = await connectClients(ctx, clients);
    ctx.registerClusterId(ctx.config.source, identity.source);
    ctx.registerClusterId(ctx.config.target, identity.target);
    // Before the flow's first topic sync, so the sync finds the heartbeat topic to copy.
    await clients.heartbeat?.start();
    const config = effectiveFlow(ctx.config, ctx.settings.flows);
    if (config.topicConfigSync.enabled !== ctx.config.topicConfigSync.enabled)
      ctx.logger.info(
        { flow: config.name },
        'topic config sync off for this flow: with identity naming its topics come back to its source under their own names, and the flows would revert config changes made on either side',
      );
    const flow = new Flow({
      identity,
      aliases: Object.keys(ctx.settings.clusters),
      // Topic config sync off along a cycle of identity-named flows (config/identity-cycles.ts).
      config,
      settings: ctx.settings,
      source: clients.reader,
      target: clients.writer,
      catalogs: { source: clients.sourceAdmin, target: clients.targetAdmin },
      heartbeatTopic: clients.heartbeat === undefined ? undefined : HEARTBEAT_TOPIC,
      aclSync: clients.acl?.sync,
      metrics: ctx.metrics,
      logger: ctx.logger,
    });
    events.bind(flow);
    await flow.start();
    await clients.groupSync?.connect();
    clients.groupSync?.start();
    await clients.drill?.connect();
    clients.drill?.start();
    return { ...clients, flow };
  } catch (error) {
    await closeClients(clients);
    throw error;
  }
}

/** Builds the flow's clients (nothing connects yet): admins, reader, writer, heartbeat, group sync. */
function buildClients(ctx: AssemblyContext, events: ReaderEvents): FlowClients {
  const { settings, config, metrics, logger } = ctx;
  const source = ctx.client(config.source);
  const target = ctx.client(config.target);
  const sourceAdmin = new TopicAdmin(source);
  const targetAdmin = new TopicAdmin(target);
  const { group, startFrom } = config;
  const reader = new SourceReader(source, { group, startFrom, consumer: settings.consumer, logger }, events);
  const writer = createWriter(target, {
    producer: settings.producer,
    flow: config,
    admin: targetAdmin,
    logger,
    onRetry: (error) => {
      metrics.retried();
      metrics.error('target', errorCode(error));
    },
    onResend: (reason) => metrics.produceRetried(reason),
    onTransaction: (result) => metrics.transaction(result),
  });
  const { heartbeats } = settings;
  const heartbeat = heartbeats.enabled
    ? new HeartbeatEmitter(source, sourceAdmin, {
        flow: config.name,
        intervalMs: heartbeats.intervalMs,
        logger,
        onSent: () => metrics.heartbeatSent(),
        onError: (error) => metrics.error('source', errorCode(error)),
      })
    : undefined;
  const groupSync = config.groupOffsetSync.enabled
    ? buildGroupSync(settings, config, { source, target }, logger, ctx.registry)
    : undefined;
  const drill =
    config.drill.intervalMs > 0
      ? new DrillRunner(
          settings,
          config,
          { source, target },
          logger.child({ component: 'drill' }),
          ctx.registry,
        )
      : undefined;
  return { reader, writer, sourceAdmin, targetAdmin, heartbeat, groupSync, acl: aclSyncOf(ctx), drill };
}

/** Topic ACL sync, with an admin of its own on each cluster (nothing connects yet). */
function aclSyncOf({ settings, config, metrics, logger, client }: AssemblyContext): FlowClients['acl'] {
  if (!config.aclSync.enabled) return undefined;
  const source = new AclAdmin(config.source, client(config.source));
  const target = new AclAdmin(config.target, client(config.target));
  const sync = new AclSync({
    flow: config,
    aliases: Object.keys(settings.clusters),
    catalogs: { source, target },
    metrics,
    logger: logger.child({ component: 'acl-sync' }),
  });
  return { sync, source, target };
}

/**
 * A flow's group offset sync (not connected). It reads the whole config: the groups of every flow
 * (never synced) and every alias (prefix naming), so a reload that changes those rebuilds it.
 */
export function buildGroupSync(
  settings: Config,
  config: FlowConfig,
  clients: { source: KafkaClient; target: KafkaClient },
  logger: Logger,
  registry: Metrics,
): GroupOffsetSync {
  return new GroupOffsetSync(
    settings,
    config,
    clients,
    logger.child({ component: 'group-offset-sync' }),
    registry,
  );
}

/** Connects the admins, the reader and the writer; resolves with both clusters' ids. */
async function connectClients(
  ctx: AssemblyContext,
  clients: FlowClients,
): Promise<{ source: string; target: string }> {
  const { source: from, target: to } = ctx.config;
  // Which cluster a connection failure came from, for its retry line (flow-start.ts startWithRetry).
  const on = <T>(alias: string, step: Promise<T>): Promise<T> =>
    step.catch((error: unknown) => {
      ctx.failedOn(alias);
      throw error;
    });
  const { sourceAdmin, targetAdmin, reader, writer, acl } = clients;
  await Promise.all([
    on(from, sourceAdmin.connect()),
    on(to, targetAdmin.connect()),
    on(from, reader.connect()),
    acl === undefined ? undefined : on(from, acl.source.connect()),
    acl === undefined ? undefined : on(to, acl.target.connect()),
  ]);
  await on(to, writer.connect());
  const [source, target] = await Promise.all([
    on(from, sourceAdmin.clusterId()),
    on(to, targetAdmin.clusterId()),
  ]);
  return { source, target };
}

/** Heartbeats, group offset sync and drills stop first at a shutdown: they are not part of the drain. */
export async function closeSidecars(clients: FlowClients): Promise<void> {
  await Promise.allSettled([clients.heartbeat?.close(), clients.groupSync?.close(), clients.drill?.close()]);
}

/**
 * Drains a running flow alone (a reload stops it), as the daemon's close() does for all: sidecars
 * first, then the flow within `timeoutMs`, then its clients (bounded). Rejects with why it did
 * not drain (DrainTimeoutError); it is stopped anyway.
 */
export async function drainFlow(
  running: RunningFlow,
  metrics: FlowMetrics,
  timeoutMs: number,
): Promise<void> {
  await closeSidecars(running);
  try {
    await running.flow.close(timeoutMs);
  } finally {
    metrics.state('stopped');
    await Promise.race([closeClients(running), sleep(CLOSE_CLIENTS_TIMEOUT_MS, undefined, { ref: false })]);
  }
}

/**
 * Swaps a running flow's group offset sync for `next` (built for a reloaded config): `next`
 * connects first (if it cannot, the old one keeps running and this rejects), the old one closes,
 * then `install` puts `next` in place (false: the flow stopped meanwhile, and `next` closes).
 */
export async function replaceGroupSync(
  running: RunningFlow,
  next: GroupOffsetSync,
  install: () => boolean,
): Promise<void> {
  try {
    await next.connect();
  } catch (error) {
    await next.destroy();
    throw error;
  }
  await running.groupSync?.close();
  if (install()) next.start();
  else await next.close();
}

/** Closes every client of the flow (after it drained); best effort: a failure to close is not reported. */
export async function closeClients(clients: FlowClients): Promise<void> {
  await Promise.allSettled([
    clients.heartbeat?.close(),
    clients.groupSync?.close(),
    clients.drill?.close(),
    clients.writer.close(),
    clients.reader.close(),
    clients.sourceAdmin.close(),
    clients.targetAdmin.close(),
    clients.acl?.source.close(),
    clients.acl?.target.close(),
  ]);
}

/**
 * Stops the flow without draining (what it has not committed is replayed by the next run) and
 * destroys its clients at once.
 */
export async function destroyFlow(running: RunningFlow): Promise<void> {
  await Promise.allSettled([
    // The shortest drain: its timers stop and its queue closes; it rejects (not drained).
    running.flow.close(1),
    running.heartbeat?.destroy(),
    running.groupSync?.destroy(),
    running.drill?.destroy(),
    running.writer.destroy(),
    running.reader.destroy(),
    running.sourceAdmin.destroy(),
    running.targetAdmin.destroy(),
    running.acl?.source.destroy(),
    running.acl?.target.destroy(),
  ]);
}
