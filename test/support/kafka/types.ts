import type { BrokerOverrides } from './broker-config.ts';
import type { Toxic } from './toxiproxy.ts';

export type Backend = 'jvm' | 'testcontainers';

/** `test` starts fastest (C1 JIT only); `bench` runs the full JIT for throughput measurements. */
export type JvmProfile = 'test' | 'bench';

export interface ClusterOptions {
  /** Label used in directory names and errors: `source`, `target`, `us`. */
  name?: string;
  /** Combined broker+controller nodes. */
  nodes?: 1 | 3;
  /** Put a Toxiproxy in front of every node's client listener (see `KafkaCluster.network`). */
  toxiproxy?: boolean;
  /** Apache Kafka version; defaults to `KAFKA_MIRROR_KAFKA_VERSION` or the launcher default. */
  kafkaVersion?: string;
  /** Extra or overriding server.properties entries. */
  brokerConfig?: BrokerOverrides;
  /** The brokers' JVM (see JvmProfile); `test` unless given. */
  jvmProfile?: JvmProfile;
  /** Give up on readiness after this long. */
  startTimeoutMs?: number;
  /** Make the client listener SASL_SSL (jvm backend only); see `KafkaCluster.security`. */
  security?: SecurityOptions;
}

/**
 * A SASL_SSL client listener: TLS with a certificate from a CA made for this cluster run, and
 * SASL users. Replication and the controller quorum stay PLAINTEXT on loopback.
 */
export interface SecurityOptions {
  /**
   * Users by name with their passwords, each created for SCRAM-SHA-256 and SCRAM-SHA-512 and
   * accepted by PLAIN. Names and passwords: letters, digits and `._~@%+-`.
   */
  scramUsers: Readonly<Record<string, string>>;
  /**
   * PEM files of a client certificate the launcher's readiness check presents, for a client
   * listener made to require mutual TLS (`brokerConfig`: `listener.name.external.ssl.client.auth`).
   */
  clientCertificate?: { readonly certFile: string; readonly keyFile: string };
  /** Also accept SASL OAUTHBEARER on the client listener, JWTs validated against a JWKS (security.ts). */
  oauthbearer?: OauthbearerListenerOptions;
}

export interface OauthbearerListenerOptions {
  readonly jwksUrl: string;
  /** Listed in the JVM's allowed URLs with the JWKS (Kafka 4: org.apache.kafka.sasl.oauthbearer.allowed.urls). */
  readonly tokenUrl?: string;
  /** sasl.oauthbearer.expected.audience */
  readonly audience: string;
  readonly issuer?: string;
  /** connections.max.reauth.ms of OAUTHBEARER sessions on the listener (KIP-368); none unless given. */
  readonly maxReauthMs?: number;
}

export type SaslMechanism = 'scram-sha-256' | 'scram-sha-512' | 'plain';

/** What a client needs to reach a cluster started with `security` (see `kafkajsSecurity`). */
export interface ClusterSecurity {
  readonly protocol: 'SASL_SSL';
  /** PEM certificate of the CA that signed every node's certificate (SAN IP:127.0.0.1, DNS:localhost). */
  readonly caFile: string;
  readonly mechanisms: readonly SaslMechanism[];
  /** The users and their passwords, as given. */
  readonly users: Readonly<Record<string, string>>;
  /** SecurityOptions.clientCertificate, as given. */
  readonly clientCertificate?: SecurityOptions['clientCertificate'];
}

/** Network faults between clients and the cluster, through Toxiproxy. Replication between nodes is not affected. */
export interface ClusterNetwork {
  /** Adds the toxic to the proxies of the given nodes (default: all) under one name, and returns that name. */
  addToxic(toxic: Toxic, nodeIds?: readonly number[]): Promise<string>;
  removeToxic(name: string, nodeIds?: readonly number[]): Promise<void>;
  /** Connections refused while disabled. */
  setEnabled(enabled: boolean, nodeIds?: readonly number[]): Promise<void>;
  /** Every proxy enabled, every toxic removed. */
  reset(): Promise<void>;
}

export interface KafkaCluster {
  readonly name: string;
  readonly backend: Backend;
  readonly kafkaVersion: string;
  readonly clusterId: string;
  readonly nodeIds: readonly number[];
  /** Addresses clients bootstrap from (the Toxiproxy fronts when enabled). */
  readonly bootstrapServers: readonly string[];
  /**
   * Addresses that bypass Toxiproxy (on the jvm backend, the nodes' PLAINTEXT replication
   * listener, which advertises itself): a test's own producer keeps writing while network faults
   * hit the daemon. Undefined where there is no such path (testcontainers with a proxy).
   */
  readonly directBootstrapServers: readonly string[] | undefined;
  /** Present when the cluster was started with `toxiproxy: true`. */
  readonly network: ClusterNetwork | undefined;
  /** Present when the cluster was started with `security`: the CA file and users clients need. */
  readonly security: ClusterSecurity | undefined;
  isRunning(nodeId: number): boolean;
  /** OS process id of a running node (jvm backend), for resource measurements. */
  pid(nodeId: number): number | undefined;
  /** Graceful stop (SIGTERM, controlled shutdown on multi-node clusters). */
  stopNode(nodeId: number): Promise<void>;
  /** SIGKILL: the crash case. */
  killNode(nodeId: number): Promise<void>;
  /** Starts a stopped or killed node with its data and waits until the cluster sees it again. */
  startNode(nodeId: number): Promise<void>;
  /** The last lines of a node's log. */
  logTail(nodeId: number, lines?: number): Promise<string>;
  /** Stops everything. Logs are kept (and their path printed) when `keepLogs` is true. Idempotent. */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}
