// Errors of SASL OAUTHBEARER (kafka/oauth.ts): getting a token from the OIDC token endpoint, and
// the broker's answer to it. None of them carries the client secret or the token: the endpoint's
// answer is named by its HTTP status and OAuth `error` code only (RFC 6749 5.2).
import { KafkaMirrorError } from './base.ts';

/** The token endpoint refused the request (HTTP 400/401/403: wrong client id or secret, scope, audience). */
export class OauthTokenRefusedError extends KafkaMirrorError {
  static readonly code = 'KM_OAUTH_TOKEN_REFUSED';
  readonly status: number;
  constructor(endpoint: string, status: number, oauthError: string | undefined) {
    const why = oauthError === undefined ? '' : ` (${oauthError})`;
    super(
      OauthTokenRefusedError.code,
      `the token endpoint ${endpoint} refused the client credentials: HTTP ${status}${why}; check sasl.oauthbearer.clientId, the client secret, scope and audience`,
    );
    this.status = status;
  }
}

/** The token endpoint could not be reached or answered with a server error or not in time. Retriable. */
export class OauthTokenUnavailableError extends KafkaMirrorError {
  static readonly code = 'KM_OAUTH_TOKEN_UNAVAILABLE';
  constructor(endpoint: string, why: string, cause?: unknown) {
    super(OauthTokenUnavailableError.code, `no token from ${endpoint}: ${why}`, { cause, retriable: true });
  }
}

/** The endpoint answered 200 with something that is not a usable token (no access_token, not a JWT, no exp). */
export class OauthTokenInvalidError extends KafkaMirrorError {
  static readonly code = 'KM_OAUTH_TOKEN_INVALID';
  constructor(endpoint: string, why: string) {
    super(OauthTokenInvalidError.code, `the token from ${endpoint} is not usable: ${why}`);
  }
}

/** A broker refused the token (SASL authentication failed: expired, wrong audience or issuer, unknown key). */
export class OauthRejectedError extends KafkaMirrorError {
  static readonly code = 'KM_OAUTH_REJECTED';
  constructor(broker: string, why: string, cause?: unknown) {
    super(
      OauthRejectedError.code,
      `the broker ${broker} refused the OAUTHBEARER token: ${why}; check sasl.oauthbearer.audience and scope against the brokers' sasl.oauthbearer.expected.audience and the token's lifetime`,
      { cause },
    );
  }
}
