import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { OauthbearerConfig } from '../../../src/config/oauthbearer.ts';
import { initialResponse, jwtClaims, OauthTokenProvider } from '../../../src/kafka/oauth.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const config: OauthbearerConfig = {
  tokenEndpointUrl: 'https://idp.example/token',
  clientId: 'mirror id',
  clientSecret: 's3cret:+/',
  clientAuth: 'basic',
  scope: 'kafka',
  audience: 'kafka-prod',
  extensions: {},
  requestTimeoutMs: 1000,
};

const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch answering with `answers` in turn, recording each call. */
function fakeFetch(answers: Array<() => Response>, calls: Call[]): typeof fetch {
  return (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const answer = answers.shift();
    if (answer === undefined) throw new TypeError('fetch failed');
    return answer();
  }) as unknown as typeof fetch;
}

const ok = (token: string) => () =>
  new Response(JSON.stringify({ access_token: token, token_type: 'Bearer' }));
const logger = createLogger({ level: 'silent' });

test('the token request follows Kafka: POST form, Basic client auth (form-urlencoded), scope and audience', async () => {
  const calls: Call[] = [];
  let now = 1_000_000;
  const provider = new OauthTokenProvider(config, {
    logger,
    now: () => now,
    random: () => 0,
    fetch: fakeFetch([ok(jwt({ exp: 1_100 }))], calls),
  });
  const token = await provider.token();
  assert.equal(calls.length, 1);
  const { init } = calls[0] as Call;
  assert.equal(init.method, 'POST');
  const headers = init.headers as Record<string, string>;
  assert.equal(headers['Content-Type'], 'application/x-www-form-urlencoded');
  assert.equal(headers['Accept'], 'application/json');
  assert.equal(
    Buffer.from((headers['Authorization'] ?? '').replace('Basic ', ''), 'base64').toString(),
    'mirror+id:s3cret%3A%2B%2F',
  );
  assert.equal(init.body, 'grant_type=client_credentials&scope=kafka&audience=kafka-prod');
  // 100 s of lifetime: refreshed at 80% (jitter 0).
  assert.equal(token.expiresAtMs, 1_100_000);
  assert.equal(token.refreshAtMs, 1_080_000);
  now = 1_079_999;
  assert.equal(await provider.token(), token, 'cached until its refresh time');
  assert.equal(calls.length, 1);
});

test('body client auth sends the id and secret as form fields', async () => {
  const calls: Call[] = [];
  const provider = new OauthTokenProvider(
    { ...config, clientAuth: 'body', scope: '', audience: '' },
    { logger, now: () => 0, fetch: fakeFetch([ok(jwt({ exp: 100 }))], calls) },
  );
  await provider.token();
  const { init } = calls[0] as Call;
  assert.equal((init.headers as Record<string, string>)['Authorization'], undefined);
  assert.equal(init.body, 'grant_type=client_credentials&client_id=mirror+id&client_secret=s3cret%3A%2B%2F');
});

test('refresh after 80-85% of the lifetime; a failed refresh keeps the valid token; concurrent calls share one request', async () => {
  const calls: Call[] = [];
  let now = 0;
  const provider = new OauthTokenProvider(config, {
    logger,
    now: () => now,
    random: () => 1,
    fetch: fakeFetch(
      [ok(jwt({ exp: 100 })), () => new Response('', { status: 503 }), ok(jwt({ exp: 300 }))],
      calls,
    ),
  });
  const first = await provider.token();
  assert.equal(first.refreshAtMs, 85_000, '85% with full jitter');
  now = 90_000;
  assert.equal(await provider.token(), first, 'the endpoint failed: the token held is still valid');
  const [a, b] = await Promise.all([provider.token(), provider.token()]);
  assert.equal(a, b);
  assert.equal(a?.expiresAtMs, 300_000);
  assert.equal(calls.length, 3);
});

test('refusals and failures carry their KM_ codes and never the secret', async () => {
  const cases: Array<[() => Response, string]> = [
    [
      () => new Response('{"error":"invalid_client","error_description":"bad s3cret:+/"}', { status: 401 }),
      'KM_OAUTH_TOKEN_REFUSED',
    ],
    [() => new Response('', { status: 500 }), 'KM_OAUTH_TOKEN_UNAVAILABLE'],
    [ok('opaque-token'), 'KM_OAUTH_TOKEN_INVALID'],
    [ok(jwt({ sub: 'x' })), 'KM_OAUTH_TOKEN_INVALID'],
    [() => new Response('<html>'), 'KM_OAUTH_TOKEN_INVALID'],
  ];
  for (const [answer, code] of cases) {
    const provider = new OauthTokenProvider(config, { logger, now: () => 0, fetch: fakeFetch([answer], []) });
    await assert.rejects(provider.token(), (error: Error & { code?: string }) => {
      assert.equal(error.code, code);
      assert.ok(!error.message.includes('s3cret'), error.message);
      return true;
    });
  }
  const unreachable = new OauthTokenProvider(config, { logger, fetch: fakeFetch([], []) });
  await assert.rejects(unreachable.token(), { code: 'KM_OAUTH_TOKEN_UNAVAILABLE', retriable: true });
});

test('a secret file is read at each request: a rotated secret is used without a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-oauth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  await writeFile(file, 'first-secret\n');
  const calls: Call[] = [];
  let now = 0;
  const provider = new OauthTokenProvider(
    { ...config, clientSecret: undefined, clientSecretFile: file, clientAuth: 'body' },
    { logger, now: () => now, fetch: fakeFetch([ok(jwt({ exp: 10 })), ok(jwt({ exp: 20 }))], calls) },
  );
  await provider.token();
  await writeFile(file, 'second-secret\n');
  now = 9_000;
  await provider.token();
  assert.match(String(calls[0]?.init.body), /client_secret=first-secret$/);
  assert.match(String(calls[1]?.init.body), /client_secret=second-secret$/);
});

test('the initial client response is RFC 7628 3.1 with extensions; jwtClaims reads a payload', () => {
  assert.equal(initialResponse('t.o.k', {}), 'n,,\u0001auth=Bearer t.o.k\u0001\u0001');
  assert.equal(
    initialResponse('t.o.k', { logicalCluster: 'lkc-1' }),
    'n,,\u0001auth=Bearer t.o.k\u0001logicalCluster=lkc-1\u0001\u0001',
  );
  assert.deepEqual(jwtClaims(jwt({ exp: 5 })), { exp: 5 });
  assert.equal(typeof jwtClaims('nope'), 'string');
});
