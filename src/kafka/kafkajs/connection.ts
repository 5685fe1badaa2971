// Replaces, in kafkajs/src/network/connection.js, Connection.prototype.processData (how a
// connection reads responses from its socket), and wraps Connection.prototype.connect and
// disconnect so that each socket gets a response reader of its own (protocol/response-reader.ts).
//
// Why: memory and robustness. kafkajs kept every socket chunk until a response was complete, then
// concatenated them (a second copy of every fetched byte, in a new buffer per response); this
// copies each chunk once into one buffer of the response's size and keeps none, so a socket may
// read into a buffer it reuses (socket-factory.ts). Bytes that cannot be a response close the
// socket (KM_RESPONSE_FRAMING) instead of throwing out of the socket's data handler, where
// nothing catches them. And kafkajs keeps a Connection as long as its Broker and connects it
// again after its socket dropped (ConnectionPool.getConnection), while what was read of a
// response cut part way belongs to the dropped socket only (test/integration/response-cut.test.ts).
import type { Socket } from 'node:net';
import { ResponseFramingError } from '../../errors/index.ts';
import { ResponseReader } from '../../protocol/response-reader.ts';
import { kafkajsModule } from './module-cache.ts';
import { setReadTarget } from './socket-factory.ts';

const READER = Symbol('response reader of the socket');
/** The connect under way: a second connect() while it runs waits for it instead of replacing its socket. */
const CONNECTING = Symbol('connect under way');

/** What the patch uses of a kafkajs Connection. */
interface ConnectionState {
  socket?: Socket;
  [READER]?: ResponseReader;
  [CONNECTING]?: Promise<boolean>;
  authHandlers?: { onSuccess(data: Buffer): void; onError(): void } | null;
  authExpectResponse?: boolean;
  requestQueue: { fulfillRequest(response: { size: number; correlationId: number; payload: Buffer }): void };
  isConnected(): boolean;
  broker: string;
  clientId: string;
  logger: { namespace(name: string): { error(message: string, extra: object): void } };
}
interface ConnectionClass {
  prototype: { connect(): Promise<boolean>; disconnect(): Promise<boolean> };
}

/** A method of Connection.prototype, replaced as kafkajs's class defines it (writable, configurable). */
function define(
  prototype: object,
  name: string,
  value: (this: ConnectionState, ...args: never[]) => unknown,
): void {
  Object.defineProperty(prototype, name, { value, writable: true, configurable: true });
}

export function installConnection(): void {
  const Connection = kafkajsModule<ConnectionClass>('network/connection.js');
  const { connect, disconnect } = Connection.prototype;

  // The socket a new one replaces is destroyed, so that nothing it still brings reaches the new
  // reader: kafkajs only half-closes it, and replaces it only once disconnected, every request on
  // it answered or failed.
  //
  // One connect at a time per Connection: kafkajs's ConnectionPool.getConnection connects its fetch
  // connection lazily, without a lock, so several first Fetch requests at once (exactly-once lanes
  // reading the positions topic as they are restored) each called connect(). The second replaced
  // the first's socket while it was still connecting: the first call then waited out the whole
  // connectionTimeout (10 s by default) and failed the request with "Connection timeout", and its
  // timeout handler disconnected the connection the second had made. As Kafka's NetworkClient,
  // which starts at most one connection per node (initiateConnect only for a node it is not
  // connecting to), later callers wait for the connect under way.
  define(Connection.prototype, 'connect', function (this: ConnectionState): Promise<boolean> {
    const underway = this[CONNECTING];
    if (underway !== undefined) return underway;
    const previous = this.socket;
    const connecting = connect.call(this); // kafkajs makes the socket at once, unless connected
    if (this.socket !== undefined && this.socket !== previous) {
      previous?.destroy();
      const reader = new ResponseReader((frame) => deliver(this, frame));
      this[READER] = reader;
      setReadTarget(this.socket, () => reader.readTarget());
    }
    this[CONNECTING] = connecting;
    const done = () => {
      if (this[CONNECTING] === connecting) this[CONNECTING] = undefined;
    };
    connecting.then(done, done);
    return connecting;
  });

  // Once kafkajs has disconnected, what the old socket still brings answers no request: not read.
  define(Connection.prototype, 'disconnect', async function (this: ConnectionState): Promise<boolean> {
    const reader = this[READER];
    const disconnected = await disconnect.call(this);
    if (this[READER] === reader && !this.isConnected()) this[READER] = undefined;
    return disconnected;
  });

  define(Connection.prototype, 'processData', processData);
}

/** kafkajs's Connection.processData, reading each response into one buffer of its size as its bytes arrive. */
function processData(this: ConnectionState, data: Buffer): void {
  // kafkajs's conditions (authHandlers is null, not undefined, outside authentication)
  if (this.authHandlers && !this.authExpectResponse) {
    this.authHandlers.onSuccess(Buffer.from(data));
    return;
  }
  const reader = this[READER];
  if (reader === undefined) return; // disconnected: every request of the socket has failed
  try {
    reader.feed(data);
  } catch (error) {
    if (!(error instanceof ResponseFramingError)) throw error;
    closeMisframed(this, error);
  }
}

/** A complete response, to the authentication under way or to its request, as kafkajs does. */
function deliver(connection: ConnectionState, frame: Buffer): void {
  if (connection.authHandlers) {
    // During authentication the handler takes the response whole, size included (as kafkajs).
    connection.authHandlers.onSuccess(frame);
    return;
  }
  const size = frame.length - 4;
  if (size < 4)
    throw new ResponseFramingError(`a size of ${size} bytes, too small for a correlation id`, size);
  connection.requestQueue.fulfillRequest({
    size,
    correlationId: frame.readInt32BE(4),
    payload: frame.subarray(8),
  });
}

/**
 * Nothing after bytes that are not a Kafka response can be read. As Kafka's Selector closes a
 * channel whose NetworkReceive threw InvalidReceiveException (clients/.../network/Selector.java):
 * the socket is destroyed with the error, kafkajs's error handler fails the connection's requests
 * with a retriable KafkaJSConnectionError that carries its code and disconnects, and the next
 * request connects a new socket. An authentication under way fails as when the broker closes
 * (kafkajs's error handler leaves it waiting).
 */
function closeMisframed(connection: ConnectionState, error: ResponseFramingError): void {
  connection[READER] = undefined;
  // Not in kafkajs's Connection namespace, whose errors are retried connection failures (debug).
  connection.logger.namespace('ResponseReader').error(`closing the connection: ${error.message}`, {
    broker: connection.broker,
    clientId: connection.clientId,
    err: error,
  });
  connection.authHandlers?.onError();
  connection.socket?.destroy(error);
}
