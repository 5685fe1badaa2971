// The start of one flow, in the background: it waits for its clusters to answer (reachability.ts),
// builds the flow (flow-assembly.ts) and, when that fails, says why and tries again with backoff,
// until the flow runs, a reload stops it or the daemon closes.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/index.ts';
import { connectCause, isConnectFailure } from '../kafka/connect-cause.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type Metrics } from '../observability/metrics.ts';
import { backoffMs } from '../replication/backoff.ts';
import {
  assembleFlow,
  closeClients,
  destroyFlow,
  type AssemblyContext,
  type RunningFlow,
} from './flow-assembly.ts';
import type { Reachability } from './reachability.ts';
import type { FlowEntry } from './status.ts';

/** A flow that could not start is tried again after 1 s, doubling up to a minute. */
const START_RETRY_BASE_MS = 1000;
const START_RETRY_MAX_MS = 60_000;

/** What starting a flow needs of the daemon. */
export interface FlowStartHost {
  /** The running config (a reload replaces it). */
  readonly settings: () => Config;
  /** The daemon's registry (group offset sync sets its own gauges). */
  readonly registry: Metrics;
  /** The daemon's root logger; the flow logs through a child of it. */
  readonly logger: Logger;
  readonly reach: Reachability;
  /** Aborted when the daemon closes or is destroyed. */
  readonly signal: AbortSignal;
  /** Whether destroy() began: a flow that finishes starting then is destroyed, not drained. */
  readonly destroyed: () => boolean;
  readonly client: AssemblyContext['client'];
  readonly registerClusterId: AssemblyContext['registerClusterId'];
  /** The flow runs (entry.running is set): its lag is read at once. */
  readonly running: (entry: FlowEntry) => void;
}

/** Starts the flow, retried until it runs or it (entry.stop) or the daemon stops. */
export async function startWithRetry(entry: FlowEntry, host: FlowStartHost): Promise<void> {
  const { config } = entry;
  const logger = host.logger.child({ flow: config.name });
  // The daemon closing, or a reload stopping this flow.
  const signal = AbortSignal.any([host.signal, entry.stop.signal]);
  const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  for (let attempt = 0; !signal.aborted; attempt++) {
    // An unreachable cluster is probed (one log line per cluster and retry), not the flow.
    await Promise.race([
      Promise.all([host.reach.until(config.source), host.reach.until(config.target)]),
      stopped,
    ]);
    if (signal.aborted) return;
    entry.failedOn = undefined;
    try {
      const running = await startFlow(entry, logger, host);
      if (signal.aborted) {
        await stopLate(running, host);
        return;
      }
      entry.running = running;
      entry.startError = undefined;
      logger.info(
        { source: config.source, target: config.target, topics: running.reader.topics.length },
        'flow running',
      );
      host.running(entry);
      return;
    } catch (error) {
      if (entry.failedOn !== undefined && isConnectFailure(error)) {
        // The cluster answered its probe, then the flow's clients could not reach it: the
        // cluster's retry line says why, and the next attempt waits for it to answer again.
        logger.debug({ err: error, cluster: entry.failedOn }, 'flow could not reach a cluster');
        host.reach.lost(entry.failedOn, error);
        attempt = -1;
        continue;
      }
      await retryLater(entry, logger, error, attempt, signal);
    }
  }
}

function startFlow(entry: FlowEntry, logger: Logger, host: FlowStartHost): Promise<RunningFlow> {
  return assembleFlow({
    settings: host.settings(),
    config: entry.config,
    metrics: entry.metrics,
    registry: host.registry,
    logger,
    client: (alias) => host.client(alias),
    registerClusterId: (alias, id) => host.registerClusterId(alias, id),
    failedOn: (alias) => (entry.failedOn ??= alias),
  });
}

/** A flow that finished starting after close() or destroy() began: stopped the same way. */
async function stopLate(running: RunningFlow, host: FlowStartHost): Promise<void> {
  if (host.destroyed()) return destroyFlow(running);
  await running.flow.close(host.settings().shutdown.timeoutMs).catch(() => {});
  await closeClients(running);
}

/** Says why the flow could not start, and waits (with backoff) before the next attempt. */
async function retryLater(
  entry: FlowEntry,
  logger: Logger,
  error: unknown,
  attempt: number,
  signal: AbortSignal,
): Promise<void> {
  const delay = backoffMs(attempt, START_RETRY_BASE_MS, START_RETRY_MAX_MS, { jitter: false });
  entry.startError = connectCause(error).text;
  entry.metrics.error(entry.failedOn === entry.config.target ? 'target' : 'source', errorCode(error));
  logger.error({ err: error, cause: entry.startError, retryInMs: delay }, 'flow could not start; retrying');
  await sleep(delay, undefined, { signal }).catch(() => {});
}
