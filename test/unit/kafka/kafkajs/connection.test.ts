// kafkajs's Connection with the patched response reader (src/kafka/kafkajs/index.ts), over real
// sockets to a local server that answers with scripted bytes. The server is not a Kafka broker:
// these tests are about framing, what a connection does with the bytes a socket brings, whatever
// they are. kafkajs reconnects the same Connection object after its socket drops (its
// ConnectionPool keeps two per broker; test/integration/response-cut.test.ts shows it with a real
// broker), so a response cut part way must not outlive its socket.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net, { type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { readIntoOneBuffer } from '../../../../src/kafka/kafkajs/index.ts';

const require = createRequire(import.meta.url);

interface KafkaJsConnection {
  connect(): Promise<boolean>;
  isConnected(): boolean;
  disconnect(): Promise<boolean>;
  send(protocol: object): Promise<Buffer>;
  sendAuthRequest(protocol: object): Promise<Buffer>;
}
const Connection = require('kafkajs/src/network/connection.js') as new (options: object) => KafkaJsConnection;
const { createLogger, LEVELS } = require('kafkajs/src/loggers/index.js') as {
  createLogger(options: object): object;
  LEVELS: Record<string, number>;
};
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => object;

/** What the server does with one request frame (size prefix included) on its `n`th connection (from 0). */
type Script = (socket: Socket, frame: Buffer, n: number) => void;

interface Server {
  readonly port: number;
  /** Resolves when the server's side of its `n`th connection (from 0) has closed. */
  closed(n: number): Promise<void>;
}

/**
 * A local TCP server that reads size-prefixed frames and answers each as the script says.
 * `halfOpen`: it keeps writing to a socket the client has ended; `accepted` sees every socket.
 */
async function scriptedServer(
  t: TestContext,
  script: Script,
  options: { halfOpen?: boolean; accepted?: (socket: Socket, n: number) => void } = {},
): Promise<Server> {
  const closes: Array<Promise<void>> = [];
  const sockets = new Set<Socket>();
  const server = net.createServer({ allowHalfOpen: options.halfOpen ?? false }, (socket) => {
    const n = closes.length;
    sockets.add(socket);
    options.accepted?.(socket, n);
    closes.push(new Promise((resolve) => socket.on('close', () => resolve())));
    socket.on('error', () => {}); // resets are part of the scripts
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readInt32BE(0));
        pending = pending.subarray(frame.length);
        if (!socket.destroyed) script(socket, frame, n);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as AddressInfo).port,
    closed: async (n) => {
      for (let i = 0; i < 1000 && closes[n] === undefined; i++) await new Promise((r) => setTimeout(r, 10));
      await closes[n];
    },
  };
}

/** The correlation id of a request frame: after its size, api key and api version. */
const correlationOf = (frame: Buffer) => frame.readInt32BE(8);

/** A response frame: size, correlation id, payload. */
function response(correlationId: number, payload: Buffer): Buffer {
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeInt32BE(4 + payload.length, 0);
  frame.writeInt32BE(correlationId, 4);
  payload.copy(frame, 8);
  return frame;
}

interface LogEntry {
  namespace: string;
  level: string;
  message: string;
  extra: Record<string, unknown>;
}

function connectionTo(t: TestContext, port: number): { connection: KafkaJsConnection; logs: LogEntry[] } {
  const logs: LogEntry[] = [];
  const logger = createLogger({
    level: LEVELS['DEBUG'],
    logCreator:
      () =>
      ({
        namespace,
        label,
        log,
      }: {
        namespace: string;
        label: string;
        log: { message: string } & Record<string, unknown>;
      }) => {
        const { message, ...extra } = log;
        logs.push({ namespace, level: label, message, extra });
      },
  });
  const connection = new Connection({
    host: '127.0.0.1',
    port,
    logger,
    socketFactory: readIntoOneBuffer,
    requestTimeout: 5000,
    connectionTimeout: 5000,
  });
  t.after(() => connection.disconnect());
  return { connection, logs };
}

/** A request kafkajs sends as it is (ApiVersions v0 has an empty body); the answer is the response payload. */
const request = {
  request: { apiKey: 18, apiVersion: 0, apiName: 'ApiVersions', encode: async () => new Encoder() },
  response: { decode: async (payload: Buffer) => payload, parse: async (payload: Buffer) => payload },
};

