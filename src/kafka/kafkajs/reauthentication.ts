// Replaces, in kafkajs/src/network/connection.js, Connection.prototype.isAuthenticated: when a
// connection re-authenticates (KIP-368) before the session lifetime the broker gave it ends
// (SaslAuthenticate's session_lifetime_ms: connections.max.reauth.ms, or less when the
// credential, such as an OAUTHBEARER token, expires sooner).
//
// Why: kafkajs re-authenticates once fewer than `reauthenticationThreshold` ms (10 s) of the
// session are left. A session of 10 s or less (short tokens, a small connections.max.reauth.ms)
// is then due at once, and every request re-authenticates first. Against Kafka 4.3.1 with
// connections.max.reauth.ms=10000 the daemon then never got past ILLEGAL_SASL_STATE and the
// cluster could not be used; with this patch the same run copies every record and the broker logs
// a dozen re-authentications (test/integration/oauthbearer.test.ts). Kafka's Java client instead
// re-authenticates at 85% of the session lifetime plus up to 10% of jitter, so that many
// connections do not re-authenticate at once (org.apache.kafka.common.security.authenticator
// .SaslClientAuthenticator, its re-authentication time). kafkajs still does the re-authentication
// itself: Connection.send re-authenticates first when isAuthenticated() says no, and so does
// Broker.connect through ConnectionPool.isAuthenticated.
import { kafkajsModule } from './module-cache.ts';

/** SaslClientAuthenticator's pctWindowFactorToTakeNetworkLatencyAndClockDriftIntoAccount and its jitter. */
export const REAUTH_WINDOW_FACTOR = 0.85;
export const REAUTH_WINDOW_JITTER = 0.1;

const FACTOR = Symbol('re-authentication factor of the session');
const SESSION = Symbol('authentication the factor belongs to');

interface ConnectionState {
  authenticatedAt: [number, number] | null;
  sessionLifetime: { toNumber(): number };
  [FACTOR]?: number;
  [SESSION]?: [number, number];
}

/** Whether the connection's session is still good to use: authenticated, and not yet due for re-authentication. */
export function isAuthenticated(this: ConnectionState, random: () => number = Math.random): boolean {
  const at = this.authenticatedAt;
  if (at === null || at === undefined) return false;
  const lifetimeMs = this.sessionLifetime.toNumber();
  if (lifetimeMs <= 0) return true; // the broker set no session lifetime
  if (this[SESSION] !== at || this[FACTOR] === undefined) {
    this[SESSION] = at;
    this[FACTOR] = REAUTH_WINDOW_FACTOR + REAUTH_WINDOW_JITTER * random();
  }
  const [seconds, nanos] = process.hrtime(at);
  return seconds * 1000 + nanos / 1e6 < lifetimeMs * this[FACTOR];
}

export function installReauthentication(): void {
  const Connection = kafkajsModule<{ prototype: object }>('network/connection.js');
  Object.defineProperty(Connection.prototype, 'isAuthenticated', {
    value: function (this: ConnectionState) {
      return isAuthenticated.call(this);
    },
    writable: true,
    configurable: true,
  });
}
