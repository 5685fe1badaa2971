// Not a replacement inside kafkajs: a socket factory in place of kafkajs's default one
// (kafkajs/src/network/socketFactory.js), passed to every client (../client.ts). TLS sockets are
// still made by kafkajs's.
//
// Why: memory. A plaintext socket reads into one 64 KiB buffer of its own instead of a new buffer
// per read: the patched Connection copies what it needs of each read at once (connection.ts).
import net, { type Socket } from 'node:net';
import type * as KafkaJs from 'kafkajs';
import { kafkajsModule } from './module-cache.ts';

/** kafkajs's socket factory, with plaintext sockets reading into one 64 KiB buffer of their own. */
export const readIntoOneBuffer: KafkaJs.ISocketFactory = ({ host, port, ssl, onConnect }) => {
  if (ssl) {
    const defaultSocketFactory = kafkajsModule<() => KafkaJs.ISocketFactory>('network/socketFactory.js');
    return defaultSocketFactory()({ host, port, ssl, onConnect });
  }
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const socket: Socket = net.connect(
    {
      host,
      port,
      onread: {
        buffer,
        callback: (read: number, into: Uint8Array) => socket.emit('data', into.subarray(0, read)) || true,
      },
    },
    onConnect,
  );
  socket.setKeepAlive(true, 60_000); // as kafkajs
  return socket;
};
