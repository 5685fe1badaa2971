/**
 * Addresses of one combined broker+controller node. `host` is the name other nodes reach it by
 * and `bind` the address it listens on (both 127.0.0.1 for local JVMs; the network alias and
 * 0.0.0.0 in a container). Clients always dial 127.0.0.1:`advertised`.
 */
export interface NodePorts {
  internal: number;
  external: number;
  controller: number;
  advertised: number;
  host?: string;
  bind?: string;
}

export type BrokerOverrides = Readonly<Record<string, string | number | boolean>>;

/**
 * server.properties for one combined KRaft node (process.roles=broker,controller) with a static
 * quorum, which formats and starts the same way on Kafka 3.9 and 4.x.
 *
 * Three listeners: INTERNAL carries replication, CONTROLLER the quorum, EXTERNAL the clients.
 * EXTERNAL advertises `ports.advertised`, which is the Toxiproxy front when one is used: clients
 * only bootstrap from the given address and then dial what the broker advertises, so only
 * advertising the proxy puts all client traffic through it. Replication stays direct.
 */
export function brokerSettings(
  nodeId: number,
  all: ReadonlyMap<number, NodePorts>,
  dataDir: string,
  overrides: BrokerOverrides = {},
): Record<string, string> {
  const ports = all.get(nodeId);
  if (ports === undefined) throw new Error(`no ports for node ${nodeId}`);
  const size = all.size;
  const host = ports.host ?? '127.0.0.1';
  const bind = ports.bind ?? '127.0.0.1';
  const voters = [...all].map(([id, p]) => `${id}@${p.host ?? '127.0.0.1'}:${p.controller}`).join(',');
  const replicas = Math.min(size, 3);
  const minIsr = size >= 3 ? 2 : 1;
  const settings: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': nodeId,
    'controller.quorum.voters': voters,
    listeners: `INTERNAL://${bind}:${ports.internal},EXTERNAL://${bind}:${ports.external},CONTROLLER://${bind}:${ports.controller}`,
    'advertised.listeners': `INTERNAL://${host}:${ports.internal},EXTERNAL://127.0.0.1:${ports.advertised}`,
    'inter.broker.listener.name': 'INTERNAL',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': dataDir,
    // Internal topics sized to the cluster (defaults assume 3 brokers and 50 partitions).
    'offsets.topic.replication.factor': replicas,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    'share.coordinator.state.topic.num.partitions': 1,
    'default.replication.factor': replicas,
    'min.insync.replicas': 1,
    'num.partitions': 1,
    'auto.create.topics.enable': false,
    // Fast groups for tests: no initial rebalance delay, short sessions allowed.
    'group.initial.rebalance.delay.ms': 0,
    'group.min.session.timeout.ms': 1000,
    'group.consumer.min.heartbeat.interval.ms': 100,
    'group.consumer.heartbeat.interval.ms': 500,
    // A 2-core machine runs up to six of these at once.
    'num.network.threads': 2,
    'num.io.threads': 2,
    'background.threads': 2,
    'num.recovery.threads.per.data.dir': 1,
    'num.replica.fetchers': 1,
    'log.cleaner.threads': 1,
    // The default 128 MiB dedupe buffer is allocated on the heap at start; > 1 MiB per thread is required.
    'log.cleaner.dedupe.buffer.size': 2097152,
    'group.coordinator.threads': 1,
    // Failover tests: notice a dead node in seconds, not the 9 s / 30 s defaults.
    'broker.heartbeat.interval.ms': 500,
    'broker.session.timeout.ms': 4000,
    'replica.lag.time.max.ms': 5000,
    'log.delete.delay.ms': 1000,
    'controlled.shutdown.enable': size > 1,
  };
  return Object.fromEntries(Object.entries({ ...settings, ...overrides }).map(([k, v]) => [k, String(v)]));
}

export function renderProperties(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n')
    .concat('\n');
}

/** A KRaft cluster id: 16 random bytes, base64url, never starting with '-' (Kafka's Uuid rule). */
export function newClusterId(random: (size: number) => Buffer): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
