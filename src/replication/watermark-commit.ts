// The end of a flow's pipeline: watermarks that moved are committed to the source group, and
// count as committed only once the group acknowledged them.
import { CommitNotAcknowledgedError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { errorCode, type FlowMetrics } from '../observability/metrics.ts';
import type { OffsetTracker } from './offset-tracker.ts';
import { fromPartitionKey, partitionKey, type FlowSource, type SourceOffset } from './ports.ts';

/** Commits every watermark of `tracker` that moved. Never throws (a failed commit is retried next time). */
export async function commitWatermarks(
  tracker: OffsetTracker,
  source: Pick<FlowSource, 'commit'>,
  metrics: FlowMetrics,
  logger: Logger,
): Promise<void> {
  const moved = tracker.uncommitted();
  if (moved.length === 0) return;
  const offsets = moved.map(([lane, offset]) => ({ ...fromPartitionKey(lane), offset }));
  try {
    const acknowledged = byPartition(await source.commit(offsets));
    // As Kafka's ConsumerCoordinator (OffsetCommitResponseHandler): an offset counts as
    // committed only once the coordinator answered it without error. kafkajs returns without
    // sending anything while its consumer is not running; what was not acknowledged stays
    // uncommitted and goes with the next commit.
    let missed = 0;
    for (const [lane, offset] of moved) {
      if (acknowledged.get(lane)?.has(offset) === true) tracker.markCommitted(lane, offset);
      else missed++;
    }
    if (missed > 0) {
      const error = new CommitNotAcknowledgedError(missed);
      metrics.error('source', error.code);
      logger.warn({ err: error, partitions: missed }, 'commit to source group not acknowledged; will retry');
    } else logger.debug({ partitions: offsets.length }, 'committed watermarks');
  } catch (error) {
    metrics.error('source', errorCode(error));
    logger.warn({ err: error }, 'commit to source group failed; will retry');
  }
}

/** The offsets a commit acknowledged, by partition key. */
function byPartition(acknowledged: ReadonlyArray<SourceOffset>): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const { topic, partition, offset } of acknowledged) {
    const lane = partitionKey(topic, partition);
    out.set(lane, (out.get(lane) ?? new Set()).add(offset));
  }
  return out;
}
