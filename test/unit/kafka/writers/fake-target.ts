// A target that never answers, for the writers' lifecycle tests: a kafkajs client whose producer
// and cluster object connect and disconnect at once (counting the disconnects) and leave every
// request waiting, as a blackholed broker does.
import type { Kafka as KafkaClient } from 'kafkajs';
import type { RawCluster } from '../../../../src/kafka/raw-client.ts';

export interface FakeTarget {
  readonly client: KafkaClient;
  readonly cluster: RawCluster;
  /** Disconnects of the producers and of the cluster object. */
  readonly disconnects: { producer: number; cluster: number };
}

const never = () => new Promise<never>(() => {});

export function fakeTarget(): FakeTarget {
  const disconnects = { producer: 0, cluster: 0 };
  const cluster = {
    connect: async () => {},
    disconnect: async () => {
      disconnects.cluster++;
    },
    addTargetTopic: async () => {},
    refreshMetadata: async () => {},
    findLeaderForPartitions: (_topic: string, partitions: number[]) => ({ '1': partitions }),
    getNodeIds: () => [1],
    findBroker: never,
    findGroupCoordinator: never,
  } as RawCluster;
  const producer = () => ({
    connect: async () => {},
    disconnect: async () => {
      disconnects.producer++;
    },
    send: never,
  });
  // kafkajs's Kafka keeps its cluster factory under this symbol (raw-client.ts clusterOf).
  const client = {
    producer,
    [Symbol('private:Kafka:createCluster')]: () => cluster,
  } as unknown as KafkaClient;
  return { client, cluster, disconnects };
}
