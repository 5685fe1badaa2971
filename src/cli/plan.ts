// `kafka-mirror plan`: connects (read only) and prints what each flow would replicate.
import { inspectClusters } from '../daemon/daemon.ts';
import { makePlan, renderPlan } from '../replication/plan.ts';
import { commandLogger, configOf, ExitCode, type CommandLine, type Io } from './command.ts';

/** Exit 2 on a conflict (two sources writing one topic), 1 when a cluster could not be looked at. */
export async function plan(line: CommandLine, io: Io): Promise<number> {
  const config = await configOf(line);
  const { topics, brokers, causes } = await inspectClusters(config, commandLogger());
  const plan = makePlan(config, topics, { brokers, causes });
  io.out(renderPlan(plan));
  if (plan.conflicts.length > 0) return ExitCode.USAGE;
  // A plan that could not look at a cluster says nothing about it: not a success.
  return causes.size > 0 ? ExitCode.FAILURE : ExitCode.OK;
}
