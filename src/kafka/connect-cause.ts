// Why a cluster could not be reached, in the operator's words, from the error kafkajs gives: the
// socket's error code (kept by kafkajs's KafkaJSConnectionError under its retry wrappers), the
// SASL error class, or a protocol error type. Never the message of a whole chain: one short line,
// and nothing that could hold a secret (SASL errors name the mechanism, never the password).
import { ClusterNoAnswerError } from '../errors/index.ts';

export type ConnectKind =
  | 'connection refused'
  | 'DNS'
  | 'TLS'
  | 'authentication'
  | 'timeout'
  | 'connection closed'
  | 'network'
  | 'other';

export interface ConnectCause {
  readonly kind: ConnectKind;
  /** The socket's or Kafka's error code, when there is one (`ECONNREFUSED`, `SASL_AUTHENTICATION_FAILED`). */
  readonly code: string | undefined;
  /** One line: the kind, the code and where (`connection refused (ECONNREFUSED at kafka-1:9092)`). */
  readonly text: string;
}

interface Link {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  message?: unknown;
  broker?: unknown;
  cause?: unknown;
}

/** The error and its causes, outermost first. */
function chain(error: unknown): Link[] {
  const links: Link[] = [];
  let current = error;
  for (let depth = 0; depth < 10 && current !== null && typeof current === 'object'; depth++) {
    links.push(current as Link);
    const next = (current as Link).cause;
    if (next === current) break;
    current = next;
  }
  return links;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const NETWORK_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL']);
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const SASL_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);

/** OpenSSL's and Node's TLS error codes: handshake (ERR_SSL_*), verification (*CERT*, ...). */
function isTlsCode(code: string): boolean {
  return (
    /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_)/.test(code) ||
    /CERT|SIGNATURE|^EPROTO$|^HOSTNAME_MISMATCH$|^INVALID_CA$|^PATH_LENGTH_EXCEEDED$|^INVALID_PURPOSE$/.test(
      code,
    )
  );
}

/** The first line of a message, without kafkajs's "Connection error: " and cut to a sane length. */
function short(message: unknown): string {
  const [first = ''] = String(message ?? '').split('\n');
  const text = first.replace(/^Connection error: /, '');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

export function connectCause(error: unknown): ConnectCause {
  const links = chain(error);
  const broker = links.map((l) => l.broker).find((b) => typeof b === 'string') as string | undefined;
  const at = broker === undefined ? '' : ` at ${broker}`;
  // OAUTHBEARER (oauth.ts): the token endpoint's answer or the broker's refusal, with its KM_ code.
  const oauth = links.find((l) => typeof l.code === 'string' && l.code.startsWith('KM_OAUTH_'));
  if (oauth !== undefined)
    return {
      kind: 'authentication',
      code: oauth.code as string,
      text: `${String(oauth.code)}: ${short(oauth.message)}`,
    };
  const sasl = links.find(
    (l) =>
      l.name === 'KafkaJSSASLAuthenticationError' || (typeof l.type === 'string' && SASL_TYPES.has(l.type)),
  );
  if (sasl !== undefined) {
    const code = typeof sasl.type === 'string' ? sasl.type : undefined;
    return { kind: 'authentication', code, text: `authentication failed (${short(sasl.message)}${at})` };
  }
  // A probe that had no answer in time (cluster-probe.ts): as a socket's timeout, ETIMEDOUT.
  const unanswered = links.find((l) => l instanceof ClusterNoAnswerError);
  if (unanswered !== undefined)
    return {
      kind: 'timeout',
      code: 'ETIMEDOUT',
      text: `no answer in time (ETIMEDOUT: ${short(unanswered.message)})`,
    };
  const coded = links.find((l) => typeof l.code === 'string' && l.code !== '');
  const code = coded?.code as string | undefined;
  const innermost = links.at(-1);
  if (code !== undefined) {
    if (code === 'ECONNREFUSED')
      return { kind: 'connection refused', code, text: `connection refused (${code}${at})` };
    if (DNS_CODES.has(code))
      return { kind: 'DNS', code, text: `DNS lookup failed (${code}${at}: no such host, or no DNS answer)` };
    if (isTlsCode(code))
      return { kind: 'TLS', code, text: `TLS failed (${code}: ${short(coded?.message)}${at})` };
    if (NETWORK_CODES.has(code)) return { kind: 'network', code, text: `network unreachable (${code}${at})` };
    if (CLOSED_CODES.has(code)) return { kind: 'connection closed', code, text: closedText(code, at) };
    if (code === 'ETIMEDOUT')
      return { kind: 'timeout', code, text: `no answer in time (${code}${at}: ${short(coded?.message)})` };
  }
  if (links.some((l) => l.name === 'KafkaJSConnectionClosedError'))
    return { kind: 'connection closed', code, text: closedText('closed', at) };
  // The one cause told by its text: kafkajs 2.2.4 gives its connection timeout no code or type,
  // only the message 'Connection timeout' (src/network/connection.js, whose bytes
  // test/unit/kafka/kafkajs/internals.test.ts pins, so a kafkajs that words it otherwise fails there).
  if (links.some((l) => l.name === 'KafkaJSConnectionError' && /timeout/i.test(String(l.message))))
    return {
      kind: 'timeout',
      code,
      text: `connection timed out (no TCP connection within connectionTimeoutMs${at})`,
    };
  if (links.some((l) => l.name === 'KafkaJSRequestTimeoutError'))
    return { kind: 'timeout', code, text: `no answer (request timed out${at})` };
  const name = typeof innermost?.name === 'string' ? innermost.name : 'Error';
  const type = typeof innermost?.type === 'string' ? ` ${innermost.type}` : '';
  return {
    kind: 'other',
    code: code ?? (type === '' ? undefined : type.trim()),
    text: `${name}${type}: ${short(innermost?.message)}`,
  };
}

/** A broker that drops the connection right away usually speaks TLS or SASL where we did not. */
function closedText(code: string, at: string): string {
  return `the broker closed the connection (${code}${at}): does its listener expect TLS or SASL (clusters.<alias>.tls, sasl)?`;
}

/** Whether the error says the cluster cannot be reached or refuses us, rather than something about a flow. */
export function isConnectFailure(error: unknown): boolean {
  return connectCause(error).kind !== 'other';
}
