// IncrementalAlterConfigs of topics (protocol/incremental-alter-configs.ts), sent over a kafkajs
// cluster object the way kafkajs sends its own requests, as the Java Admin client's
// incrementalAlterConfigs does for topic resources: one request with every topic, to any broker
// (KafkaAdminClient sends non-broker resources to the least loaded node; here the controller id
// of the metadata, as kafkajs's own alterConfigs does: in KRaft a broker forwards it to the
// controller quorum), at the highest version both sides know. The broker answers for every topic
// alone: one refused topic does not hold the others back.
import { createRequire } from 'node:module';
import {
  ConfigResourceType,
  decodeIncrementalAlterConfigs,
  encodeIncrementalAlterConfigs,
  INCREMENTAL_ALTER_CONFIGS,
  MAX_VERSION,
  type AlterableConfig,
} from '../protocol/incremental-alter-configs.ts';
import type { TopicConfigAnswer } from '../replication/config-sync.ts';

const require = createRequire(import.meta.url);

/** The parts of a kafkajs Broker this request uses (kafkajs/src/broker/index.js). */
interface BrokerInternals {
  readonly versions?: Record<number, { minVersion: number; maxVersion: number } | undefined>;
  readonly connectionPool: { send(protocolRequest: object): Promise<unknown> };
  disconnect(): Promise<void>;
}

/** The parts of kafkajs's Cluster used here. */
export interface AdminCluster {
  refreshMetadata(): Promise<void>;
  findControllerBroker(): Promise<unknown>;
}

/** Kafka's error name for a code, as kafkajs knows it (protocol/error.js). */
function errorName(code: number): string {
  const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
    createErrorFromCode(code: number): { type?: string };
  };
  const { type } = createErrorFromCode(code);
  return type === undefined || type === 'KAFKAJS_UNKNOWN' ? `ERROR_CODE_${code}` : type;
}

/** The version to send: the highest both this client and the broker take, if any. */
function versionFor(broker: BrokerInternals): number | undefined {
  const range = broker.versions?.[INCREMENTAL_ALTER_CONFIGS];
  if (range === undefined || range.minVersion > MAX_VERSION) return undefined;
  return Math.min(range.maxVersion, MAX_VERSION);
}

/**
 * Applies each topic's changes with IncrementalAlterConfigs and returns every topic's answer:
 * null when applied, else Kafka's error name and message. Rejects only when the request itself
 * failed (no connection, a malformed answer); a broker without the API answers every topic with
 * UNSUPPORTED_VERSION.
 */
export async function alterTopicConfigs(
  cluster: AdminCluster,
  changes: ReadonlyMap<string, readonly AlterableConfig[]>,
): Promise<Map<string, TopicConfigAnswer>> {
  const answers = new Map<string, TopicConfigAnswer>();
  if (changes.size === 0) return answers;
  await cluster.refreshMetadata();
  const broker = (await cluster.findControllerBroker()) as BrokerInternals;
  const version = versionFor(broker);
  if (version === undefined) {
    for (const topic of changes.keys())
      answers.set(topic, {
        error: 'UNSUPPORTED_VERSION',
        message: 'the broker has no IncrementalAlterConfigs',
      });
    return answers;
  }
  const resources = [...changes].map(([topic, configs]) => ({
    resourceType: ConfigResourceType.TOPIC,
    resourceName: topic,
    configs,
  }));
  const response = await send(broker, version, encodeIncrementalAlterConfigs({ resources }, version));
  for (const r of response.responses)
    answers.set(
      r.resourceName,
      r.errorCode === 0 ? null : { error: errorName(r.errorCode), message: r.errorMessage },
    );
  for (const topic of changes.keys())
    if (!answers.has(topic))
      answers.set(topic, { error: 'NO_ANSWER', message: 'the broker did not answer for it' });
  return answers;
}

async function send(broker: BrokerInternals, version: number, body: Buffer) {
  const request = {
    apiKey: INCREMENTAL_ALTER_CONFIGS,
    apiVersion: version,
    apiName: 'IncrementalAlterConfigs',
    encode: async () => ({ buffer: body }),
  };
  const response = {
    decode: async (payload: Buffer) => decodeIncrementalAlterConfigs(payload, version),
    // Every topic's error is the caller's to read; kafkajs would throw the first one.
    parse: async <T>(decoded: T) => decoded,
  };
  try {
    return (await broker.connectionPool.send({ request, response })) as ReturnType<
      typeof decodeIncrementalAlterConfigs
    >;
  } catch (error) {
    // As Broker's sendRequest: a closed connection is dropped so that the next request reconnects.
    if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError') await broker.disconnect();
    throw error;
  }
}
