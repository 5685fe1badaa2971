// How the commands that talk to a running daemon (status, the control verbs) reach its admin
// server: the address from --admin/--url or from the config's admin.host and admin.port, over
// HTTPS when the config sets admin.tls, trusting admin.tls.ca (else the system CAs and the
// server's own certificate, for a self-signed one). node:http(s) rather than fetch, which cannot
// be given a CA.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/index.ts';

/** A daemon's admin server: its base URL and, for HTTPS, the CA certificates to trust. */
export interface AdminTarget {
  readonly base: string;
  readonly ca?: readonly string[];
}

export interface AdminAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly text: string;
}

/** The admin server a config describes (a bind-all host is reached on loopback). */
export function adminTargetOf(admin: Config['admin']): AdminTarget {
  const host = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${admin.port}`;
  if (admin.tls === undefined) return { base: `http://${authority}` };
  const ca =
    admin.tls.ca === undefined
      ? [...rootCertificates, readFileSync(admin.tls.cert, 'utf8')]
      : [readFileSync(admin.tls.ca, 'utf8')];
  return { base: `https://${authority}`, ca };
}

/**
 * One request to the admin server; rejects with the system's reason (ECONNREFUSED, a certificate
 * the CA does not vouch for, a timeout) when there is no answer.
 */
export function adminRequest(
  target: AdminTarget,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs: number },
): Promise<AdminAnswer> {
  const url = new URL(path, target.base);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        timeout: options.timeoutMs,
        ...(target.ca === undefined ? {} : { ca: [...target.ca] }),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
