import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configWarnings, parseConfig, redactSecrets } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';

const SECRET = 'oauth-client-secret-5d1e9b';

function withOauth(oauthbearer: Record<string, unknown>, sasl: Record<string, unknown> = {}) {
  return {
    clusters: {
      cloud: { bootstrapServers: ['cloud:9092'], sasl: { mechanism: 'oauthbearer', oauthbearer, ...sasl } },
      dc: { bootstrapServers: ['dc:9092'] },
    },
    flows: [{ source: 'dc', target: 'cloud' }],
  };
}

function problems(document: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(document, 'test.yaml', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.ok(!error.message.includes(SECRET), 'the secret is in no problem');
    return error.problems;
  }
  assert.fail('the document was accepted');
}

const base = { tokenEndpointUrl: 'https://idp.example/oauth2/token', clientId: 'mirror' };

test('oauthbearer with the secret from the environment: loaded, and the secret registered for redaction', () => {
  const config = parseConfig(
    withOauth({
      ...base,
      clientSecretEnv: 'IDP_SECRET',
      scope: 'kafka',
      extensions: ['logicalCluster=lkc-1'],
    }),
    'test.yaml',
    { IDP_SECRET: SECRET },
  );
  const oauth = config.clusters['cloud']?.sasl?.oauthbearer;
  assert.equal(config.clusters['cloud']?.sasl?.mechanism, 'oauthbearer');
  assert.equal(oauth?.clientSecret, SECRET);
  assert.equal(oauth?.clientAuth, 'basic');
  assert.deepEqual(oauth?.extensions, { logicalCluster: 'lkc-1' });
  assert.equal(redactSecrets(`x ${SECRET} y`), 'x [REDACTED] y');
});

test('oauthbearer with a secret file: the path is kept (read again at each token request), the secret registered', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-oauth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  await writeFile(file, `${SECRET}-file\n`);
  const config = parseConfig(withOauth({ ...base, clientSecretFile: file }));
  assert.equal(config.clusters['cloud']?.sasl?.oauthbearer?.clientSecretFile, file);
  assert.equal(config.clusters['cloud']?.sasl?.oauthbearer?.clientSecret, undefined);
  assert.equal(redactSecrets(`${SECRET}-file`), '[REDACTED]');
});

test('oauthbearer refusals name each key', () => {
  const none = problems(withOauth({}));
  assert.ok(
    none.some((p) => /oauthbearer\.tokenEndpointUrl: required/.test(p)),
    none.join('\n'),
  );
  assert.ok(none.some((p) => /oauthbearer\.clientId: required/.test(p)));
  assert.ok(none.some((p) => /exactly one of clientSecretFile, clientSecretEnv/.test(p)));
  const both = problems(withOauth({ ...base, clientSecretEnv: 'A', clientSecretFile: '/x' }), { A: SECRET });
  assert.ok(both.some((p) => /exactly one of clientSecretFile, clientSecretEnv/.test(p)));
  const http = problems(
    withOauth({ ...base, tokenEndpointUrl: 'http://idp.example/token', clientSecretEnv: 'A' }),
    {
      A: SECRET,
    },
  );
  assert.ok(
    http.some((p) => /tokenEndpointUrl: .*must be https/.test(p)),
    http.join('\n'),
  );
  const unset = problems(withOauth({ ...base, clientSecretEnv: 'NOPE' }));
  assert.ok(unset.some((p) => /clientSecretEnv: environment variable NOPE is not set/.test(p)));
  const missing = problems(withOauth({ ...base, clientSecretFile: '/nonexistent/secret' }));
  assert.ok(missing.some((p) => /clientSecretFile: cannot read "\/nonexistent\/secret": ENOENT/.test(p)));
  const ext = problems(withOauth({ ...base, clientSecretEnv: 'A', extensions: ['auth=x', 'novalue'] }), {
    A: SECRET,
  });
  assert.equal(ext.filter((p) => /extensions: /.test(p)).length, 2);
  const user = problems(withOauth({ ...base, clientSecretEnv: 'A' }, { username: 'u' }), { A: SECRET });
  assert.ok(user.some((p) => /not used with mechanism oauthbearer/.test(p)));
});

test('plain http is accepted for a loopback token endpoint only', () => {
  for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9000']) {
    const config = parseConfig(
      withOauth({ ...base, tokenEndpointUrl: `http://${host}/token`, clientSecretEnv: 'A' }),
      'test.yaml',
      { A: SECRET },
    );
    assert.equal(config.clusters['cloud']?.sasl?.oauthbearer?.tokenEndpointUrl, `http://${host}/token`);
  }
});

test('the variable clientSecretEnv names is no unknown KAFKA_MIRROR_ setting', () => {
  const env = { KAFKA_MIRROR_IDP_SECRET: SECRET };
  const config = parseConfig(
    withOauth({ ...base, clientSecretEnv: 'KAFKA_MIRROR_IDP_SECRET' }),
    'test.yaml',
    env,
  );
  const warnings = configWarnings(config, env, { heapLimitBytes: 4 * 1024 ** 3 });
  assert.deepEqual(
    warnings.filter((w) => w.includes('KAFKA_MIRROR_IDP_SECRET')),
    [],
  );
});
