// A small OIDC provider for OAUTHBEARER tests, on node:crypto and node:http: one RS256 key, its
// JWKS at /jwks, and a client-credentials token endpoint at /token (RFC 6749 4.4) that accepts
// HTTP Basic or form-field client authentication. Token lifetime and audience are settable while
// it runs; it counts the tokens it issued.
import { generateKeyPairSync, createSign, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcProviderOptions {
  /** Accepted clients: id -> secret. */
  readonly clients: Readonly<Record<string, string>>;
  readonly lifetimeSeconds?: number;
  /** The `aud` claim of the tokens (unless the request names another). */
  readonly audience?: string;
}

export interface OidcProvider {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  /** Tokens issued so far. */
  issued(): number;
  /** Changes the lifetime or audience of the tokens issued from now on. */
  set(options: { lifetimeSeconds?: number; audience?: string }): void;
  /** A token signed by this provider (for tests that hand-craft one). */
  sign(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signer(privateKey: KeyObject, kid: string) {
  return (claims: Record<string, unknown>) => {
    const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
    const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
    return `${input}.${signature}`;
  };
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The client id and secret of a token request: Basic header (form-urlencoded inside) or form fields. */
function credentials(request: IncomingMessage, form: URLSearchParams): [string, string] | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ') === true) {
    const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return [decode(id), decode(secret)];
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id === null || secret === null ? undefined : [id, secret];
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(4).toString('hex');
  const sign = signer(privateKey, kid);
  let lifetime = options.lifetimeSeconds ?? 3600;
  let audience = options.audience ?? 'kafka';
  let issued = 0;
  let issuer = '';
  const server: Server = createServer((request, response) => {
    const reply = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    if (request.url === '/jwks') {
      return reply(200, {
        keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }],
      });
    }
    if (request.url !== '/token' || request.method !== 'POST') return reply(404, { error: 'not_found' });
    void body(request).then((text) => {
      const form = new URLSearchParams(text);
      if (form.get('grant_type') !== 'client_credentials')
        return reply(400, { error: 'unsupported_grant_type' });
      const client = credentials(request, form);
      if (client === undefined || options.clients[client[0]] !== client[1])
        return reply(401, { error: 'invalid_client' });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: issuer,
        sub: client[0],
        aud: form.get('audience') ?? audience,
        iat: now,
        exp: now + lifetime,
        scope: form.get('scope') ?? '',
        jti: randomBytes(8).toString('hex'),
      };
      issued += 1;
      return reply(200, { access_token: sign(claims), token_type: 'Bearer', expires_in: lifetime });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = base;
  return {
    issuer: base,
    tokenUrl: `${base}/token`,
    jwksUrl: `${base}/jwks`,
    issued: () => issued,
    set(change) {
      lifetime = change.lifetimeSeconds ?? lifetime;
      audience = change.audience ?? audience;
    },
    sign,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
