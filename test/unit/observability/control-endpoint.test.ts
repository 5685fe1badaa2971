// /control/ of the admin server over a real HTTP server: authentication, routing, bodies and
// answers, with routes that record what they were asked (the daemon's routes are daemon/control.ts).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { tokenDigest, type ControlConfig } from '../../../src/config/index.ts';
import { ControlConflictError } from '../../../src/errors/index.ts';
import { AdminServer } from '../../../src/observability/admin-server.ts';
import {
  ControlEndpoint,
  type ControlRequest,
  type ControlRoute,
} from '../../../src/observability/control-endpoint.ts';
import { createLogger, LOG_LEVELS, setLogLevel } from '../../../src/observability/logger.ts';

const OPS = 'ops-token-0123456789abcdef';
const CI = 'ci-token-0123456789abcdef-longer';

async function serve(t: TestContext, config: Partial<ControlConfig> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const calls: Array<{ action: string } & ControlRequest> = [];
  const counted: string[] = [];
  const routes: ControlRoute[] = [
    {
      path: '/control/flows/:flow/pause',
      action: 'pause',
      run: (request) => {
        calls.push({ action: 'pause', ...request });
        if (request.params['flow'] === 'busy') throw new ControlConflictError('flow busy is draining');
        return { flow: request.params['flow'] };
      },
    },
    {
      path: '/control/echo',
      action: 'echo',
      run: (request) => ({ body: request.body }),
    },
    {
      path: '/control/boom',
      action: 'boom',
      run: () => {
        throw new Error(`a bug that mentions ${OPS}`);
      },
    },
  ];
  const control = new ControlEndpoint({
    config: {
      enabled: true,
      tokens: [
        { name: 'ops', digest: tokenDigest(OPS) },
        { name: 'ci', digest: tokenDigest(CI) },
      ],
      ...config,
    },
    routes,
    count: ({ action, result, caller }) => counted.push(`${action} ${result} ${caller}`),
    logger,
  });
  const sources = {
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    readiness: () => ({ ready: true, flows: {} }),
    status: () => ({}),
  };
  const server = new AdminServer(sources, logger, control);
  t.after(() => server.close());
  const { port } = await server.listen('127.0.0.1', 0);
  const post = async (path: string, options: { token?: string; body?: string; method?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: options.method ?? 'POST',
      headers,
      body: options.body,
    });
    return {
      status: response.status,
      headers: response.headers,
      json: (await response.json()) as { ok: boolean; error?: { code: string; message: string } } & Record<
        string,
        unknown
      >,
    };
  };
  return { post, calls, counted, lines, port };
}

test('a request with a configured token runs its route, named after the token, logged and counted once', async (t) => {
  const { post, calls, counted, lines } = await serve(t);
  const answer = await post('/control/flows/us-%3Easia/pause', { token: CI });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, { ok: true, action: 'pause', flow: 'us->asia' });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.caller, 'ci');
  assert.deepEqual(counted, ['pause ok ci']);
  const logged = lines.filter((l) => l['msg'] === 'control request done');
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.['caller'], 'ci');
  assert.equal(logged[0]?.['flow'], 'us->asia');
  assert.ok(
    lines.every((l) => !JSON.stringify(l).includes(CI)),
    'the token is never logged',
  );
});

test('a missing or wrong token is 401 with WWW-Authenticate: Bearer, and nothing runs', async (t) => {
  const { post, calls, counted } = await serve(t);
  for (const token of [undefined, 'wrong-token-0123456789', `${OPS}x`, OPS.slice(0, -1), '']) {
    const answer = await post('/control/flows/f/pause', token === undefined ? {} : { token });
    assert.equal(answer.status, 401, `token ${String(token)}`);
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(answer.json.error?.code, 'KM_CONTROL_UNAUTHORIZED');
  }
  assert.equal(calls.length, 0);
  assert.ok(counted.every((c) => c === 'pause unauthorized unknown'));
  // Unknown paths are not revealed before authentication.
  assert.equal((await post('/control/nothing-here')).status, 401);
});

test('with control disabled every /control/ request is refused, saying how to enable it', async (t) => {
  const { post, calls } = await serve(t, { enabled: false });
  const answer = await post('/control/flows/f/pause', { token: OPS });
  assert.equal(answer.status, 403);
  assert.equal(answer.json.error?.code, 'KM_CONTROL_DISABLED');
  assert.match(answer.json.error?.message ?? '', /admin\.control\.enabled/);
  assert.equal(calls.length, 0);
});

test('unknown paths are 404, other methods 405, bad bodies 400, refusals keep their status', async (t) => {
  const { post, counted } = await serve(t);
  const unknown = await post('/control/flows/f/explode', { token: OPS });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error?.code, 'KM_CONTROL_NOT_FOUND');
  const get = await post('/control/flows/f/pause', { token: OPS, method: 'GET' });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  for (const body of ['{not json', '[1]', '"x"', 'null']) {
    const bad = await post('/control/echo', { token: OPS, body });
    assert.equal(bad.status, 400, body);
    assert.equal(bad.json.error?.code, 'KM_CONTROL_BAD_REQUEST');
  }
  assert.deepEqual((await post('/control/echo', { token: OPS, body: '{"a":1}' })).json, {
    ok: true,
    action: 'echo',
    body: { a: 1 },
  });
  assert.deepEqual((await post('/control/echo', { token: OPS })).json.body, {}, 'an empty body is {}');
  const conflict = await post('/control/flows/busy/pause', { token: OPS });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.json.error?.code, 'KM_CONTROL_CONFLICT');
  assert.ok(counted.includes('unknown not_found ops'));
  assert.ok(counted.includes('pause conflict ops'));
});

test('a route that fails unexpectedly answers 500 without its message, and logs it', async (t) => {
  const { post, lines, counted } = await serve(t);
  const answer = await post('/control/boom', { token: OPS });
  assert.equal(answer.status, 500);
  assert.equal(answer.json.error?.code, 'internal');
  assert.doesNotMatch(JSON.stringify(answer.json), /a bug/);
  assert.equal(lines.filter((l) => l['msg'] === 'control request failed').length, 1);
  assert.deepEqual(counted, ['boom failed ops']);
});

test('the open endpoints stay open and unchanged beside /control/', async (t) => {
  const { port } = await serve(t);
  for (const path of ['/healthz', '/readyz', '/status', '/metrics'])
    assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200, path);
});

test('setLogLevel changes the level of a logger and of every child it has', () => {
  const lines: string[] = [];
  const root = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const child = root.child({ component: 'x' });
  const grandchild = child.child({ flow: 'f' });
  grandchild.debug('hidden');
  assert.equal(setLogLevel(root, 'debug'), 'info');
  grandchild.debug('shown');
  assert.equal(child.level, 'debug');
  assert.equal(lines.length, 1);
  assert.ok(LOG_LEVELS.includes('trace') && LOG_LEVELS.includes('silent'));
});
