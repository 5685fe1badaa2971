import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Ports this process has handed out already; never handed out twice, so two clusters cannot collide. */
const handedOut = new Set<number>();

// Test files run in parallel processes (npm test runs two at a time), each choosing free ports
// for its brokers and proxies. A port one process probed and released can be handed to the other
// before the first one's broker binds it, so each chosen port is also claimed in a directory all
// test processes share: a file named after the port holding the claimer's pid, created
// exclusively. A claim whose process is gone (SIGKILLed) is taken over; a process removes its
// own claims when it exits.
const CLAIMS = path.join(os.tmpdir(), 'kafka-mirror-test-ports');
const claimed: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims `port` for this process; false when a live process claimed it first. */
export function claimPort(port: number): boolean {
  const file = path.join(CLAIMS, String(port));
  mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      if (claimed.length === 0) process.once('exit', releaseClaims);
      claimed.push(file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      // An empty file is a claim being written: taken.
      if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || alive(owner)) return false;
      try {
        unlinkSync(file); // the claimer is gone: take the port over
      } catch {
        // another process took it over first; the next attempt finds its claim
      }
    }
  }
  return false;
}

function releaseClaims(): void {
  for (const file of claimed.splice(0)) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

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
      if (!handedOut.has(address.port) && claimPort(address.port)) ports.push(address.port);
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
