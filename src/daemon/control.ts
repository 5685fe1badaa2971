// What an operator can change in a running daemon without a restart: the routes of the admin
// server's /control/ (observability/control-endpoint.ts authenticates, parses, answers, logs and
// counts). Each route acts on the daemon's flows as they are now; docs/operations.md, Control.
import { ControlBadRequestError, ControlConflictError, ControlNotFoundError } from '../errors/index.ts';
import type { ControlRoute } from '../observability/control-endpoint.ts';
import { LOG_LEVELS, setLogLevel, type Logger } from '../observability/logger.ts';
import type { Flow } from '../replication/flow.ts';
import type { TopicPartition } from '../replication/ports.ts';
import type { RunningFlow } from './flow-assembly.ts';
import type { ReloadReport } from './reload.ts';
import type { FlowEntry } from './status.ts';

export interface ControlTarget {
  readonly flows: ReadonlyMap<string, FlowEntry>;
  /** The process's root logger (createLogger's): its level and every child's change together. */
  readonly logger: Logger;
  /** Whether the daemon is closing: nothing is changed then. */
  readonly ending: () => boolean;
  /** Re-reads and applies the config file the daemon was started from; undefined without one. */
  readonly reload?: () => Promise<ReloadReport>;
}

/** Every /control/ route. A new one is one more entry. */
export function controlRoutes(daemon: ControlTarget): ControlRoute[] {
  return [...flowRoutes(daemon), ...daemonRoutes(daemon)];
}

/** The routes that act on one flow. */
function flowRoutes(daemon: ControlTarget): ControlRoute[] {
  const flow = (name: string | undefined) => running(daemon, name ?? '').flow;
  return [
    {
      path: '/control/flows/:flow/pause',
      action: 'pause',
      run: ({ params }) => {
        const f = flow(params['flow']);
        f.pause();
        return { flow: f.config.name, state: f.exportedState };
      },
    },
    {
      path: '/control/flows/:flow/resume',
      action: 'resume',
      run: ({ params }) => {
        const f = flow(params['flow']);
        f.resume();
        return { flow: f.config.name, state: f.exportedState };
      },
    },
    {
      path: '/control/flows/:flow/resume-partitions',
      action: 'resume-partitions',
      run: async ({ params, body }) => {
        const f = flow(params['flow']);
        const resumed = await f.resumeHalted(partitionOf(body));
        return { flow: f.config.name, resumed, state: f.exportedState };
      },
    },
    {
      path: '/control/flows/:flow/refresh',
      action: 'refresh',
      run: async ({ params }) => ({ flows: [await refreshed(running(daemon, params['flow'] ?? ''))] }),
    },
  ];
}

/** The routes that act on the whole daemon. */
function daemonRoutes(daemon: ControlTarget): ControlRoute[] {
  return [
    {
      path: '/control/refresh',
      action: 'refresh',
      run: async () => {
        const flows = [...daemon.flows.values()].flatMap((e) =>
          e.running !== undefined && refreshable(e.running.flow) ? [e.running] : [],
        );
        if (daemon.ending()) throw new ControlConflictError('the daemon is shutting down');
        return { flows: await Promise.all(flows.map(refreshed)) };
      },
    },
    {
      path: '/control/log-level',
      action: 'log-level',
      run: ({ body }) => {
        const level = body['level'];
        if (typeof level !== 'string' || !LOG_LEVELS.includes(level))
          throw new ControlBadRequestError(`body.level: one of ${LOG_LEVELS.join(', ')}`);
        return { previous: setLogLevel(daemon.logger, level), level };
      },
    },
    {
      path: '/control/reload',
      action: 'reload',
      // Answered 200 with the reload's report whatever its result: `result` says whether the new
      // config runs (applied), was refused (invalid: nothing changed) or applied in part (failed).
      run: async () => {
        if (daemon.reload === undefined)
          throw new ControlConflictError('this daemon was not started from a config file: nothing to reload');
        return { ...(await daemon.reload()) };
      },
    },
  ];
}

/** The running flow of that name; ControlNotFoundError for an unknown one, ControlConflictError while it is not running. */
function running(daemon: ControlTarget, name: string): RunningFlow {
  const entry = daemon.flows.get(name);
  if (entry === undefined) throw new ControlNotFoundError(`flow "${name}" in the config`);
  if (daemon.ending()) throw new ControlConflictError('the daemon is shutting down');
  if (entry.running === undefined)
    throw new ControlConflictError(`flow ${name} is not running yet (see /status: startError)`);
  return entry.running;
}

const refreshable = (flow: Flow) => flow.state === 'running' || flow.state === 'paused';

/** A topic sync pass of the flow now (a failed pass is logged and retried, as the periodic one). */
async function refreshed({ flow, reader }: RunningFlow): Promise<{ flow: string; topics: number }> {
  if (!refreshable(flow)) throw new ControlConflictError(`flow ${flow.config.name} is ${flow.state}`);
  await flow.refresh();
  return { flow: flow.config.name, topics: reader.topics.length };
}

/** `{ topic, partition }` (both or neither) of a resume-partitions body. */
function partitionOf(body: Readonly<Record<string, unknown>>): TopicPartition | undefined {
  const { topic, partition } = body;
  if (topic === undefined && partition === undefined) return undefined;
  if (typeof topic !== 'string' || topic === '')
    throw new ControlBadRequestError('body.topic: a topic name, given with body.partition');
  if (typeof partition !== 'number' || !Number.isSafeInteger(partition) || partition < 0)
    throw new ControlBadRequestError('body.partition: a partition number (0 or more), given with body.topic');
  return { topic, partition };
}
