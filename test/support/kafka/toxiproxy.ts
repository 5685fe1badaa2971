import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { singleFlight, withFileLock } from './fetch-lock.ts';
import { requireCommand } from './jars.ts';
import { cacheDir } from './paths.ts';
import { freePort } from './ports.ts';
import { terminate, track } from './processes.ts';
import type { ClusterNetwork } from './types.ts';

const run = promisify(execFile);
export const TOXIPROXY_VERSION = 'v2.12.0';
const binDir = path.join(cacheDir, 'bin');
const serverBinary = path.join(binDir, 'toxiproxy-server');

/**
 * Builds toxiproxy-server with `go install` into `.cache/bin`, once. Safe to call from several
 * launchers at once, in one process or several (fetch-lock.ts): each build goes to a private
 * folder and the binary is renamed into place whole, so its presence means it is complete.
 */
export async function ensureToxiproxy(): Promise<string> {
  if (existsSync(serverBinary)) return serverBinary;
  await singleFlight('toxiproxy', buildToxiproxy);
  return serverBinary;
}

async function buildToxiproxy(): Promise<void> {
  await requireCommand('go', ['version'], 'Go is needed to build toxiproxy-server (`go install`)');
  await mkdir(binDir, { recursive: true });
  await withFileLock(path.join(binDir, 'toxiproxy.lock'), 'building toxiproxy-server', async () => {
    if (existsSync(serverBinary)) return;
    for (const entry of await readdir(binDir)) {
      if (entry.startsWith('toxiproxy.tmp-'))
        await rm(path.join(binDir, entry), { recursive: true, force: true });
    }
    const staging = await mkdtemp(path.join(binDir, `toxiproxy.tmp-${process.pid}-`));
    try {
      process.stderr.write(
        `launcher: building toxiproxy-server ${TOXIPROXY_VERSION} into ${binDir} (once)\n`,
      );
      await run('go', ['install', `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`], {
        env: { ...process.env, GOBIN: staging },
        maxBuffer: 16 * 1024 * 1024,
      });
      // `go install` names the binary after its directory (cmd/server).
      await rename(path.join(staging, 'server'), serverBinary);
    } catch (error) {
      throw new Error(`go install of toxiproxy ${TOXIPROXY_VERSION} failed: ${String(error)}`, {
        cause: error,
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}

/** A toxic as Toxiproxy's HTTP API takes it. `stream` defaults to downstream (server to client). */
export interface Toxic {
  name?: string;
  type: 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';
  stream?: 'upstream' | 'downstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface ProxyInfo {
  name: string;
  listen: string;
  upstream: string;
}

/** One toxiproxy-server on 127.0.0.1 with a tiny client over fetch (the API is a handful of routes). */
export class ToxiproxyServer {
  readonly url: string;
  readonly #child: ChildProcess | undefined;

  private constructor(url: string, child: ChildProcess | undefined) {
    this.url = url;
    this.#child = child;
  }

  static async start(logFile: string): Promise<ToxiproxyServer> {
    const binary = await ensureToxiproxy();
    const port = await freePort();
    const out = openSync(logFile, 'a');
    const child = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    closeSync(out);
    track(child);
    const server = new ToxiproxyServer(`http://127.0.0.1:${port}`, child);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      try {
        await server.#request('GET', '/version');
        return server;
      } catch {
        await sleep(50);
      }
    }
    await terminate(child, 1000);
    throw new Error(`toxiproxy-server did not answer on ${server.url} within 10 s; see ${logFile}`);
  }

  /** A client for a server someone else runs (a container); `stop()` leaves it running. */
  static connect(url: string): ToxiproxyServer {
    return new ToxiproxyServer(url, undefined);
  }

  async createProxy(name: string, listen: string, upstream: string): Promise<ProxyInfo> {
    return (await this.#request('POST', '/proxies', {
      name,
      listen,
      upstream,
      enabled: true,
    })) as ProxyInfo;
  }

  async addToxic(proxy: string, toxic: Toxic): Promise<string> {
    const created = (await this.#request('POST', `/proxies/${proxy}/toxics`, toxic)) as { name: string };
    return created.name;
  }

  async removeToxic(proxy: string, toxic: string): Promise<void> {
    await this.#request('DELETE', `/proxies/${proxy}/toxics/${encodeURIComponent(toxic)}`);
  }

  /** Takes a proxy down (connections refused) or back up. */
  async setEnabled(proxy: string, enabled: boolean): Promise<void> {
    await this.#request('POST', `/proxies/${proxy}`, { enabled });
  }

  /** Re-enables every proxy and removes every toxic. */
  async reset(): Promise<void> {
    await this.#request('POST', '/reset');
  }

  async stop(): Promise<void> {
    if (this.#child !== undefined) await terminate(this.#child, 2000);
  }

  async #request(method: string, route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.url + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${route}: HTTP ${response.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }
}

/** The `network` of a cluster whose node `N` is fronted by the proxy named `<name>-N`. */
export function clusterNetwork(proxy: ToxiproxyServer, name: string, all: readonly number[]): ClusterNetwork {
  const proxies = (ids: readonly number[] = all) => ids.map((id) => `${name}-${id}`);
  let seq = 0;
  return {
    async addToxic(toxic: Toxic, ids?: readonly number[]) {
      const toxicName = toxic.name ?? `${toxic.type}-${++seq}`;
      await Promise.all(proxies(ids).map((p) => proxy.addToxic(p, { ...toxic, name: toxicName })));
      return toxicName;
    },
    async removeToxic(toxicName: string, ids?: readonly number[]) {
      await Promise.all(proxies(ids).map((p) => proxy.removeToxic(p, toxicName)));
    },
    async setEnabled(enabled: boolean, ids?: readonly number[]) {
      await Promise.all(proxies(ids).map((p) => proxy.setEnabled(p, enabled)));
    },
    reset: () => proxy.reset(),
  };
}
