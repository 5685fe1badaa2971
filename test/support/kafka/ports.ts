import net from 'node:net';

/** Ports this process has handed out already; never handed out twice, so two clusters cannot collide. */
const handedOut = new Set<number>();

function listenOnFreePort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `count` distinct TCP ports that were free on 127.0.0.1 a moment ago. All probe sockets stay
 * open until every port is chosen, because the kernel readily hands a just-released port out
 * again; a port taken by someone else before the broker binds it shows up as a broker that fails
 * to start, with its log.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = await listenOnFreePort();
      servers.push(server);
      const address = server.address();
      if (address === null || typeof address !== 'object')
        throw new Error('could not read the port of a probe socket');
      if (!handedOut.has(address.port)) ports.push(address.port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
  for (const port of ports) handedOut.add(port);
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** Whether something accepts TCP connections at `host:port` now (a broker, a proxy). */
export function accepts(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