/** Until kafkajs has finished disconnecting after a socket dropped (it reconnects only then). */
async function disconnected(connection: KafkaJsConnection): Promise<void> {
  for (let i = 0; i < 500 && connection.isConnected(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(connection.isConnected(), false, 'kafkajs disconnected after the socket dropped');
}

const answered = (n: number) => Buffer.from(`answered on connection ${n}`);

test('responses several to a read, and one over many reads, reach their requests', async (t) => {
  const payloads = [Buffer.from('first'), Buffer.alloc(0), Buffer.alloc(200_000, 'x')];
  let requests: Buffer[] = [];
  const server = await scriptedServer(t, (socket, frame) => {
    requests.push(frame);
    if (requests.length < payloads.length) return;
    const answers = requests.map((r, i) => response(correlationOf(r), payloads[i] ?? Buffer.alloc(0)));
    requests = [];
    // The two small ones in one write; the large one in writes of 1000 bytes.
    socket.write(Buffer.concat(answers.slice(0, 2)));
    const large = answers[2] ?? Buffer.alloc(0);
    for (let at = 0; at < large.length; at += 1000) socket.write(large.subarray(at, at + 1000));
  });
  const { connection } = connectionTo(t, server.port);
  await connection.connect();
  for (let round = 0; round < 3; round++) {
    const answered = await Promise.all(payloads.map(() => connection.send(request)));
    assert.deepEqual(answered, payloads, `round ${round}`);
  }
});

/**
 * What is left of a response cut part way, each a way the next socket's bytes misframed: size
 * bytes only; a small response with 4 bytes to go (the next response's size completes it, its
 * correlation id is read as a size of 0 and the payload as a response too short for a
 * correlation id: ERR_BUFFER_OUT_OF_BOUNDS in the socket's data handler); a large response (the
 * next responses disappear into it).
 */
const cuts: ReadonlyArray<readonly [string, Buffer]> = [
  ['2 of the 4 size bytes of a response', Buffer.from([0, 0])],
  ['8 bytes of a 12-byte response', response(0, Buffer.alloc(4)).subarray(0, 8)],
  ['104 bytes of a 1 MiB response', response(0, Buffer.alloc(1 << 20)).subarray(0, 104)],
];

for (const [cut, partial] of cuts) {
  for (const how of ['closed', 'reset'] as const) {
    test(`a connection ${how} after ${cut} reconnects and reads the next socket's responses`, async (t) => {
      const server = await scriptedServer(t, (socket, frame, n) => {
        if (n > 0) {
          socket.write(response(correlationOf(frame), answered(n)));
        } else if (how === 'closed') {
          socket.end(partial);
        } else {
          socket.write(partial, () => setTimeout(() => socket.resetAndDestroy(), 50));
        }
      });
      const { connection } = connectionTo(t, server.port);
      await connection.connect();
      await assert.rejects(connection.send(request), /Closed connection|Connection error/);
      await disconnected(connection);
      // As kafkajs's ConnectionPool does before the next request: the same object, a new socket.
      await connection.connect();
      for (let i = 0; i < 3; i++) assert.deepEqual(await connection.send(request), answered(1));
    });
  }
}

test('bytes a replaced socket still brings are not read as responses of the new one', async (t) => {
  let first: Socket | undefined;
  // The start of a 16-byte response: read by the new socket's reader, it would swallow its answers.
  const stale = Buffer.from([0, 0, 0, 16, 0, 0]);
  const server = await scriptedServer(
    t,
    (socket, frame, n) => socket.write(response(correlationOf(frame), answered(n))),
    {
      halfOpen: true,
      accepted: (socket, n) => {
        if (n === 0) first = socket;
        else first?.write(stale);
      },
    },
  );
  const { connection } = connectionTo(t, server.port);
  await connection.connect();
  assert.deepEqual(await connection.send(request), answered(0));
  await connection.disconnect(); // kafkajs ends its socket; the server keeps its side open
  first?.write(stale);
  await connection.connect();
  for (let i = 0; i < 3; i++) assert.deepEqual(await connection.send(request), answered(1));
  await server.closed(0); // the client destroyed the socket it replaced
});

test('connect() called again while a connect is under way waits for it: one socket, no connection timeout', async (t) => {
  // kafkajs's ConnectionPool connects its fetch connection lazily, without a lock: several first
  // Fetch requests at once called connect() on the same Connection. The second replaced the
  // socket of the first, which then waited out connectionTimeout and failed with "Connection
  // timeout" (a 10 s stall of an exactly-once lane's restore in the benchmark).
  let accepted = 0;
  const server = await scriptedServer(
    t,
    (socket, frame, n) => socket.write(response(correlationOf(frame), answered(n))),
    { accepted: () => accepted++ },
  );
  const { connection } = connectionTo(t, server.port);
  const started = Date.now();
  const results = await Promise.allSettled([
    connection.connect(),
    connection.connect(),
    connection.connect(),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled'],
    JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
  );
  assert.ok(Date.now() - started < 2000, `connected in ${Date.now() - started} ms, not after the timeout`);
  assert.equal(accepted, 1, 'one socket');
  const answers = await Promise.all([connection.send(request), connection.send(request)]);
  assert.deepEqual(answers, [answered(0), answered(0)]);
  // Connected: a later connect() is kafkajs's own (no socket made); after a disconnect it connects anew.
  await connection.disconnect();
  await connection.connect();
  assert.deepEqual(await connection.send(request), answered(1));
});

/**
 * Bytes that cannot start a response: a negative size; a TLS alert (a TLS listener answering a
 * plaintext client: its record header read as a size of 336 MiB); sizes too small to hold a
 * correlation id.
 */
const badFrames: ReadonlyArray<readonly [string, Buffer]> = [
  ['a negative size', Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])],
  ['a TLS alert', Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])],
  ['a size of 0', Buffer.from([0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 1, 2, 3, 4])],
  ['a size of 3', Buffer.from([0, 0, 0, 3, 0, 0, 0])],
];

