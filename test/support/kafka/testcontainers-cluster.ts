// The testcontainers backend: the same KafkaCluster API on the official apache/kafka image, for
// machines with a Docker engine. Each node is a container on a private network; its data
// directory is a bind mount, so a stopped or killed node is restarted as a new container on the
// same data, ports and network alias. Toxiproxy runs as a container on the same network. Orphans
// are removed by testcontainers' own reaper (Ryuk).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  GenericContainer,
  Network,
  Wait,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';
import { brokerSettings, newClusterId, type NodePorts } from './broker-config.ts';
import { kafkaVersionFromEnv } from './jars.ts';
import { waitForBrokers } from './metadata.ts';
import { cacheDir } from './paths.ts';
import { freePorts } from './ports.ts';
import { clusterNetwork, TOXIPROXY_VERSION, ToxiproxyServer } from './toxiproxy.ts';
import type { ClusterNetwork, ClusterOptions, KafkaCluster } from './types.ts';

const INTERNAL = 19091;
const EXTERNAL = 9092;
const CONTROLLER = 19093;
const PROXY_API = 8474;

/** KAFKA_* environment variable the image turns into a server.properties key (`.` → `_`, `_` → `__`, `-` → `___`). */
function envName(key: string): string {
  return `KAFKA_${key.replace(/_/g, '__').replace(/-/g, '___').replace(/\./g, '_').toUpperCase()}`;
}

interface ContainerNode {
  readonly id: number;
  readonly alias: string;
  readonly dataDir: string;
  readonly container: GenericContainer;
  started: StartedTestContainer | undefined;
}

export class TestcontainersCluster implements KafkaCluster {
  readonly backend = 'testcontainers' as const;
  readonly name: string;
  readonly kafkaVersion: string;
  readonly clusterId: string;
  readonly nodeIds: readonly number[];
  readonly bootstrapServers: readonly string[];
  readonly network: ClusterNetwork | undefined;
  readonly directBootstrapServers: readonly string[] | undefined;
  /** SASL_SSL clusters are a jvm-backend feature (start() refuses the option). */
  readonly security = undefined;
  readonly #nodes: Map<number, ContainerNode>;
  readonly #dockerNetwork: StartedNetwork;
  readonly #proxy: StartedTestContainer | undefined;
  readonly #dir: string;
  readonly #startTimeoutMs: number;
  #stopped = false;

  private constructor(init: {
    name: string;
    kafkaVersion: string;
    clusterId: string;
    nodes: Map<number, ContainerNode>;
    bootstrapServers: string[];
    dockerNetwork: StartedNetwork;
    proxy: StartedTestContainer | undefined;
    dir: string;
    startTimeoutMs: number;
  }) {
    this.name = init.name;
    this.kafkaVersion = init.kafkaVersion;
    this.clusterId = init.clusterId;
    this.#nodes = init.nodes;
    this.nodeIds = [...init.nodes.keys()];
    this.bootstrapServers = init.bootstrapServers;
    this.directBootstrapServers = init.proxy === undefined ? init.bootstrapServers : undefined;
    this.#dockerNetwork = init.dockerNetwork;
    this.#proxy = init.proxy;
    this.#dir = init.dir;
    this.#startTimeoutMs = init.startTimeoutMs;
    this.network =
      init.proxy === undefined
        ? undefined
        : clusterNetwork(
            ToxiproxyServer.connect(`http://${init.proxy.getHost()}:${init.proxy.getMappedPort(PROXY_API)}`),
            init.name,
            this.nodeIds,
          );
  }

