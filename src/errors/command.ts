// Errors of the command line, the configuration and the daemon's lifecycle.
import { KafkaMirrorError } from './base.ts';

/** The command line was wrong: unknown command or flag, missing argument. Exit code 2. */
export class UsageError extends KafkaMirrorError {
  static readonly code = 'KM_USAGE';
  constructor(message: string) {
    super(UsageError.code, message);
  }
}

/** The configuration is invalid. Lists every problem, each with its key path. Exit code 2. */
export class ConfigError extends KafkaMirrorError {
  static readonly code = 'KM_CONFIG';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(
      ConfigError.code,
      `invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/** Draining did not finish within shutdown.timeoutMs; uncommitted records are replayed on restart. */
export class ShutdownTimeoutError extends KafkaMirrorError {
  static readonly code = 'KM_SHUTDOWN_TIMEOUT';
  constructor(timeoutMs: number) {
    super(ShutdownTimeoutError.code, `shutdown did not complete within ${timeoutMs} ms`);
  }
}

/**
 * Two aliases of the config reach the same Kafka cluster (same cluster id). Provenance and the
 * loop guard identify clusters by id, so this is refused at start. Exit code 2.
 */
export class ClusterIdentityError extends KafkaMirrorError {
  static readonly code = 'KM_CLUSTER_IDENTITY';
  constructor(clusterId: string, aliases: readonly string[]) {
    super(
      ClusterIdentityError.code,
      `clusters ${aliases.map((a) => `"${a}"`).join(' and ')} are the same Kafka cluster (cluster id ${clusterId}); each alias must name a different cluster`,
    );
  }
}

/** The admin HTTP server cannot bind its address (port in use, no permission). Exit code 1. */
export class AdminListenError extends KafkaMirrorError {
  static readonly code = 'KM_ADMIN_LISTEN';
  constructor(host: string, port: number, cause: Error) {
    super(
      AdminListenError.code,
      `admin server cannot listen on ${host}:${port}: ${cause.message} (set admin.host / admin.port)`,
      { cause },
    );
  }
}

/**
 * A look at a cluster (src/kafka/cluster-probe.ts: at start, while it is unreachable, for `plan`)
 * had no answer within connectionTimeoutMs x (bootstrap brokers + 2): a broker accepted the
 * connection and never answered. The cluster counts as unreachable; the daemon probes it again.
 */
export class ClusterNoAnswerError extends KafkaMirrorError {
  static readonly code = 'KM_CLUSTER_NO_ANSWER';
  readonly limitMs: number;
  constructor(limitMs: number) {
    super(ClusterNoAnswerError.code, `no answer within ${limitMs} ms`, { retriable: true });
    this.limitMs = limitMs;
  }
}

/** `verify` was asked about a flow (--flow) or source topic (--topic) that is not there. Exit code 1. */
export class NotFoundError extends KafkaMirrorError {
  static readonly code = 'KM_NOT_FOUND';
  constructor(what: string) {
    super(NotFoundError.code, `no ${what}`);
  }
}

/**
 * A read of one partition (verify) could not start: its throwaway consumer group did not join
 * within the time allowed. Nothing is concluded about the records of that partition.
 */
export class ReadStalledError extends KafkaMirrorError {
  static readonly code = 'KM_READ_STALLED';
  constructor(topic: string, partition: number, limitMs: number) {
    super(
      ReadStalledError.code,
      `reading ${topic}/${partition}: the reader's consumer group did not join within ${limitMs} ms`,
      { retriable: true },
    );
  }
}

/**
 * A flow names a cluster alias the configuration does not define. Validation refuses such a
 * configuration, so this says the daemon was handed one that was not validated: a bug.
 */
export class UnknownClusterError extends KafkaMirrorError {
  static readonly code = 'KM_UNKNOWN_CLUSTER';
  readonly alias: string;
  constructor(alias: string) {
    super(UnknownClusterError.code, `no cluster ${alias} in the configuration`);
    this.alias = alias;
  }
}

/**
 * A flow did not drain (write what its queue admitted, commit its watermarks) within the time it
 * was given to close. What was not committed is replayed by the next run (duplicates, never loss).
 */
export class DrainTimeoutError extends KafkaMirrorError {
  static readonly code = 'KM_DRAIN_TIMEOUT';
  readonly flow: string;
  readonly timeoutMs: number;
  constructor(flow: string, timeoutMs: number) {
    super(DrainTimeoutError.code, `flow ${flow} did not drain within ${timeoutMs} ms`);
    this.flow = flow;
    this.timeoutMs = timeoutMs;
  }
}
