import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { brokerSettings, newClusterId, renderProperties, type NodePorts } from './broker-config.ts';
import { ensureKafkaRuntime, kafkaVersionFromEnv, type KafkaRuntime } from './jars.ts';
import { waitForBrokers } from './metadata.ts';
import { cacheDir } from './paths.ts';
import { freePorts } from './ports.ts';
import { exited, killAllTracked, killHard, terminate, track } from './processes.ts';
import { kafkajsSecurity, prepareSecurity, type PreparedSecurity } from './security.ts';
import { clusterNetwork, ToxiproxyServer } from './toxiproxy.ts';
import type { ClusterNetwork, ClusterOptions, ClusterSecurity, JvmProfile, KafkaCluster } from './types.ts';

const STARTED = /Kafka Server started/;

/** Heap grows on demand; serial GC and C1-only JIT keep six JVMs on two cores from starving each other. */
function jvmFlags(profile: JvmProfile): string[] {
  return [
    '-Xms64m',
    profile === 'bench' ? '-Xmx1g' : '-Xmx512m',
    '-XX:+UseSerialGC',
    ...(profile === 'test' ? ['-XX:TieredStopAtLevel=1'] : []),
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-UsePerfData',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
  ];
}

/** Run directories of clusters this process started (or is starting) and has not stopped yet. */
const unstopped = new Set<string>();
/** Set by `abortAll`: nothing more is started, and nothing is kept. */
let aborted = false;

interface NodeState {
  readonly id: number;
  readonly dir: string;
  readonly logFile: string;
  readonly configFile: string;
  process: ChildProcess | undefined;
}

export class JvmCluster implements KafkaCluster {
  readonly backend = 'jvm' as const;
  readonly name: string;
  readonly kafkaVersion: string;
  readonly clusterId: string;
  readonly nodeIds: readonly number[];
  readonly bootstrapServers: readonly string[];
  readonly directBootstrapServers: readonly string[];
  readonly network: ClusterNetwork | undefined;
  readonly security: ClusterSecurity | undefined;
  readonly #runtime: KafkaRuntime;
  readonly #dir: string;
  readonly #nodes: Map<number, NodeState>;
  readonly #flags: string[];
  readonly #startTimeoutMs: number;
  readonly #proxy: ToxiproxyServer | undefined;
  /** Extra `StorageTool format` arguments (the SCRAM users of a secure cluster). */
  readonly #formatArgs: readonly string[];
  #stopped = false;

  private constructor(init: {
    name: string;
    runtime: KafkaRuntime;
    clusterId: string;
    dir: string;
    nodes: Map<number, NodeState>;
    bootstrapServers: string[];
    directBootstrapServers: string[];
    flags: string[];
    startTimeoutMs: number;
    proxy: ToxiproxyServer | undefined;
    security: PreparedSecurity | undefined;
  }) {
    this.name = init.name;
    this.#runtime = init.runtime;
    this.kafkaVersion = init.runtime.version;
    this.clusterId = init.clusterId;
    this.#dir = init.dir;
    this.#nodes = init.nodes;
    this.nodeIds = [...init.nodes.keys()];
    this.bootstrapServers = init.bootstrapServers;
    this.directBootstrapServers = init.directBootstrapServers;
    this.#flags = init.flags;
    this.#startTimeoutMs = init.startTimeoutMs;
    this.#proxy = init.proxy;
    this.network = init.proxy === undefined ? undefined : clusterNetwork(init.proxy, init.name, this.nodeIds);
    this.security = init.security?.info;
    this.#formatArgs = init.security?.formatArgs ?? [];
  }

