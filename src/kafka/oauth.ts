// SASL OAUTHBEARER for kafkajs (issue 25): an OIDC client-credentials token provider (RFC 6749
// 4.4) with a cache refreshed before expiry, and the authenticator that kafkajs calls at every
// authentication and re-authentication (KIP-368) of a connection.
//
// The request follows Kafka's Java client (4.3), org.apache.kafka.common.security.oauthbearer
// .internals.secured.HttpJwtRetriever and ClientSecretRequestFormatter (HttpAccessTokenRetriever
// and ClientCredentialsRequestFormatter in Kafka 3.x): a POST of `grant_type=client_credentials` (and
// `scope`) as a form, `Accept: application/json`, `Cache-Control: no-cache`, the client
// authenticated with HTTP Basic. The id and secret are form-urlencoded inside the Basic header as
// RFC 6749 2.3.1 asks (Kafka's sasl.oauthbearer.header.urlencode=true; the same bytes for ids and
// secrets of letters, digits and `-._~`). `clientAuth: body` sends them as form fields instead
// (RFC 6749 2.3.1's alternative, for providers that want it). `audience` is sent when set (Auth0,
// and most providers that issue JWTs only for a named API).
//
// Refresh follows Kafka's ExpiringCredentialRefreshingLogin with its defaults
// (sasl.login.refresh.window.factor 0.8, sasl.login.refresh.window.jitter 0.05): a token is
// replaced once 80% to 85% of its lifetime has passed. Kafka refreshes in a thread of its own;
// here the refresh happens when kafkajs asks for a token (each new connection and each
// re-authentication), which is when a token is used. A failed refresh keeps the token held while it
// is still valid (Kafka's login thread does the same), so a short outage of the identity provider
// does not take connections down.
import type { Logger } from '../observability/logger.ts';
import type { OauthbearerConfig } from '../config/oauthbearer.ts';
import { readClientSecret } from '../config/oauthbearer.ts';
import {
  OauthRejectedError,
  OauthTokenInvalidError,
  OauthTokenRefusedError,
  OauthTokenUnavailableError,
} from '../errors/index.ts';

/** sasl.login.refresh.window.factor and .jitter, Kafka's defaults. */
export const REFRESH_WINDOW_FACTOR = 0.8;
export const REFRESH_WINDOW_JITTER = 0.05;

export interface OauthToken {
  readonly value: string;
  /** When the token was received, and its `exp` claim, in epoch milliseconds. */
  readonly receivedAtMs: number;
  readonly expiresAtMs: number;
  /** When it is to be replaced (80% to 85% of its lifetime). */
  readonly refreshAtMs: number;
}

export interface TokenProviderOptions {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly fetch?: typeof fetch;
  /** Told of every token received (tests and metrics). */
  readonly onToken?: (token: OauthToken) => void;
}

/** RFC 6749 2.3.1: application/x-www-form-urlencoded, where a space is `+`. */
function formEncode(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}

/** The JSON claims of a JWT's payload, or why there are none. */
export function jwtClaims(token: string): Record<string, unknown> | string {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || parts[1] === '')
    return 'not a JWT (three base64url parts)';
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
    if (claims === null || typeof claims !== 'object' || Array.isArray(claims))
      return 'its payload is not a JSON object';
    return claims as Record<string, unknown>;
  } catch {
    return 'its payload is not JSON';
  }
}

export class OauthTokenProvider {
  readonly #config: OauthbearerConfig;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
  readonly #onToken: ((token: OauthToken) => void) | undefined;
  #token: OauthToken | undefined;
  #pending: Promise<OauthToken> | undefined;

  constructor(config: OauthbearerConfig, options: TokenProviderOptions) {
    this.#config = config;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#fetch = options.fetch ?? fetch;
    this.#onToken = options.onToken;
  }

