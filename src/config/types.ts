import type { OauthbearerConfig } from './oauthbearer.ts';
import type { Compression } from '../protocol/records.ts';

export type { Compression };
/** `source`: each batch written with the codec its records had on the source. */
export type TargetCompression = Compression | 'source';
export type NamingPolicy = 'identity' | 'prefix';

export interface ClusterConfig {
  readonly alias: string;
  readonly bootstrapServers: readonly string[];
  readonly clientId: string;
  readonly connectionTimeoutMs: number;
  /** Paths of PEM files; TLS is on when `enabled` (implied by any file). */
  readonly tls: {
    readonly enabled: boolean;
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
  };
  /** The password is resolved from the file or environment variable at load time. */
  readonly sasl: SaslConfig | undefined;
}

export interface SaslConfig {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer';
  readonly username: string;
  readonly password: string;
  /** The environment variable the password came from, when it came from one (not a secret). */
  readonly passwordEnv?: string;
  /** The file the password came from, when it came from one: read again when it changes (kafka/credentials.ts). */
  readonly passwordFile?: string;
  /** With mechanism oauthbearer (username and password are then empty). */
  readonly oauthbearer?: OauthbearerConfig;
}

export interface FlowConfig {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  readonly group: string;
  readonly topics: { readonly include: readonly string[]; readonly exclude: readonly string[] };
  readonly naming: NamingPolicy;
  readonly stackPrefixes: boolean;
  readonly startFrom: 'earliest' | 'latest';
  readonly refreshIntervalMs: number;
  readonly commitIntervalMs: number;
  /** Bytes per second written to the target; 0 = no cap. */
  readonly maxBytesPerSecond: number;
  readonly replicationFactor: number;
  readonly topicConfigs: readonly string[];
  readonly delivery: 'at-least-once' | 'exactly-once';
  readonly transaction: {
    readonly maxRecords: number;
    readonly maxBytes: number;
    readonly intervalMs: number;
    /** A partition with nothing more to write commits once its transaction is this old. */
    readonly idleCommitMs: number;
    readonly timeoutMs: number;
    /** Compacted topic on the target holding the flow's source positions (derived from the group). */
    readonly positionsTopic: string;
  };
  readonly groupOffsetSync: {
    readonly enabled: boolean;
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    readonly intervalMs: number;
  };
  readonly topicConfigSync: {
    readonly enabled: boolean;
    /** Regular expressions of config names never synced (whole name). */
    readonly exclude: readonly string[];
  };
  /** Topic ACL sync (src/replication/acl-sync.ts). */
  readonly aclSync: { readonly enabled: boolean };
  /** DR drills (src/offsets/drill.ts); intervalMs 0 = off. */
  readonly drill: {
    readonly intervalMs: number;
    readonly groups: readonly string[];
    readonly records: number;
  };
}

export interface Config {
  readonly clusters: Readonly<Record<string, ClusterConfig>>;
  readonly flows: readonly FlowConfig[];
  readonly queue: { readonly maxRecords: number; readonly maxBytes: number };
  readonly consumer: {
    readonly maxBytes: number;
    readonly maxBytesPerPartition: number;
    readonly maxWaitMs: number;
    readonly sessionTimeoutMs: number;
  };
  readonly producer: {
    readonly compression: TargetCompression;
    readonly maxRequestBytes: number;
    readonly concurrency: number;
    readonly maxInFlightPerPartition: number;
    readonly requestTimeoutMs: number;
  };
  readonly shutdown: { readonly timeoutMs: number };
  readonly heartbeats: { readonly enabled: boolean; readonly intervalMs: number };
  readonly metrics: { readonly lagIntervalMs: number };
  readonly admin: {
    readonly host: string;
    readonly port: number;
    readonly stallTimeoutMs: number;
    /** HTTPS for the admin server (file paths); undefined: plain HTTP. */
    readonly tls: AdminTlsConfig | undefined;
    readonly control: ControlConfig;
  };
  readonly log: { readonly level: string; readonly pretty: boolean };
  readonly reload: { readonly watch: boolean; readonly debounceMs: number };
}

/** admin.tls: the admin server's certificate and key, and what its clients (the CLI) trust. */
export interface AdminTlsConfig {
  readonly cert: string;
  readonly key: string;
  /** CA file the CLI trusts for the admin server; undefined: system CAs and `cert` itself. */
  readonly ca: string | undefined;
}

/** admin.control: the /control/ endpoints and who may call them. */
export interface ControlConfig {
  readonly enabled: boolean;
  /** Each token as its SHA-256 digest (hex): the token itself is not kept once loaded. */
  readonly tokens: readonly ControlToken[];
}

export interface ControlToken {
  /** Names the caller in logs and metrics; not a secret. */
  readonly name: string;
  readonly digest: string;
  /** The environment variable the token came from, when it came from one (not a secret). */
  readonly env?: string;
}