  static async start(options: ClusterOptions = {}): Promise<JvmCluster> {
    const name = options.name ?? 'kafka';
    const size = options.nodes ?? 1;
    const runtime = await ensureKafkaRuntime(options.kafkaVersion ?? kafkaVersionFromEnv());
    const dir = path.join(
      cacheDir,
      'runs',
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${name}-${randomBytes(3).toString('hex')}`,
    );
    await mkdir(dir, { recursive: true });
    unstopped.add(dir);
    const security =
      options.security === undefined
        ? undefined
        : await prepareSecurity(path.join(dir, 'tls'), name, options.security);
    const proxy =
      options.toxiproxy === true ? await ToxiproxyServer.start(path.join(dir, 'toxiproxy.log')) : undefined;

    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const ports = new Map<number, NodePorts>();
    const free = await freePorts(size * 4);
    for (const id of ids) {
      const [internal, external, controller, front] = free.splice(0, 4) as [number, number, number, number];
      if (proxy !== undefined)
        await proxy.createProxy(`${name}-${id}`, `127.0.0.1:${front}`, `127.0.0.1:${external}`);
      ports.set(id, { internal, external, controller, advertised: proxy === undefined ? external : front });
    }

    const clusterId = newClusterId(randomBytes);
    const nodes = new Map<number, NodeState>();
    for (const id of ids) {
      const nodeDir = path.join(dir, `node${id}`);
      await mkdir(nodeDir, { recursive: true });
      const configFile = path.join(nodeDir, 'server.properties');
      await writeFile(
        configFile,
        renderProperties(
          brokerSettings(id, ports, path.join(nodeDir, 'data'), {
            ...security?.brokerConfig,
            ...options.brokerConfig,
          }),
        ),
      );
      nodes.set(id, {
        id,
        dir: nodeDir,
        configFile,
        logFile: path.join(nodeDir, 'broker.log'),
        process: undefined,
      });
    }

    const cluster = new JvmCluster({
      name,
      runtime,
      clusterId,
      dir,
      nodes,
      bootstrapServers: ids.map((id) => `127.0.0.1:${ports.get(id)?.advertised}`),
      directBootstrapServers: ids.map((id) => `127.0.0.1:${ports.get(id)?.internal}`),
      flags: [...jvmFlags(options.jvmProfile ?? 'test'), ...(security?.jvmFlags ?? [])],
      startTimeoutMs: options.startTimeoutMs ?? 90_000,
      proxy,
      security,
    });
    try {
      await Promise.all(ids.map((id) => cluster.#format(id)));
      // Combined nodes wait for the controller quorum, so all of them start together.
      const deadline = Date.now() + cluster.#startTimeoutMs;
      await Promise.all(ids.map((id) => cluster.#launch(id, deadline)));
      await cluster.#waitForBrokers(deadline);
    } catch (error) {
      await cluster.stop({ keepLogs: true });
      throw error;
    }
    return cluster;
  }

  isRunning(nodeId: number): boolean {
    const child = this.#node(nodeId).process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  pid(nodeId: number): number | undefined {
    return this.isRunning(nodeId) ? this.#node(nodeId).process?.pid : undefined;
  }

  async stopNode(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    if (node.process !== undefined) await terminate(node.process, 30_000);
  }

  async killNode(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    if (node.process !== undefined) await killHard(node.process);
  }

  async startNode(nodeId: number): Promise<void> {
    if (this.isRunning(nodeId)) throw new Error(`${this.name} node ${nodeId} is already running`);
    const deadline = Date.now() + this.#startTimeoutMs;
    await this.#launch(nodeId, deadline);
    await this.#waitForBrokers(deadline);
  }

  async logTail(nodeId: number, lines = 40): Promise<string> {
    const text = await readFile(this.#node(nodeId).logFile, 'utf8').catch(() => '');
    return text
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  }

  /**
   * For a process that must exit now (the demo's second Ctrl-C): SIGKILLs every process the
   * launcher started here and removes the run directory of every cluster not yet stopped,
   * including clusters still starting. Nothing is kept.
   */
  static async abortAll(): Promise<void> {
    aborted = true;
    const dirs = [...unstopped];
    unstopped.clear();
    await killAllTracked();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  async stop(options: { keepLogs?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    unstopped.delete(this.#dir);
    await Promise.all(
      [...this.#nodes.values()].map((n) => (n.process === undefined ? undefined : killHard(n.process))),
    );
    await this.#proxy?.stop();
    const keep = options.keepLogs === true || process.env['KAFKA_MIRROR_KEEP_LOGS'] === 'always';
    if (keep && !aborted) {
      // Keep logs and configs, drop the (large) data directories.
      await Promise.all(
        [...this.#nodes.values()].map((n) => rm(path.join(n.dir, 'data'), { recursive: true, force: true })),
      );
      process.stderr.write(`kafka cluster ${this.name}: logs kept in ${this.#dir}\n`);
    } else {
      await rm(this.#dir, { recursive: true, force: true });
    }
  }

  #node(nodeId: number): NodeState {
    const node = this.#nodes.get(nodeId);
    if (node === undefined)
      throw new Error(`${this.name} has no node ${nodeId} (nodes: ${this.nodeIds.join(', ')})`);
    return node;
  }

  /** Readiness through the client listener, logged in as the first user on a secure cluster. */
  #waitForBrokers(deadline: number): Promise<void> {
    if (this.security === undefined) return waitForBrokers(this.bootstrapServers, this.nodeIds, deadline);
    const { ssl, sasl } = kafkajsSecurity(this.security);
    const certificate = this.security.clientCertificate;
    const mutual =
      certificate === undefined
        ? {}
        : { cert: readFileSync(certificate.certFile), key: readFileSync(certificate.keyFile) };
    return waitForBrokers(this.bootstrapServers, this.nodeIds, deadline, {
      ssl: { ...ssl, ...mutual },
      sasl,
    });
  }

