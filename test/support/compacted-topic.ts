// A source topic of two partitions whose log has compaction gaps: 40 keys per partition written
// six times, compacted until both partitions start past offset 0, then switched to
// `cleanup.policy=delete` so nothing changes under a test's feet afterwards. The source broker
// needs `log.cleaner.backoff.ms` short (500) for the cleaner to run in time.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka as KafkaClient } from 'kafkajs';
import { createTopic, produceAll, readTopic, withAdmin } from './kafka-client.ts';
import { eventually } from './settled.ts';

/** Round `r` of the topic's records: keys k0-k79 (even ones in partition 0), values `v<i>-<r>`. */
export const compactionRound = (r: number) =>
  Array.from({ length: 80 }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: `v${i}-${r}` }));

export async function compactedTopicWithGaps(src: KafkaClient, topic: string): Promise<void> {
  await createTopic(src, topic, {
    partitions: 2,
    config: {
      'cleanup.policy': 'compact',
      'segment.ms': '100',
      'min.cleanable.dirty.ratio': '0.01',
      'min.compaction.lag.ms': '0',
      'delete.retention.ms': '0',
    },
  });
  // 40 keys per partition written 5 times: compaction leaves gaps where the overwritten ones were.
  for (let r = 0; r < 5; r++) {
    await produceAll(src, topic, compactionRound(r));
    await sleep(150); // the next write rolls the segment, so the cleaner may compact it
  }
  await produceAll(src, topic, compactionRound(5));
  await eventually(
    'compaction removed overwritten records in both partitions',
    async () => {
      const now = await readTopic(src, topic);
      return [0, 1].every((p) => Number(now.find((r) => r.partition === p)?.offset) > 0) ? true : undefined;
    },
    90_000,
  );
  // No more compaction from here on: the source must not change under the test's feet.
  await withAdmin(src, (a) =>
    a.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
    }),
  );
  await sleep(2000);
}
