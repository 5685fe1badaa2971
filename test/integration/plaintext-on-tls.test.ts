// A client configured without TLS that reaches a TLS listener (issue 19, defect 4). The broker
// answers the plaintext request with a TLS alert, whose record header (0x15 0x03 0x03 ...) reads
// as a response size of 336 MiB: kafkajs's reader allocated that much and waited for it until the
// request timed out. The response reader refuses the size, names TLS, and closes the connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkajs } from '../../src/kafka/kafkajs/index.ts';
import { useCluster } from '../support/kafka/index.ts';

test(
  'a plaintext client on a TLS listener fails at once with KM_RESPONSE_FRAMING naming TLS, allocating nothing',
  { timeout: 300_000 },
  async (t) => {
    const cluster = await useCluster(t, { name: 'tls', security: { scramUsers: { mirror: 'pw' } } });
    const logs: Array<{ namespace: string; message: string; code: string | undefined }> = [];
    const kafka = new kafkajs.Kafka({
      clientId: 'plaintext-on-tls',
      brokers: [...cluster.bootstrapServers],
      connectionTimeout: 5000,
      requestTimeout: 30_000,
      retry: { retries: 0 },
      logLevel: kafkajs.logLevel.ERROR,
      logCreator:
        () =>
        ({ namespace, log }) => {
          const { message, err } = log as { message: string; err?: { code?: string } };
          logs.push({ namespace, message, code: err?.code });
        },
    });
    const admin = kafka.admin();
    const external = process.memoryUsage().arrayBuffers;
    const failed = await admin.connect().then(
      () => assert.fail('connected in plaintext to a TLS listener'),
      (error: unknown) => error as Error,
    );
    t.after(() => admin.disconnect());
    assert.ok(
      process.memoryUsage().arrayBuffers - external < 16 << 20,
      'nothing of the 336 MiB the alert reads as was allocated',
    );
    assert.match(failed.message, /not a Kafka response: .*TLS record/);
    const logged = logs.find((l) => l.code === 'KM_RESPONSE_FRAMING');
    assert.ok(logged !== undefined, `the framing error is logged with its code: ${JSON.stringify(logs)}`);
    assert.match(logged.message, /closing the connection: .*\(tls\.enabled\)/);
  },
);
