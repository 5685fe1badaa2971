import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaConfig } from 'kafkajs';
import { kafkajs } from '../../../src/kafka/kafkajs/index.ts';

const { Kafka, logLevel } = kafkajs;

/**
 * Second half of readiness: a Metadata request through the client listener that sees every
 * expected broker. A started line only says the process is up; this says clients can use it
 * (on a secure cluster: with TLS and a SASL login, passed in `connection`).
 */
export async function waitForBrokers(
  bootstrapServers: readonly string[],
  expected: readonly number[],
  deadline: number,
  connection: Pick<KafkaConfig, 'ssl' | 'sasl'> = {},
): Promise<void> {
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const admin = new Kafka({
      clientId: 'kafka-mirror-launcher',
      brokers: [...bootstrapServers],
      ...connection,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const { brokers } = await admin.describeCluster();
      const seen = brokers.map((b) => b.nodeId).sort();
      if (expected.every((id) => seen.includes(id))) return;
      last = `metadata lists brokers [${seen.join(', ')}], expected [${expected.join(', ')}]`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`cluster at ${bootstrapServers.join(',')} not ready: ${last}`);
}