for (const [what, bytes] of badFrames) {
  test(`${what} closes the socket with a logged error; the request fails retriably and the connection reconnects`, async (t) => {
    const server = await scriptedServer(t, (socket, frame, n) =>
      socket.write(n === 0 ? bytes : response(correlationOf(frame), answered(n))),
    );
    const { connection, logs } = connectionTo(t, server.port);
    await connection.connect();
    const external = process.memoryUsage().arrayBuffers;
    const failed = await connection.send(request).then(
      () => assert.fail('answered'),
      (error: unknown) => error as { name: string; retriable: boolean; code?: string },
    );
    // The connection error kafkajs retries after reconnecting, not a request timeout.
    assert.equal(failed.name, 'KafkaJSConnectionError');
    assert.equal(failed.retriable, true);
    assert.equal(failed.code, 'KM_RESPONSE_FRAMING');
    assert.ok(
      process.memoryUsage().arrayBuffers - external < 16 << 20,
      'nothing of the size read was allocated',
    );
    await server.closed(0);
    const logged = logs.find(
      (l) =>
        l.level === 'ERROR' &&
        (l.extra['err'] as { code?: string } | undefined)?.code === 'KM_RESPONSE_FRAMING',
    );
    assert.ok(logged !== undefined, 'the framing error is logged');
    assert.match(logged.message, /closing the connection: not a Kafka response/);
    assert.equal(logged.extra['broker'], `127.0.0.1:${server.port}`);
    // kafkajs's Connection namespace logs connection failures it retries; the daemon shows those
    // at debug (src/kafka/client.ts). This one says more, and stays a warning.
    assert.notEqual(logged.namespace, 'Connection');
    if (what === 'a TLS alert') assert.match(logged.message, /TLS/);
    await disconnected(connection);
    await connection.connect();
    assert.deepEqual(await connection.send(request), answered(1));
  });
}

test('responses during authentication go to the handler whole, size included, as kafkajs passes them', async (t) => {
  const tokens = [Buffer.alloc(0), Buffer.from('server-first-message'), Buffer.alloc(70_000, 7)];
  const server = await scriptedServer(t, (socket, frame) => {
    const token = tokens[frame.readInt32BE(4)] ?? Buffer.alloc(0);
    const framed = Buffer.alloc(4 + token.length);
    framed.writeInt32BE(token.length, 0);
    token.copy(framed, 4);
    // In pieces of 3 bytes: the handler must still see one frame.
    for (let at = 0; at < framed.length; at += 3) socket.write(framed.subarray(at, at + 3));
  });
  const { connection } = connectionTo(t, server.port);
  await connection.connect();
  for (const [i, token] of tokens.entries()) {
    const authRequest = Buffer.alloc(8);
    authRequest.writeInt32BE(4, 0);
    authRequest.writeInt32BE(i, 4);
    const received = await connection.sendAuthRequest({
      request: { encode: async () => authRequest },
      response: { decode: async (raw: Buffer) => Buffer.from(raw), parse: async (raw: Buffer) => raw },
    });
    assert.equal(received.readInt32BE(0), token.length, `token ${i}: its size first`);
    assert.deepEqual(received.subarray(4), token, `token ${i}`);
  }
});
