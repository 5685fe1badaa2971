import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Kafka as KafkaClient, SASLOptions, logCreator } from 'kafkajs';
import type { ClusterConfig, SaslConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { Kafka, logLevel, readIntoOneBuffer } from './kafkajs.ts';

/**
 * kafkajs logs go through pino, tagged with the cluster alias. kafkajs logs every failed request
 * it is about to retry at ERROR; those are transient by nature, so they become warnings, and the
 * daemon logs at error only what needs an operator.
 */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(extra, message);
      else if (level === logLevel.INFO) logger.info(extra, message);
      else logger.debug(extra, message);
    };
}

/** kafkajs's TLS options: the PEM files are read here, at connect time, and kept out of every log. */
function tlsOptions(tls: ClusterConfig['tls']): ConnectionOptions | boolean {
  if (!tls.enabled) return false;
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  if (tls.ca === undefined && tls.cert === undefined) return true;
  return { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key) };
}

function saslOptions(sasl: SaslConfig | undefined): SASLOptions | undefined {
  if (sasl === undefined) return undefined;
  const { username, password } = sasl;
  return { mechanism: sasl.mechanism, username, password } as SASLOptions;
}

export function createClient(cluster: ClusterConfig, logger: Logger, requestTimeoutMs = 30_000): KafkaClient {
  return new Kafka({
    clientId: cluster.clientId,
    brokers: [...cluster.bootstrapServers],
    ssl: tlsOptions(cluster.tls),
    sasl: saslOptions(cluster.sasl),
    connectionTimeout: cluster.connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // kafkajs's own retries smooth over leader moves and short outages; longer ones are retried
    // by the flow with its own backoff, so nothing here gives up for good.
    retry: { initialRetryTime: 250, maxRetryTime: 5000, retries: 8 },
    socketFactory: readIntoOneBuffer,
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger.child({ cluster: cluster.alias, component: 'kafkajs' })),
  });
}

/** The innermost cause of a kafkajs error (retry wrappers keep the protocol error as `cause`). */
export function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined || cause === null || cause === current) break;
    current = cause;
  }
  return current;
}

/** Kafka's error name for a protocol error (`MESSAGE_TOO_LARGE`), if the error is one. */
/** Capped exponential backoff with jitter (50-100% of the step): the delay before retry `attempt` (from 0). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 8)) * (0.5 + Math.random() / 2);
}

export function protocolErrorType(error: unknown): string | undefined {
  // Subclasses (KafkaJSOffsetOutOfRange, KafkaJSMemberIdRequired) carry the type too.
  const root = rootCause(error) as { name?: string; type?: string };
  return root?.name?.startsWith('KafkaJS') === true && typeof root.type === 'string' ? root.type : undefined;
}
