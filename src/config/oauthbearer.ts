// SASL OAUTHBEARER of a cluster (issue 25): the schema of `sasl.oauthbearer` and its validation.
// The token itself is fetched by kafka/oauth.ts (OIDC client credentials, RFC 6749 4.4); here only
// what the operator wrote is checked, once, at load. The client secret is registered for
// redaction by value (secrets.ts) as soon as it is read.
import { readFileSync } from 'node:fs';
/** A validated value by its key path (validated.ts's Getter; not imported: validated.ts imports the schema). */
type Getter = (key: string) => unknown;
import { registerSecret } from './secrets.ts';

export const oauthbearerSchema = {
  tokenEndpointUrl: {
    doc: 'OAUTHBEARER: the OIDC token endpoint (client-credentials grant, RFC 6749 4.4). `https://` is required, except for a loopback host (127.0.0.1, ::1, localhost).',
    format: String,
    default: '',
  },
  clientId: { doc: 'OAUTHBEARER: the client id at the identity provider.', format: String, default: '' },
  clientSecretFile: {
    doc: 'OAUTHBEARER: file whose content (trailing newline removed) is the client secret. Read again at each token request, so a rotated secret is used without a restart.',
    format: String,
    default: '',
  },
  clientSecretEnv: {
    doc: 'OAUTHBEARER: name of the environment variable that holds the client secret (read at start). Give exactly one of `clientSecretFile`, `clientSecretEnv`.',
    format: String,
    default: '',
  },
  clientAuth: {
    doc: "OAUTHBEARER: how the client authenticates to the token endpoint: `basic` (HTTP Basic, as Kafka's Java client does) or `body` (`client_id` and `client_secret` form fields).",
    format: ['basic', 'body'],
    default: 'basic',
  },
  scope: {
    doc: 'OAUTHBEARER: the `scope` sent with the token request (none when empty).',
    format: String,
    default: '',
  },
  audience: {
    doc: "OAUTHBEARER: the `audience` sent with the token request (none when empty); the brokers check the token's `aud` claim against their `sasl.oauthbearer.expected.audience`.",
    format: String,
    default: '',
  },
  extensions: {
    doc: 'OAUTHBEARER: SASL extensions sent to the broker with the token (RFC 7628 3.1), as `key=value` entries (Confluent Cloud: `logicalCluster=lkc-...`, `identityPoolId=pool-...`).',
    format: 'string-list',
    default: [] as string[],
  },
  requestTimeoutMs: {
    doc: 'OAUTHBEARER: time allowed for one token request (connect and answer).',
    format: 'milliseconds',
    default: 10_000,
  },
};

export interface OauthbearerConfig {
  readonly tokenEndpointUrl: string;
  readonly clientId: string;
  /** Exactly one of clientSecretFile (read at each request) and clientSecret (from clientSecretEnv). */
  readonly clientSecretFile?: string;
  readonly clientSecret?: string;
  readonly clientSecretEnv?: string;
  readonly clientAuth: 'basic' | 'body';
  readonly scope: string;
  readonly audience: string;
  readonly extensions: Readonly<Record<string, string>>;
  readonly requestTimeoutMs: number;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname)) return undefined;
  return `"${url}" must be https:// (plain http is allowed for a loopback host only)`;
}

/** `key=value` entries; RFC 7628 3.1: keys are letters, values printable ASCII; `auth` is reserved. */
function extensionsOf(
  entries: readonly string[],
  prefix: string,
  problems: string[],
): Record<string, string> {
  const extensions: Record<string, string> = {};
  for (const entry of entries) {
    const match = /^([A-Za-z]+)=([\x21-\x7E \t]+)$/.exec(entry);
    if (match === null || match[1] === 'auth')
      problems.push(`${prefix}.extensions: "${entry}" is not key=value (key: letters, not "auth")`);
    else extensions[match[1] as string] = match[2] as string;
  }
  return extensions;
}

/** Reads a secret file (trailing newline removed); throws the system's error. */
export function readClientSecret(file: string): string {
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}

/** The oauthbearer settings of a cluster's `sasl`, validated; problems named by key. */
export function oauthbearerOf(
  c: Getter,
  prefix: string,
  problems: string[],
  env: NodeJS.ProcessEnv,
): OauthbearerConfig {
  const get = (key: string) => c(`sasl.oauthbearer.${key}`);
  const tokenEndpointUrl = get('tokenEndpointUrl') as string;
  const clientId = get('clientId') as string;
  if (tokenEndpointUrl === '')
    problems.push(`${prefix}.tokenEndpointUrl: required with mechanism oauthbearer`);
  else {
    const problem = endpointProblem(tokenEndpointUrl);
    if (problem !== undefined) problems.push(`${prefix}.tokenEndpointUrl: ${problem}`);
  }
  if (clientId === '') problems.push(`${prefix}.clientId: required with mechanism oauthbearer`);
  const base = {
    tokenEndpointUrl,
    clientId,
    clientAuth: get('clientAuth') as 'basic' | 'body',
    scope: get('scope') as string,
    audience: get('audience') as string,
    extensions: extensionsOf(get('extensions') as string[], prefix, problems),
    requestTimeoutMs: get('requestTimeoutMs') as number,
  };
  const file = get('clientSecretFile') as string;
  const name = get('clientSecretEnv') as string;
  if ((file === '') === (name === '')) {
    problems.push(`${prefix}: give the client secret in exactly one of clientSecretFile, clientSecretEnv`);
    return base;
  }
  if (file !== '') {
    try {
      const secret = readClientSecret(file);
      if (secret === '') problems.push(`${prefix}.clientSecretFile: "${file}" is empty`);
      registerSecret(secret);
    } catch (error) {
      problems.push(
        `${prefix}.clientSecretFile: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    return { ...base, clientSecretFile: file };
  }
  const clientSecret = env[name] ?? '';
  if (clientSecret === '')
    problems.push(`${prefix}.clientSecretEnv: environment variable ${name} is not set or empty`);
  registerSecret(clientSecret);
  return { ...base, clientSecret, clientSecretEnv: name };
}
