// Replaces kafkajs/src/utils/shuffle.js (captured by broker/index.js and cluster/brokerPool.js)
// with a shuffle that can be told to keep the order, and wraps Broker.prototype.fetch of
// kafkajs/src/broker/index.js.
//
// Why: starvation (issue 19, defect 6). Broker.fetch shuffles a fetch's partitions at random
// before it encodes the request; a partition of large batches among n busy ones was then served
// once every n fetches on average, with no bound. With the shuffle told to keep the order while
// Broker.fetch starts, the request asks for them in the broker's FetchOrder (fetch-order.ts), as
// Kafka's consumer does, and the partitions a response served go to the end of it. Every other
// caller of shuffle (the broker pool) still shuffles.
import { FetchOrder } from './fetch-order.ts';
import { kafkajsModule, replaceModule, type ModuleSwap } from './module-cache.ts';
import { fetchedRecordSet } from './record-sets.ts';

export const swap: ModuleSwap = {
  module: 'utils/shuffle.js',
  capturedBy: ['broker/index.js', 'cluster/brokerPool.js'],
};

interface FetchedPartition {
  partition: number;
  messages: object;
}
interface FetchResponse {
  responses: Array<{ topicName: string; partitions: FetchedPartition[] }>;
}
interface BrokerFetch {
  fetch(request: {
    topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number }> }>;
  }): Promise<FetchResponse>;
}

let keepOrder = false;
const fetchOrders = new WeakMap<object, FetchOrder>();

/**
 * The partitions a response served: bytes of the partition were decoded (Kafka's
 * CompletedFetch.drain: bytesRead > 0). A partition the decode budget cut before its first batch
 * got nothing and keeps its place.
 */
function servedBy(fetched: FetchResponse): Array<{ topic: string; partition: number }> {
  const served: Array<{ topic: string; partition: number }> = [];
  for (const { topicName, partitions } of fetched.responses)
    for (const p of partitions) {
      const set = fetchedRecordSet(p.messages);
      if ((set?.wireBytes ?? (p.messages as unknown[]).length) > 0)
        served.push({ topic: topicName, partition: p.partition });
    }
  return served;
}

export function installBrokerFetch(): void {
  const shuffle = kafkajsModule<<T>(array: T[]) => T[]>(swap.module);
  replaceModule('broker-fetch.ts', swap, <T>(array: T[]) => (keepOrder ? array : shuffle(array)));
  const Broker = kafkajsModule<{ prototype: BrokerFetch }>('broker/index.js');
  const brokerFetch = Broker.prototype.fetch;
  Broker.prototype.fetch = function fetch(this: BrokerFetch, request) {
    let order = fetchOrders.get(this);
    if (order === undefined) fetchOrders.set(this, (order = new FetchOrder()));
    const topics = order.arrange(request.topics);
    let response: ReturnType<BrokerFetch['fetch']>;
    // Broker.fetch shuffles before its first await: the flag covers exactly that call.
    keepOrder = true;
    try {
      response = brokerFetch.call(this, { ...request, topics });
    } finally {
      keepOrder = false;
    }
    return response.then((fetched) => {
      order.served(servedBy(fetched));
      return fetched;
    });
  };
}
