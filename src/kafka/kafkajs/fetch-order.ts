// The order in which a fetch asks a broker for its partitions (issue 19, defect 6). Not a patch:
// the order broker-fetch.ts makes kafkajs's Broker.fetch ask in.
//
// A broker returns at least one whole record batch only for the first partition of a fetch that
// has data (KIP-74); any other partition whose next batch is larger than what is left of its
// share (max.partition.fetch.bytes, and the response's fetch.max.bytes) comes back empty, and so
// does a partition whose batches the decode budget left undecoded (decode-budget.ts). Which
// partition comes first therefore decides which one makes progress. kafkajs 2.2.4 shuffles the
// partitions of every fetch: a partition of large batches among n busy ones is served on average
// once every n fetches, and with no bound. Kafka's consumer keeps its partitions in an order and
// moves a partition to the end once a fetch returned it data
// (SubscriptionState.movePartitionToEnd, called from CompletedFetch.drain and
// FetchCollector.initialize): a partition that got nothing stays ahead of those that did, and
// after at most one fetch per partition ahead of it, it is the first with data and is served.
import { partitionKey as key } from '../../replication/ports.ts';

export interface FetchTopic<P> {
  readonly topic: string;
  readonly partitions: readonly P[];
}

export class FetchOrder {
  /** Position of each partition seen: lower is asked for first. */
  readonly #rank = new Map<string, number>();
  #next = 0;

  /**
   * The partitions of a fetch request in this order, one topic entry per partition (the request
   * encoder joins neighbours of one topic, as Kafka's FetchRequest.Builder does). A partition
   * seen for the first time goes last, in the order it came in.
   */
  arrange<P extends { partition: number }>(topics: ReadonlyArray<FetchTopic<P>>): Array<FetchTopic<P>> {
    const entries: Array<{ rank: number; topic: string; partition: P }> = [];
    for (const { topic, partitions } of topics) {
      for (const partition of partitions) {
        const id = key(topic, partition.partition);
        let rank = this.#rank.get(id);
        if (rank === undefined) {
          rank = this.#next++;
          this.#rank.set(id, rank);
        }
        entries.push({ rank, topic, partition });
      }
    }
    entries.sort((a, b) => a.rank - b.rank);
    // Partitions no longer asked for (revoked, led elsewhere, deleted) are forgotten once they
    // outnumber those asked for; a paused one keeps its place until then.
    if (this.#rank.size > 2 * entries.length + 1024) {
      const asked = new Set(entries.map((e) => key(e.topic, e.partition.partition)));
      for (const id of this.#rank.keys()) if (!asked.has(id)) this.#rank.delete(id);
    }
    return entries.map(({ topic, partition }) => ({ topic, partitions: [partition] }));
  }

  /** After a fetch: the partitions it returned data for move to the end, in the order they were asked for. */
  served(partitions: Iterable<{ topic: string; partition: number }>): void {
    for (const { topic, partition } of partitions) this.#rank.set(key(topic, partition), this.#next++);
  }
}
