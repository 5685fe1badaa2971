// Not a replacement inside kafkajs: a socket factory in place of kafkajs's default one
// (kafkajs/src/network/socketFactory.js), passed to every client (../client.ts). TLS sockets are
// still made by kafkajs's.
//
// Why: memory and speed. A plaintext socket reads into one 64 KiB buffer of its own instead of a
// new buffer per read: the patched Connection copies what it needs of each read at once
// (connection.ts). While a large response is under way the socket reads straight into the rest of
// it instead (the connection's response reader says where: ResponseReader.readTarget), so the bytes
// of a fetch are copied once, by the kernel, not twice (issue 24: the copy out of the socket's
// buffer was 11% of the daemon's CPU profile in large-64k; in backlog-1k no change was measurable).
import net, { type Socket } from 'node:net';
import type * as KafkaJs from 'kafkajs';
import { kafkajsModule } from './module-cache.ts';

/** Where a socket may read next instead of its own buffer, when it says so (connection.ts registers it). */
const readTargets = new WeakMap<Socket, () => Buffer | undefined>();

/** Lets `target` say where `socket` reads next (its own buffer when it says undefined). */
export const setReadTarget = (socket: Socket, target: () => Buffer | undefined): void => {
  readTargets.set(socket, target);
};

/**
 * kafkajs's socket factory, with plaintext sockets reading into one 64 KiB buffer of their own or
 * where their read target says.
 */
export const readIntoOneBuffer: KafkaJs.ISocketFactory = ({ host, port, ssl, onConnect }) => {
  if (ssl) {
    const defaultSocketFactory = kafkajsModule<() => KafkaJs.ISocketFactory>('network/socketFactory.js');
    return defaultSocketFactory()({ host, port, ssl, onConnect });
  }
  const buffer = Buffer.allocUnsafe(64 * 1024);
  // Node asks for the buffer of each read after the previous read's callback (and once before
  // the socket exists, hence the undefined).
  let socket: Socket | undefined = undefined;
  socket = net.connect(
    {
      host,
      port,
      onread: {
        buffer: () => (socket === undefined ? undefined : readTargets.get(socket)?.()) ?? buffer,
        callback: (read: number, into: Uint8Array) => socket?.emit('data', into.subarray(0, read)) || true,
      },
    },
    onConnect,
  );
  socket.setKeepAlive(true, 60_000); // as kafkajs
  return socket;
};
