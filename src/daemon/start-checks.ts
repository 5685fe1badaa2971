// What the daemon says about its config once it knows the machine and the clusters: a heap too
// small for the queue budgets, a replication factor above a target's broker count. Warnings and
// errors in the log; nothing is refused.
import { getHeapStatistics } from 'node:v8';
import { heapWarning, type Config, type FlowConfig } from '../config/index.ts';
import type { ClusterAnswer } from '../kafka/cluster-probe.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * Every flow's queue holds up to its byte budget, and the budget charges each record at least the
 * heap it holds. A V8 heap limit below the budgets plus room for the runtime and one fetch would
 * end in an out-of-memory crash under a backlog: say so at start (docs/operations.md, Memory).
 */
export function checkHeap(config: Config, logger: Logger): void {
  const warning = heapWarning(config, getHeapStatistics().heap_size_limit);
  if (warning !== undefined) logger.warn(warning);
}

/**
 * A replication factor above the target's brokers makes every topic creation there fail: said
 * when the target answers (validate cannot know the brokers; `plan` refuses it).
 */
export function checkReplicationFactor(
  flows: Iterable<FlowConfig>,
  alias: string,
  answer: ClusterAnswer,
  logger: Logger,
): void {
  for (const config of flows) {
    if (config.target !== alias || config.replicationFactor <= answer.brokers) continue;
    logger.error(
      {
        flow: config.name,
        target: alias,
        replicationFactor: config.replicationFactor,
        brokers: answer.brokers,
      },
      "flows[].replicationFactor is above the target's broker count: topics cannot be created there (use -1 for the target's default)",
    );
  }
}
