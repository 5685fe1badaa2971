// Why a cluster cannot be reached, classified from the errors kafkajs really gives (a probe through
// the real client against local sockets that refuse, close, stall or speak something else), so the
// daemon can say it in one line (issue 20). Authentication against a real broker:
// test/integration/security.test.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ClusterConfig } from '../../../src/config/index.ts';
import { ClusterNoAnswerError } from '../../../src/errors/index.ts';
import { probeCluster } from '../../../src/kafka/cluster-probe.ts';
import { connectCause, isConnectFailure } from '../../../src/kafka/connect-cause.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const require = createRequire(import.meta.url);
const errors = require('kafkajs/src/errors.js') as Record<string, new (...args: never[]) => Error>;
const logger = createLogger({ level: 'silent' });

function cluster(server: string, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    alias: 'us',
    bootstrapServers: [server],
    clientId: 'kafka-mirror',
    connectionTimeoutMs: 2000,
    tls: { enabled: false },
    sasl: undefined,
    ...extra,
  };
}

/** A local TCP server doing `onConnection` with each socket; its host:port. */
async function server(t: TestContext, onConnection: (socket: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    s.close();
  });
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function failure(config: ClusterConfig): Promise<unknown> {
  try {
    await probeCluster(config, logger, { requestTimeoutMs: 5000 });
  } catch (error) {
    return error;
  }
  assert.fail('the probe answered');
}

test('a port where nothing listens: connection refused, with the broker', async (t) => {
  const address = await server(t, () => {});
  const port = address.split(':')[1];
  const closed = `127.0.0.1:${port}`;
  // Close the server first: the port is now free.
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const free = `127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const cause = connectCause(await failure(cluster(free)));
  assert.equal(cause.kind, 'connection refused');
  assert.equal(cause.code, 'ECONNREFUSED');
  assert.equal(cause.text, `connection refused (ECONNREFUSED at ${free})`);
  assert.ok(closed !== free);
});

test('every bootstrap broker is tried before the probe gives up', async (t) => {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const free = `127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  let reached = 0;
  const stalls = await server(t, () => reached++);
  await failure(cluster(free, { bootstrapServers: [free, stalls], connectionTimeoutMs: 300 }));
  assert.ok(reached >= 1, 'the second bootstrap broker was tried');
});

test('a host name that does not resolve: DNS', async () => {
  const cause = connectCause(await failure(cluster('kafka-mirror-no-such-host.invalid:9092')));
  assert.equal(cause.kind, 'DNS');
  assert.match(cause.code ?? '', /^(ENOTFOUND|EAI_AGAIN)$/);
  assert.match(
    cause.text,
    /^DNS lookup failed \((ENOTFOUND|EAI_AGAIN) at kafka-mirror-no-such-host\.invalid:9092/,
  );
});

test('TLS to a listener that does not speak TLS: TLS, with the OpenSSL code', async (t) => {
  const plain = await server(t, (socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const cause = connectCause(await failure(cluster(plain, { tls: { enabled: true } })));
  assert.equal(cause.kind, 'TLS', cause.text);
  assert.match(cause.code ?? '', /^ERR_SSL_/);
  assert.match(cause.text, /^TLS failed \(ERR_SSL_\w+: .* at 127\.0\.0\.1:\d+\)$/);
});

test('a broker that drops the connection: closed, with the hint that TLS or SASL may be expected', async (t) => {
  const dropping = await server(t, (socket) => socket.once('data', () => socket.destroy()));
  const cause = connectCause(await failure(cluster(dropping)));
  assert.equal(cause.kind, 'connection closed', cause.text);
  assert.match(cause.text, /the broker closed the connection .*TLS or SASL/);
});

test('a broker that accepts and never answers: a timeout', async (t) => {
  const silent = await server(t, () => {});
  const cause = connectCause(await failure(cluster(silent, { connectionTimeoutMs: 200 })));
  assert.equal(cause.kind, 'timeout', cause.text);
});

test('a SASL authentication error under kafkajs retry wrappers: authentication, without the chain', () => {
  const sasl = new errors['KafkaJSSASLAuthenticationError']!(
    'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' as never,
  );
  const wrapped = new errors['KafkaJSNonRetriableError']!(sasl as never, { cause: sasl } as never);
  const cause = connectCause(wrapped);
  assert.equal(cause.kind, 'authentication');
  assert.match(cause.text, /^authentication failed \(SASL SCRAM SHA512 authentication failed: /);
  assert.equal(isConnectFailure(wrapped), true);
});

test('an error that is not about reaching the cluster is "other"', () => {
  const denied = new errors['KafkaJSProtocolError']!({
    message: 'Not authorized to access topics',
    type: 'TOPIC_AUTHORIZATION_FAILED',
    code: 29,
    retriable: false,
  } as never);
  const cause = connectCause(denied);
  assert.equal(cause.kind, 'other');
  assert.equal(
    cause.text,
    'KafkaJSProtocolError TOPIC_AUTHORIZATION_FAILED: Not authorized to access topics',
  );
  assert.equal(isConnectFailure(denied), false);
});

test("a probe's own deadline (KM_CLUSTER_NO_ANSWER) is a timeout, with the socket's code for it", () => {
  const cause = connectCause(new ClusterNoAnswerError(6000));
  assert.deepEqual(cause, {
    kind: 'timeout',
    code: 'ETIMEDOUT',
    text: 'no answer in time (ETIMEDOUT: no answer within 6000 ms)',
  });
  assert.equal(isConnectFailure(new ClusterNoAnswerError(6000)), true);
});
