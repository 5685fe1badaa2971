// Topic chores between runs: create the topics a run writes to, count what a topic holds, and
// delete what a run left behind so the next one starts from the same empty target.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { client, createTopic, withAdmin } from '../test/support/kafka-client.ts';

export { client, createTopic };

/** Records in a topic: the sum of its partitions' end offsets minus their start offsets. */
export async function countRecords(kafka: Kafka, topic: string): Promise<number> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/**
 * Deletes every consumer group: kafka-mirror's committed watermarks and the perf tools' groups,
 * which MirrorMaker 2's checkpoint connector would otherwise pick up and checkpoint in later runs.
 * A group that still has members (none should) is left alone.
 */
export async function deleteGroups(kafka: Kafka): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  });
}

/**
 * Deletes every topic except Kafka's own (`__*`) and `keep`: the remote topics, MirrorMaker 2's
 * internal, heartbeat and checkpoint topics, kafka-mirror's heartbeat topic. Segments are removed
 * from disk in the background by the broker.
 */
export async function deleteTopicsExcept(kafka: Kafka, keep: readonly string[] = []): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__') && !keep.includes(t));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
  });
}

/**
 * Makes a fresh cluster's group coordinator ready (creates and loads __consumer_offsets) before
 * the first run, so no system pays for it: a consumer group's first request on a new cluster
 * answers COORDINATOR_LOAD_IN_PROGRESS for a moment.
 */
export async function warmUpGroupCoordinator(kafka: Kafka, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await withAdmin(kafka, async (admin) => {
    for (;;) {
      try {
        await admin.fetchOffsets({ groupId: 'bench-warm-up' });
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`group coordinator not ready after ${timeoutMs / 1000} s`, { cause: error });
        }
        await sleep(200);
      }
    }
  });
}