  static async start(options: ClusterOptions = {}): Promise<TestcontainersCluster> {
    if (options.security !== undefined) {
      throw new Error(
        'the testcontainers backend does not support `security` (SASL_SSL clusters); run with KAFKA_MIRROR_TEST_BACKEND=jvm',
      );
    }
    const name = options.name ?? 'kafka';
    const size = options.nodes ?? 1;
    const kafkaVersion = options.kafkaVersion ?? kafkaVersionFromEnv();
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const hostPorts = await freePorts(size);
    const dir = path.join(cacheDir, 'runs', `${Date.now()}-${name}-${randomBytes(3).toString('hex')}`);
    const dockerNetwork = await new Network().start();

    let proxy: StartedTestContainer | undefined;
    if (options.toxiproxy === true) {
      // The proxy listens on the host ports the brokers advertise and forwards to their EXTERNAL listeners.
      proxy = await new GenericContainer(`ghcr.io/shopify/toxiproxy:${TOXIPROXY_VERSION.slice(1)}`)
        .withNetwork(dockerNetwork)
        .withExposedPorts(PROXY_API, ...hostPorts.map((port) => ({ container: port, host: port })))
        .start();
      const api = ToxiproxyServer.connect(`http://${proxy.getHost()}:${proxy.getMappedPort(PROXY_API)}`);
      for (const [index, id] of ids.entries()) {
        await api.createProxy(`${name}-${id}`, `0.0.0.0:${hostPorts[index]}`, `${name}-${id}:${EXTERNAL}`);
      }
    }

    const addresses = new Map<number, NodePorts>(
      ids.map((id, index) => [
        id,
        {
          internal: INTERNAL,
          external: EXTERNAL,
          controller: CONTROLLER,
          advertised: hostPorts[index] ?? 0,
          host: `${name}-${id}`,
          bind: '0.0.0.0',
        },
      ]),
    );
    const clusterId = newClusterId(randomBytes);
    const nodes = new Map<number, ContainerNode>();
    for (const [index, id] of ids.entries()) {
      const alias = `${name}-${id}`;
      const dataDir = path.join(dir, `node${id}`);
      await mkdir(dataDir, { recursive: true });
      await chmod(dataDir, 0o777); // the image runs as an unprivileged user
      const settings = brokerSettings(id, addresses, '/var/lib/kafka/data', options.brokerConfig);
      const environment = Object.fromEntries(Object.entries(settings).map(([k, v]) => [envName(k), v]));
      const hostPort = hostPorts[index] ?? 0;
      const container = new GenericContainer(`apache/kafka:${kafkaVersion}`)
        .withNetwork(dockerNetwork)
        .withNetworkAliases(alias)
        .withEnvironment({ ...environment, CLUSTER_ID: clusterId })
        .withBindMounts([{ source: dataDir, target: '/var/lib/kafka/data' }])
        .withExposedPorts(proxy === undefined ? { container: EXTERNAL, host: hostPort } : EXTERNAL)
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(options.startTimeoutMs ?? 120_000);
      nodes.set(id, { id, alias, dataDir, container, started: undefined });
    }

    const cluster = new TestcontainersCluster({
      name,
      kafkaVersion,
      clusterId,
      nodes,
      bootstrapServers: hostPorts.map((port) => `127.0.0.1:${port}`),
      dockerNetwork,
      proxy,
      dir,
      startTimeoutMs: options.startTimeoutMs ?? 120_000,
    });
    try {
      await Promise.all(
        [...nodes.values()].map(async (node) => (node.started = await node.container.start())),
      );
      await waitForBrokers(cluster.bootstrapServers, ids, Date.now() + cluster.#startTimeoutMs);
    } catch (error) {
      await cluster.stop({ keepLogs: true });
      throw error;
    }
    return cluster;
  }

  isRunning(nodeId: number): boolean {
    return this.#node(nodeId).started !== undefined;
  }

  pid(): number | undefined {
    return undefined; // the broker runs inside a container
  }

  async stopNode(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    await node.started?.stop({ timeout: 30_000 });
    node.started = undefined;
  }

  async killNode(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    await node.started?.stop({ timeout: 0 });
    node.started = undefined;
  }

  async startNode(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    if (node.started !== undefined) throw new Error(`${this.name} node ${nodeId} is already running`);
    node.started = await node.container.start();
    await waitForBrokers(this.bootstrapServers, this.nodeIds, Date.now() + this.#startTimeoutMs);
  }

  async logTail(nodeId: number, lines = 40): Promise<string> {
    const started = this.#node(nodeId).started;
    if (started === undefined) return '';
    const chunks: string[] = [];
    const stream = await started.logs({ tail: lines });
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer | string) => chunks.push(chunk.toString()));
      stream.on('end', resolve);
      setTimeout(resolve, 2000);
    });
    return chunks.join('');
  }

  async stop(options: { keepLogs?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (options.keepLogs === true) {
      for (const id of this.nodeIds) {
        process.stderr.write(
          `kafka cluster ${this.name} node ${id} log tail:\n${await this.logTail(id, 200)}\n`,
        );
      }
    }
    await Promise.all([...this.#nodes.values()].map((node) => node.started?.stop({ timeout: 0 })));
    await this.#proxy?.stop({ timeout: 0 });
    await this.#dockerNetwork.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }

  #node(nodeId: number): ContainerNode {
    const node = this.#nodes.get(nodeId);
    if (node === undefined)
      throw new Error(`${this.name} has no node ${nodeId} (nodes: ${this.nodeIds.join(', ')})`);
    return node;
  }
}
