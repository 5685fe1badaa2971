// admin.control: the bearer tokens of the /control/ endpoints, read at load from their files or
// environment variables. Only each token's SHA-256 digest is kept (what the admin server compares
// in constant time), so no token is in the frozen config, a log line or a problem message. The
// tokens are also registered for redaction by value (secrets.ts), which keeps them in memory.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MIN_CONTROL_TOKEN_LENGTH } from './schema.ts';
import { registerSecret } from './secrets.ts';
import type { ControlConfig, ControlToken } from './types.ts';
import type { Getter } from './validated.ts';

/** SHA-256 of a token, hex: equal digests of equal length whatever the tokens' lengths. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface TokenSource {
  readonly name: string;
  readonly file?: string;
  readonly env?: string;
}

/** admin.control with every token read; problems name the key, never the token. */
export function controlOf(top: Getter, problems: string[], env: NodeJS.ProcessEnv): ControlConfig {
  const enabled = top('admin.control.enabled') === true;
  const listed = top('admin.control.tokens');
  const sources = Array.isArray(listed) ? (listed as TokenSource[]) : [];
  const tokens: ControlToken[] = [];
  sources.forEach((source, i) => {
    const at = `admin.control.tokens[${i}]`;
    if (sources.findIndex((s) => s.name === source.name) !== i)
      problems.push(`${at}.name: "${source.name}" is used by another token`);
    const token = tokenOf(source, at, problems, env);
    if (token !== undefined)
      tokens.push({
        name: source.name,
        digest: tokenDigest(token),
        ...(source.env ? { env: source.env } : {}),
      });
  });
  if (enabled && sources.length === 0)
    problems.push(
      'admin.control.tokens: at least one token is required when admin.control.enabled is true (a list of { name, file } or { name, env })',
    );
  return { enabled, tokens };
}

/** The token of one entry, trimmed; undefined (with a problem) when unreadable, empty or short. */
function tokenOf(
  source: TokenSource,
  at: string,
  problems: string[],
  env: NodeJS.ProcessEnv,
): string | undefined {
  let token: string;
  let where: string;
  if (source.file !== undefined) {
    where = `${at}.file: "${source.file}"`;
    try {
      token = readFileSync(source.file, 'utf8').trim();
    } catch (error) {
      problems.push(`${where}: cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      return undefined;
    }
  } else {
    where = `${at}.env: environment variable ${source.env ?? ''}`;
    token = (env[source.env ?? ''] ?? '').trim();
  }
  if (token !== '') registerSecret(token);
  if (token === '') problems.push(`${where} is not set or empty`);
  // A bearer token is one word on the wire (Authorization: Bearer <token>).
  else if (/\s/.test(token)) problems.push(`${where} holds a token with whitespace inside`);
  else if (token.length < MIN_CONTROL_TOKEN_LENGTH)
    problems.push(
      `${where} holds a token shorter than ${MIN_CONTROL_TOKEN_LENGTH} characters (generate one: openssl rand -hex 32)`,
    );
  else return token;
  return undefined;
}

/** Where a control command (`kafka-mirror pause`, ...) takes its token from when no file is given. */
export const CONTROL_TOKEN_VARIABLE = 'KAFKA_MIRROR_CONTROL_TOKEN';

/**
 * The token a control command sends: the content of `file` (trimmed), or else the variable
 * KAFKA_MIRROR_CONTROL_TOKEN of `env`. Undefined, with the reason, when there is none.
 */
export function clientToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
): { token: string } | { missing: string } {
  if (file !== undefined) {
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      return {
        missing: `cannot read --token-file "${file}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      };
    }
    if (token !== '') registerSecret(token);
    return token === '' ? { missing: `--token-file "${file}" is empty` } : { token };
  }
  const token = (env[CONTROL_TOKEN_VARIABLE] ?? '').trim();
  if (token !== '') registerSecret(token);
  return token === ''
    ? { missing: `give the control token with --token-file <file> or ${CONTROL_TOKEN_VARIABLE}` }
    : { token };
}