  async #java(args: string[], logFile: string): Promise<ChildProcess> {
    if (aborted) throw new Error(`${this.name}: the launcher was aborted`);
    const out = openSync(logFile, 'a');
    try {
      // detached: a Ctrl-C in the terminal reaches the test or demo process, which then stops
      // the brokers in order, instead of reaching every JVM at once.
      const child = spawn(
        'java',
        [...this.#flags, this.#runtime.loggingFlag, '-cp', this.#runtime.classpath, ...args],
        {
          detached: true,
          stdio: ['ignore', out, out],
        },
      );
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error) =>
          reject(new Error(`could not start java: ${error.message}`, { cause: error })),
        );
      });
      track(child);
      return child;
    } finally {
      closeSync(out);
    }
  }

  async #format(nodeId: number): Promise<void> {
    const node = this.#node(nodeId);
    const child = await this.#java(
      [
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        '-t',
        this.clusterId,
        '-c',
        node.configFile,
        ...this.#formatArgs,
      ],
      node.logFile,
    );
    const code = await exited(child);
    if (code !== 0) {
      throw new Error(
        `formatting ${this.name} node ${nodeId} failed (exit ${String(code)}):\n${await this.logTail(nodeId)}`,
      );
    }
  }

  /** Starts the JVM and waits for its "Kafka Server started" line, or fails with the log tail. */
  async #launch(nodeId: number, deadline: number): Promise<void> {
    const node = this.#node(nodeId);
    const from = await stat(node.logFile).then(
      (s) => s.size,
      () => 0,
    );
    const child = await this.#java(['kafka.Kafka', node.configFile], node.logFile);
    node.process = child;
    for (;;) {
      const log = await readFile(node.logFile).then((b) => b.subarray(from).toString('utf8'));
      if (STARTED.test(log)) return;
      const failure =
        child.exitCode !== null || child.signalCode !== null
          ? `exited (${String(child.exitCode ?? child.signalCode)}) before it started`
          : Date.now() > deadline
            ? `did not log "Kafka Server started" in time`
            : undefined;
      if (failure !== undefined) {
        await killHard(child);
        throw new Error(
          `${this.name} node ${nodeId} ${failure}; log ${node.logFile} ends with:\n${await this.logTail(nodeId)}`,
        );
      }
      await sleep(100);
    }
  }
}
