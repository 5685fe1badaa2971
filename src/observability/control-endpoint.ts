// The admin server's /control/ endpoints: bearer-token authentication, routing, JSON bodies and
// answers, and one log line and one count per request. What each route does is the daemon's
// (daemon/control.ts): a route is a path and a function, so adding one is one entry of the list.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redactSecrets, type ControlConfig } from '../config/index.ts';
import {
  ControlBadRequestError,
  ControlDisabledError,
  ControlNotFoundError,
  ControlUnauthorizedError,
  KafkaMirrorError,
} from '../errors/index.ts';
import type { Logger } from './logger.ts';

/** What a route gets: the path's parameters (`:flow`) and the JSON body (an object; {} when empty). */
export interface ControlRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
  /** The name of the token that authenticated the request. */
  readonly caller: string;
}

/** One POST endpoint: `path` with `:name` segments, such as `/control/flows/:flow/pause`. */
export interface ControlRoute {
  readonly path: string;
  /** The `action` label of kafka_mirror_control_requests_total and of the log line. */
  readonly action: string;
  /** The answer's fields (JSON); throws a KM_CONTROL_* error to refuse (its status is answered). */
  run(request: ControlRequest): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** Larger bodies are refused: every control body is a few fields. */
const MAX_BODY_BYTES = 64 * 1024;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The answer's `result` label by HTTP status. */
const RESULTS: Record<number, string> = {
  200: 'ok',
  400: 'bad_request',
  401: 'unauthorized',
  403: 'disabled',
  404: 'not_found',
  405: 'bad_request',
  409: 'conflict',
};

export class ControlEndpoint {
  readonly #config: ControlConfig;
  readonly #routes: ReadonlyArray<ControlRoute & { readonly pattern: RegExp; readonly names: string[] }>;
  readonly #digests: ReadonlyArray<{ name: string; digest: Buffer }>;
  readonly #count: (labels: { action: string; result: string; caller: string }) => void;
  readonly #logger: Logger;

  constructor(init: {
    config: ControlConfig;
    routes: readonly ControlRoute[];
    count: (labels: { action: string; result: string; caller: string }) => void;
    logger: Logger;
  }) {
    this.#config = init.config;
    this.#routes = init.routes.map((route) => ({ ...route, ...compile(route.path) }));
    this.#digests = init.config.tokens.map((t) => ({ name: t.name, digest: Buffer.from(t.digest, 'hex') }));
    this.#count = init.count;
    this.#logger = init.logger;
  }

  /** Whether the path is one of /control/ (answered here, whatever the method). */
  static owns(path: string): boolean {
    return path === '/control' || path.startsWith('/control/');
  }

  async handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const matched = this.#match(path);
    const action = matched?.route.action ?? 'unknown';
    let caller = 'unknown';
    const fields: Record<string, unknown> = {};
    try {
      if (!this.#config.enabled) throw new ControlDisabledError();
      caller = this.#authenticate(request.headers.authorization);
      if (request.method !== 'POST') throw new ControlBadRequestError('use POST', 405);
      if (matched === undefined) throw new ControlNotFoundError(`control endpoint ${path}`);
      const body = await readBody(request);
      Object.assign(fields, matched.params, pick(body, ['topic', 'partition', 'level']));
      const answer = await matched.route.run({ params: matched.params, body, caller });
      this.#answered(response, 200, { ok: true, action, ...answer }, { action, caller, fields });
    } catch (error) {
      const status = statusOf(error);
      const known = error instanceof KafkaMirrorError && status !== 500;
      const code = known ? error.code : 'internal';
      const message = known ? error.message : 'internal error; see the daemon log';
      if (status === 401) response.setHeader('www-authenticate', 'Bearer realm="kafka-mirror control"');
      if (status === 405) response.setHeader('allow', 'POST');
      const failure = known ? undefined : error;
      this.#answered(
        response,
        status,
        { ok: false, action, error: { code, message } },
        { action, caller, fields, failure },
      );
    }
  }

  /** The caller's token name; ControlUnauthorizedError without a configured token. */
  #authenticate(header: string | undefined): string {
    const token = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1];
    if (token === undefined) throw new ControlUnauthorizedError();
    // Digests of equal length, each compared in constant time, every one of them: neither the
    // token's length nor which token it nearly matched shows in the time taken.
    const given = sha256(token);
    let caller: string | undefined;
    for (const { name, digest } of this.#digests) if (timingSafeEqual(given, digest)) caller ??= name;
    if (caller === undefined) throw new ControlUnauthorizedError();
    return caller;
  }

  #match(path: string): { route: ControlRoute; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      const found = route.pattern.exec(path);
      if (found === null) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = safeDecode(found[i + 1] ?? '')));
      return { route, params };
    }
    return undefined;
  }

  /** Answers, logs once and counts once. */
  #answered(
    response: ServerResponse,
    status: number,
    answer: Record<string, unknown>,
    about: { action: string; caller: string; fields: Record<string, unknown>; failure?: unknown },
  ): void {
    const result = RESULTS[status] ?? 'failed';
    this.#count({ action: about.action, result, caller: about.caller });
    const line = { caller: about.caller, action: about.action, ...about.fields, result, status };
    if (about.failure !== undefined)
      this.#logger.error({ ...line, err: about.failure }, 'control request failed');
    else if (status === 200) this.#logger.info({ ...line, answer }, 'control request done');
    else
      this.#logger.warn(
        { ...line, reason: (answer['error'] as { message: string }).message },
        'control request refused',
      );
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(redactSecrets(`${JSON.stringify(answer, null, 2)}\n`));
  }
}

/** `/control/flows/:flow/pause` -> a whole-path pattern and its parameter names. */
function compile(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`), names };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ControlBadRequestError(`"${part}" is not a valid path segment`);
  }
}

function statusOf(error: unknown): number {
  const status = (error as { status?: unknown }).status;
  return error instanceof KafkaMirrorError && typeof status === 'number' ? status : 500;
}

function pick(body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in body).map((k) => [k, body[k]]));
}

/** The body as a JSON object ({} when empty); ControlBadRequestError otherwise. */
async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new ControlBadRequestError(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ControlBadRequestError('the body is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ControlBadRequestError('the body must be a JSON object');
  return body as Record<string, unknown>;
}