  /** A valid token: the one held until its refresh time, then a new one (requests shared). */
  async token(): Promise<OauthToken> {
    const held = this.#token;
    const now = this.#now();
    if (held !== undefined && now < held.refreshAtMs) return held;
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    try {
      return await this.#pending;
    } catch (error) {
      if (held !== undefined && this.#now() < held.expiresAtMs) {
        this.#logger.warn(
          { err: error, expiresInMs: held.expiresAtMs - this.#now() },
          'OAUTHBEARER token refresh failed; the token held is used until it expires',
        );
        return held;
      }
      throw error;
    }
  }

  async #request(): Promise<OauthToken> {
    const { tokenEndpointUrl: url } = this.#config;
    const response = await this.#post(url);
    const text = await response.text().catch(() => '');
    if (!response.ok) {
      if (response.status >= 500 || response.status === 429)
        throw new OauthTokenUnavailableError(url, `HTTP ${response.status}`);
      throw new OauthTokenRefusedError(url, response.status, oauthErrorOf(text));
    }
    const token = this.#parse(url, text);
    this.#token = token;
    this.#logger.debug(
      {
        lifetimeMs: token.expiresAtMs - token.receivedAtMs,
        refreshInMs: token.refreshAtMs - token.receivedAtMs,
      },
      'OAUTHBEARER token received',
    );
    this.#onToken?.(token);
    return token;
  }

  async #post(url: string): Promise<Response> {
    const { clientId, scope, audience, clientAuth, requestTimeoutMs } = this.#config;
    const secret = this.#secret();
    const form = [['grant_type', 'client_credentials']];
    if (scope !== '') form.push(['scope', scope]);
    if (audience !== '') form.push(['audience', audience]);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'Cache-Control': 'no-cache',
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    if (clientAuth === 'basic')
      headers['Authorization'] =
        `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64')}`;
    else form.push(['client_id', clientId], ['client_secret', secret]);
    try {
      return await this.#fetch(url, {
        method: 'POST',
        headers,
        body: form.map(([k, v]) => `${k}=${formEncode(v as string)}`).join('&'),
        signal: AbortSignal.timeout(requestTimeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const name = (error as Error).name;
      const why =
        name === 'TimeoutError'
          ? `no answer within ${requestTimeoutMs} ms`
          : 'the endpoint could not be reached';
      throw new OauthTokenUnavailableError(url, why, (error as { cause?: unknown }).cause ?? name);
    }
  }

  /** The client secret: from the environment (at load), or the file read now (a rotated secret is used at once). */
  #secret(): string {
    const { clientSecret, clientSecretFile } = this.#config;
    if (clientSecretFile === undefined) return clientSecret ?? '';
    try {
      return readClientSecret(clientSecretFile);
    } catch (error) {
      throw new OauthTokenUnavailableError(
        this.#config.tokenEndpointUrl,
        `cannot read the client secret file "${clientSecretFile}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  }

  #parse(url: string, text: string): OauthToken {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OauthTokenInvalidError(url, 'the answer is not JSON');
    }
    const value = (body as { access_token?: unknown } | null)?.access_token;
    if (typeof value !== 'string' || value === '') throw new OauthTokenInvalidError(url, 'no access_token');
    const claims = jwtClaims(value);
    if (typeof claims === 'string') throw new OauthTokenInvalidError(url, claims);
    if (typeof claims['exp'] !== 'number') throw new OauthTokenInvalidError(url, 'no numeric exp claim');
    const receivedAtMs = this.#now();
    const expiresAtMs = claims['exp'] * 1000;
    if (expiresAtMs <= receivedAtMs)
      throw new OauthTokenInvalidError(url, 'it has expired already (check the clocks)');
    const factor = REFRESH_WINDOW_FACTOR + REFRESH_WINDOW_JITTER * this.#random();
    const refreshAtMs = receivedAtMs + Math.floor((expiresAtMs - receivedAtMs) * factor);
    return { value, receivedAtMs, expiresAtMs, refreshAtMs };
  }
}

/** The OAuth `error` code of an error answer (RFC 6749 5.2), if it is one; never its description. */
function oauthErrorOf(text: string): string | undefined {
  try {
    const error = (JSON.parse(text) as { error?: unknown } | null)?.error;
    return typeof error === 'string' && /^[\x20-\x7E]{1,64}$/.test(error) ? error : undefined;
  } catch {
    return undefined;
  }
}

interface AuthenticatorArgs {
  host: string;
  port: number;
  saslAuthenticate: (args: {
    request: { encode(): Promise<Buffer> };
    response?: { decode(bytes: Buffer): Promise<Buffer>; parse(bytes: Buffer): Promise<Buffer> };
  }) => Promise<Buffer | undefined>;
}

const SOH = '\u0001';

/** SASL bytes as kafkajs's SaslAuthenticate request takes them: Kafka's BYTES (int32 length, then the bytes). */
function saslBytes(text: string): { encode(): Promise<Buffer> } {
  const body = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length);
  return { encode: async () => Buffer.concat([length, body]) };
}

/**
 * The client's initial response (RFC 7628 3.1, as Kafka's OAuthBearerClientInitialResponse):
 * `n,,` SOH `auth=Bearer <token>` SOH, then each extension `key=value` SOH, then SOH.
 */
export function initialResponse(token: string, extensions: Readonly<Record<string, string>>): string {
  const ext = Object.entries(extensions).map(([k, v]) => `${k}=${v}${SOH}`);
  return `n,,${SOH}auth=Bearer ${token}${SOH}${ext.join('')}${SOH}`;
}

/** The `status` of the broker's error challenge (RFC 7628 3.2.2: JSON), never more of it. */
function challengeStatus(challenge: Buffer): string {
  try {
    const status = (JSON.parse(challenge.toString('utf8')) as { status?: unknown } | null)?.status;
    return typeof status === 'string' && /^[\x20-\x7E]{1,64}$/.test(status) ? status : 'refused';
  } catch {
    return 'refused';
  }
}

/**
 * kafkajs's SASL options for OAUTHBEARER, with an authenticator of our own (kafkajs's public
 * `authenticationProvider`), which kafkajs calls at each authentication and re-authentication.
 * It follows Kafka's OAuthBearerSaslClient where kafkajs's own (broker/saslAuthenticator
 * /oauthBearer.js) does not: a broker that refuses the token does not fail the SaslAuthenticate
 * request but answers with an error challenge (RFC 7628 3.2.2, Kafka's OAuthBearerSaslServer);
 * the client must answer it with a single SOH, and only then does the broker fail the exchange.
 * kafkajs took the challenge for success and the next request met ILLEGAL_SASL_STATE.
 */
export function oauthbearerSaslOptions(config: OauthbearerConfig, provider: OauthTokenProvider): object {
  // kafkajs hands the challenge over as Kafka's BYTES (int32 length first; saslAuthenticate/v0/response.js).
  const raw = {
    decode: async (bytes: Buffer) => {
      const length = bytes.length >= 4 ? bytes.readInt32BE(0) : 0;
      return length > 0 ? bytes.subarray(4, 4 + length) : Buffer.alloc(0);
    },
    parse: async (bytes: Buffer) => bytes,
  };
  return {
    mechanism: 'oauthbearer',
    authenticationProvider: ({ host, port, saslAuthenticate }: AuthenticatorArgs) => ({
      authenticate: async () => {
        const { value } = await provider.token();
        const challenge = await saslAuthenticate({
          request: saslBytes(initialResponse(value, config.extensions)),
          response: raw,
        });
        if (challenge === undefined || challenge.length === 0) return;
        const status = challengeStatus(challenge);
        const ended = await saslAuthenticate({ request: saslBytes(SOH) }).then(
          () => undefined,
          (error: unknown) => error,
        );
        throw new OauthRejectedError(`${host}:${port}`, `status ${status}`, ended);
      },
    }),
  };
}
