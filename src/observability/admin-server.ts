// The admin HTTP server: /metrics (Prometheus), /healthz (the process answers), /readyz (every flow
// replicates: 503 while starting, draining, halted or when the target stalls) and /status (JSON for
// people and `kafka-mirror status`). It serves only what the daemon chose to expose: no config.
// Mutating requests go to /control/ (control-endpoint.ts), behind bearer tokens; the four above
// stay open and read-only. With `admin.tls` it speaks HTTPS only, and serves a renewed certificate
// to new connections without a restart.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { redactSecrets } from '../config/index.ts';
import { AdminListenError } from '../errors/index.ts';
import { ControlEndpoint } from './control-endpoint.ts';
import type { Logger } from './logger.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why each flow is not ready (empty when ready). */
  readonly flows: Record<string, readonly string[]>;
}

export interface AdminSources {
  /** The Prometheus exposition and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Readiness;
  status(): unknown;
}

/** How often the certificate and key files are checked for a change (stat only). */
export const TLS_CHECK_INTERVAL_MS = 10_000;

/** The admin server's certificate and key files (PEM). */
export interface AdminTls {
  readonly cert: string;
  readonly key: string;
  /** TLS_CHECK_INTERVAL_MS unless given (tests). */
  readonly checkIntervalMs?: number;
}

export class AdminServer {
  readonly #server: Server;
  readonly #tls: AdminTls | undefined;
  readonly #sources: AdminSources;
  readonly #logger: Logger;
  readonly #control: ControlEndpoint | undefined;
  #destroyed: Promise<void> | undefined;

  /** Without `control`, /control/ is not found; with `tls`, HTTPS only (the files are read now). */
  constructor(sources: AdminSources, logger: Logger, control?: ControlEndpoint, tls?: AdminTls) {
    this.#sources = sources;
    this.#logger = logger;
    this.#control = control;
    this.#tls = tls;
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#logger.error({ err: error, path: request.url }, 'admin request failed');
        if (!response.headersSent) send(response, 500, 'text/plain', 'internal error\n');
        else response.destroy();
      });
    };
    this.#server =
      tls === undefined
        ? createServer(handler)
        : (createHttpsServer(pemOf(tls), handler) as unknown as Server);
    // Probes and scrapes are short; a stuck client must not hold a socket (or the shutdown).
    this.#server.requestTimeout = 10_000;
    this.#server.keepAliveTimeout = 5000;
  }

  /** Binds; rejects with AdminListenError (address in use, no permission). Resolves the bound port. */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(new AdminListenError(host, port, error));
      this.#server.once('error', failed);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', failed);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const scheme = this.#tls === undefined ? 'http' : 'https';
    this.#logger.info({ host: address.address, port: address.port, scheme }, 'admin server listening');
    if (this.#tls !== undefined) this.#watchCertificate(this.#tls);
    return { host: address.address, port: address.port };
  }

  /**
   * Re-reads the certificate and key when either file changes (a renewal, a Kubernetes Secret
   * update): new connections get the new pair, open ones keep theirs. A pair that cannot be read
   * or does not match is logged and the previous one kept.
   */
  #watchCertificate(tls: AdminTls): void {
    const changed = (now: Stats, before: Stats) => {
      if (now.mtimeMs === before.mtimeMs && now.size === before.size) return;
      try {
        (this.#server as unknown as { setSecureContext(options: AdminTlsPem): void }).setSecureContext(
          pemOf(tls),
        );
        this.#logger.info({ cert: tls.cert }, 'admin TLS certificate reloaded');
      } catch (error) {
        this.#logger.warn(
          { err: error, cert: tls.cert, key: tls.key },
          'admin TLS certificate or key changed but cannot be used; serving the previous one',
        );
      }
    };
    for (const file of [tls.cert, tls.key])
      watchFile(file, { interval: tls.checkIntervalMs ?? TLS_CHECK_INTERVAL_MS, persistent: false }, changed);
  }

  /**
   * Stops accepting and closes every connection, requests in progress included: nothing is
   * drained, since a probe or scrape is not worth holding a shutdown for (the prober asks again).
   * Idempotent.
   */
  close(): Promise<void> {
    return this.destroy();
  }

  /** Stops accepting and closes every connection at once. Idempotent. */
  destroy(): Promise<void> {
    if (this.#tls !== undefined) for (const file of [this.#tls.cert, this.#tls.key]) unwatchFile(file);
    this.#destroyed ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#destroyed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    if (this.#control !== undefined && ControlEndpoint.owns(path))
      return this.#control.handle(request, response, path);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(response, 405, 'text/plain', 'method not allowed\n');
    }
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await this.#sources.metrics();
        return send(response, 200, contentType, body);
      }
      case '/healthz':
        return send(response, 200, 'text/plain', 'ok\n');
      case '/readyz': {
        const readiness = this.#sources.readiness();
        return send(response, readiness.ready ? 200 : 503, 'application/json', json(readiness));
      }
      case '/status':
        return send(response, 200, 'application/json', json(this.#sources.status()));
      default:
        return send(response, 404, 'text/plain', 'not found: try /metrics, /healthz, /readyz or /status\n');
    }
  }
}

interface AdminTlsPem {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function pemOf(tls: AdminTls): AdminTlsPem {
  return { cert: readFileSync(tls.cert), key: readFileSync(tls.key) };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  // Every answer is masked by value (config/secrets.ts): a secret in a status field or an error
  // message quoted there never leaves the process.
  response.end(response.req.method === 'HEAD' ? undefined : redactSecrets(body));
}
