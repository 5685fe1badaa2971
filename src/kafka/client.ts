import type { ConnectionOptions } from 'node:tls';
import type {
  Kafka as KafkaClient,
  Producer,
  ProducerConfig,
  RetryOptions,
  SASLOptions,
  logCreator,
} from 'kafkajs';
import type { ClusterConfig, SaslConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';
import { saslLogin, tlsMaterial } from './credentials.ts';
import { Kafka, kafkajs, logLevel, readIntoOneBuffer } from './kafkajs/index.ts';
import { OauthTokenProvider, oauthbearerSaslOptions } from './oauth.ts';

/**
 * kafkajs's namespaces that log each failed connection attempt and each error response of the
 * requests kafkajs retries itself (with the stack of the socket error). Whatever fails for good
 * reaches our code as a rejected operation, which says so once with its cause (the daemon: one line
 * per cluster and retry), so these are for debugging only.
 */
const RETRIED_BY_KAFKAJS = new Set(['Connection', 'ConnectionPool', 'BrokerPool', 'RequestQueue']);

/**
 * kafkajs logs go through pino, tagged with the cluster alias. Its errors outside the connection
 * layer (a consumer crash and restart, a failed admin retry) are transient by nature: warnings,
 * without the stack, which stays at debug; the daemon logs at error what needs an operator.
 * Its info lines narrate a lifecycle (starting, joined, paused, stopped) that our own log lines
 * state where it matters: debug.
 */
export function kafkajsLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const warning = level === logLevel.ERROR || level === logLevel.WARN;
      if (warning && !RETRIED_BY_KAFKAJS.has(namespace)) {
        const { stack: _stack, ...rest } = extra as { stack?: unknown };
        logger.warn(rest, message);
      } else logger.debug(extra, message);
    };
}

/**
 * kafkajs's TLS options: the PEM files are read at each new connection when they changed
 * (credentials.ts), and kept out of every log.
 */
function tlsOptions(tls: ClusterConfig['tls'], logger: Logger): ConnectionOptions | boolean {
  if (!tls.enabled) return false;
  if (tls.ca === undefined && tls.cert === undefined) return true;
  return tlsMaterial(tls, logger);
}

/** One token provider per cluster config (every client of a cluster shares its token). */
const oauthProviders = new WeakMap<object, OauthTokenProvider>();

function saslOptions(sasl: SaslConfig | undefined, logger: Logger): SASLOptions | undefined {
  if (sasl === undefined) return undefined;
  if (sasl.mechanism === 'oauthbearer' && sasl.oauthbearer !== undefined) {
    const config = sasl.oauthbearer;
    let provider = oauthProviders.get(config);
    if (provider === undefined)
      oauthProviders.set(
        config,
        (provider = new OauthTokenProvider(config, { logger: logger.child({ component: 'oauthbearer' }) })),
      );
    return oauthbearerSaslOptions(config, provider) as SASLOptions;
  }
  return saslLogin(sasl, logger.child({ component: 'credentials' }));
}

/**
 * kafkajs with one default changed: producers use its DefaultPartitioner unless told otherwise.
 * That is kafkajs 2's default anyway, but without it being named kafkajs logs a notice about its
 * v1 -> v2 partitioner change on the first producer of every process. Every record we write names
 * its partition, so the partitioner never decides anything.
 */
class Client extends Kafka {
  override producer(config: ProducerConfig = {}): Producer {
    return super.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, ...config });
  }
}

/**
 * kafkajs's own retries smooth over leader moves and short outages; longer ones are retried by the
 * flow with its own backoff, so nothing here gives up for good. A probe (cluster-probe.ts) gives
 * its own: one attempt per bootstrap broker.
 */
const DEFAULT_RETRY: RetryOptions = { initialRetryTime: 250, maxRetryTime: 5000, retries: 8 };

export function createClient(
  cluster: ClusterConfig,
  logger: Logger,
  requestTimeoutMs = 30_000,
  retry: RetryOptions = DEFAULT_RETRY,
): KafkaClient {
  const clusterLogger = logger.child({ cluster: cluster.alias });
  return new Client({
    clientId: cluster.clientId,
    brokers: [...cluster.bootstrapServers],
    ssl: tlsOptions(cluster.tls, clusterLogger.child({ component: 'credentials' })),
    sasl: saslOptions(cluster.sasl, clusterLogger),
    connectionTimeout: cluster.connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    retry,
    socketFactory: readIntoOneBuffer,
    logLevel: logLevel.INFO,
    logCreator: kafkajsLogCreator(logger.child({ cluster: cluster.alias, component: 'kafkajs' })),
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
export function protocolErrorType(error: unknown): string | undefined {
  // Subclasses (KafkaJSOffsetOutOfRange, KafkaJSMemberIdRequired) carry the type too.
  const root = rootCause(error) as { name?: string; type?: string };
  return root?.name?.startsWith('KafkaJS') === true && typeof root.type === 'string' ? root.type : undefined;
}

/**
 * Whether creating a topic failed because it exists (another instance created it first). kafkajs
 * (admin.createTopics) answers false itself when every topic of the request exists; otherwise it
 * rejects with a KafkaJSAggregateError of one KafkaJSCreateTopicError per topic, each with Kafka's
 * error type, or with a protocol error under its retry wrappers.
 */
export function isTopicAlreadyExists(error: unknown): boolean {
  const errors = (error as { name?: unknown; errors?: unknown } | null)?.errors;
  if ((error as { name?: unknown } | null)?.name === 'KafkaJSAggregateError' && Array.isArray(errors))
    return errors.length > 0 && errors.every((e) => protocolErrorType(e) === 'TOPIC_ALREADY_EXISTS');
  return protocolErrorType(error) === 'TOPIC_ALREADY_EXISTS';
}
