import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';

const SECRET = 'pa55-Wörd-7f3a9c';

/** Two clusters and a flow; `us` gets the given keys (tls, sasl). */
function withUs(us: Record<string, unknown>): Record<string, unknown> {
  return {
    clusters: {
      us: { bootstrapServers: ['us-kafka:9093'], ...us },
      eu: { bootstrapServers: ['eu-kafka:9092'] },
    },
    flows: [{ source: 'us', target: 'eu' }],
  };
}

/** The ConfigError a document is rejected with; fails if it is accepted or fails otherwise. */
function rejection(document: unknown, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(document, 'test.yaml', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('the document was accepted');
}

function assertProblem(error: ConfigError, pattern: RegExp): void {
  assert.ok(
    error.problems.some((p) => pattern.test(p)),
    `no problem matches ${String(pattern)} in:\n${error.problems.join('\n')}`,
  );
}

/** Neither the problems nor the message (what is printed and logged) contain the secret. */
function assertNoSecret(error: ConfigError, secret = SECRET): void {
  assert.ok(!error.message.includes(secret), `the message leaks the secret:\n${error.message}`);
  assert.ok(!error.problems.some((p) => p.includes(secret)));
  assert.ok(!JSON.stringify(error).includes(secret));
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kafka-mirror-security-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function pemFiles(t: TestContext): Promise<{ dir: string; ca: string; cert: string; key: string }> {
  const dir = await tempDir(t);
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
  for (const file of Object.values(files)) await writeFile(file, '-----BEGIN CERTIFICATE-----\n');
  return { dir, ...files };
}

// --- tls ---

test('without tls and sasl a cluster connects in plaintext, unauthenticated', () => {
  const config = parseConfig(withUs({}));
  assert.deepEqual(config.clusters['us']?.tls, { enabled: false });
  assert.equal(config.clusters['us']?.sasl, undefined);
});

test('tls.enabled alone uses the system CAs; any PEM file implies TLS', async (t) => {
  const { ca, cert, key } = await pemFiles(t);
  assert.deepEqual(parseConfig(withUs({ tls: { enabled: true } })).clusters['us']?.tls, { enabled: true });
  assert.deepEqual(parseConfig(withUs({ tls: { ca } })).clusters['us']?.tls, { enabled: true, ca });
  assert.deepEqual(parseConfig(withUs({ tls: { enabled: false, ca, cert, key } })).clusters['us']?.tls, {
    enabled: true,
    ca,
    cert,
    key,
  });
});

test('a tls file that does not exist is a problem naming clusters.<alias>.tls.<key>', async (t) => {
  const { dir, ca, cert, key } = await pemFiles(t);
  const missing = join(dir, 'nope.pem');
  for (const name of ['ca', 'cert', 'key'] as const) {
    const files = { ca, cert, key, [name]: missing };
    const error = rejection(withUs({ tls: files }));
    assert.deepEqual(error.problems, [`clusters.us.tls.${name}: cannot read "${missing}": ENOENT`]);
  }
});

test('every unreadable tls file is reported at once', async (t) => {
  const dir = await tempDir(t);
  const error = rejection(
    withUs({ tls: { ca: join(dir, 'a.pem'), cert: join(dir, 'b.pem'), key: join(dir, 'c.pem') } }),
  );
  assert.equal(error.problems.length, 3);
  for (const name of ['ca', 'cert', 'key'])
    assertProblem(error, new RegExp(`^clusters\\.us\\.tls\\.${name}: `));
});

test('cert without key, or key without cert, is a problem', async (t) => {
  const { cert, key } = await pemFiles(t);
  for (const tls of [{ cert }, { key }]) {
    const error = rejection(withUs({ tls }));
    assert.deepEqual(error.problems, ['clusters.us.tls: cert and key go together (mutual TLS needs both)']);
  }
});

test('tls values of the wrong type and unknown tls keys are problems with their path', () => {
  const error = rejection(withUs({ tls: { enabled: 1, ca: 7, verify: false } }));
  assertProblem(error, /^clusters\.us\.tls\.enabled: /);
  assertProblem(error, /^clusters\.us\.tls\.ca: /);
  assertProblem(error, /^clusters\.us\.tls\.verify: unknown key$/);
});

// --- sasl: the password from exactly one source ---

test('the password can be given inline', () => {
  const sasl = parseConfig(withUs({ sasl: { mechanism: 'plain', username: 'alice', password: SECRET } }))
    .clusters['us']?.sasl;
  assert.deepEqual(sasl, { mechanism: 'plain', username: 'alice', password: SECRET });
});

test('the password can come from a file; its trailing newline is removed', async (t) => {
  const dir = await tempDir(t);
  for (const [content, expected] of [
    [`${SECRET}\n`, SECRET],
    [`${SECRET}\r\n`, SECRET],
    [SECRET, SECRET],
    [` ${SECRET} \n`, ` ${SECRET} `],
  ] as const) {
    const file = join(dir, 'password');
    await writeFile(file, content);
    const sasl = parseConfig(
      withUs({ sasl: { mechanism: 'scram-sha-512', username: 'alice', passwordFile: file } }),
    ).clusters['us']?.sasl;
    assert.deepEqual(sasl, {
      mechanism: 'scram-sha-512',
      username: 'alice',
      password: expected,
      passwordFile: file,
    });
  }
});

test('the password can come from an environment variable of the env parameter', () => {
  const sasl = parseConfig(
    withUs({ sasl: { mechanism: 'scram-sha-256', username: 'alice', passwordEnv: 'US_KAFKA_PASSWORD' } }),
    'test.yaml',
    { US_KAFKA_PASSWORD: SECRET },
  ).clusters['us']?.sasl;
  assert.deepEqual(sasl, {
    mechanism: 'scram-sha-256',
    username: 'alice',
    password: SECRET,
    passwordEnv: 'US_KAFKA_PASSWORD',
  });
});

test('two or three password sources are a problem naming the sasl key, without the secret', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'password');
  await writeFile(file, SECRET);
  const env = { US_KAFKA_PASSWORD: SECRET };
  for (const sources of [
    { password: SECRET, passwordFile: file },
    { password: SECRET, passwordEnv: 'US_KAFKA_PASSWORD' },
    { passwordFile: file, passwordEnv: 'US_KAFKA_PASSWORD' },
    { password: SECRET, passwordFile: file, passwordEnv: 'US_KAFKA_PASSWORD' },
  ]) {
    const error = rejection(withUs({ sasl: { mechanism: 'plain', username: 'alice', ...sources } }), env);
    assert.deepEqual(
      error.problems,
      ['clusters.us.sasl: give the password in exactly one of password, passwordFile, passwordEnv'],
      Object.keys(sources).join(' + '),
    );
    assertNoSecret(error);
  }
});

test('no password source is a problem naming the sasl key', () => {
  const error = rejection(withUs({ sasl: { mechanism: 'plain', username: 'alice' } }));
  assert.deepEqual(error.problems, [
    'clusters.us.sasl: give the password in exactly one of password, passwordFile, passwordEnv',
  ]);
});

test('passwordEnv naming an unset or empty variable is a problem; process.env is not read', (t) => {
  const name = `KM_TEST_PASSWORD_${process.pid}`;
  process.env[name] = SECRET;
  t.after(() => delete process.env[name]);
  const document = withUs({ sasl: { mechanism: 'plain', username: 'alice', passwordEnv: name } });
  for (const env of [{}, { [name]: '' }]) {
    const error = rejection(document, env);
    assert.deepEqual(error.problems, [
      `clusters.us.sasl.passwordEnv: environment variable ${name} is not set or empty`,
    ]);
    assertNoSecret(error);
  }
});

test('a passwordFile that does not exist is a problem naming its key', async (t) => {
  const missing = join(await tempDir(t), 'nope');
  const error = rejection(withUs({ sasl: { mechanism: 'plain', username: 'alice', passwordFile: missing } }));
  assert.deepEqual(error.problems, [`clusters.us.sasl.passwordFile: cannot read "${missing}": ENOENT`]);
});

test('a passwordFile that is a directory is a problem naming its key', async (t) => {
  const dir = join(await tempDir(t), 'secret');
  await mkdir(dir);
  const error = rejection(withUs({ sasl: { mechanism: 'plain', username: 'alice', passwordFile: dir } }));
  assertProblem(error, /^clusters\.us\.sasl\.passwordFile: cannot read ".*": EISDIR$/);
});

// --- sasl: mechanism and username ---

test('mechanism none with a username or a password is a problem, without the secret', () => {
  for (const sasl of [
    { mechanism: 'none', username: 'alice' },
    { username: 'alice' }, // none is the default
    { password: SECRET },
  ]) {
    const error = rejection(withUs({ sasl }));
    assert.deepEqual(
      error.problems,
      ['clusters.us.sasl.mechanism: credentials are set but the mechanism is none'],
      JSON.stringify(Object.keys(sasl)),
    );
    assertNoSecret(error);
  }
});

test('a mechanism other than none needs a username', () => {
  const error = rejection(withUs({ sasl: { mechanism: 'scram-sha-256', password: SECRET } }));
  assert.deepEqual(error.problems, ['clusters.us.sasl.username: required with mechanism scram-sha-256']);
  assertNoSecret(error);
});

test('an unknown mechanism is a problem listing the valid ones', () => {
  const error = rejection(withUs({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'a', password: SECRET } }));
  assertProblem(error, /^clusters\.us\.sasl\.mechanism: must be one of .*"scram-sha-256"/);
  assertNoSecret(error);
});

test('mistakes around the password never print it', () => {
  const digits = '918273645';
  for (const [sasl, pattern] of [
    [
      { mechanism: 'plain', username: 'alice', pasword: SECRET },
      /^clusters\.us\.sasl\.pasword: unknown key; did you mean password\?$/,
    ],
    [{ mechanism: 'plain', username: 'alice', password: Number(digits) }, /^clusters\.us\.sasl\.password: /],
    [{ mechanism: 'plain', username: 'alice', password: [SECRET] }, /^clusters\.us\.sasl\.password: /],
  ] as const) {
    const error = rejection(withUs({ sasl }));
    assertProblem(error, pattern);
    assertNoSecret(error);
    assertNoSecret(error, digits);
  }
});

test('the sasl and tls problems of several clusters are all reported, each under its alias', async (t) => {
  const dir = await tempDir(t);
  const error = rejection({
    clusters: {
      us: { bootstrapServers: ['us:9092'], sasl: { mechanism: 'plain', password: SECRET } },
      eu: { bootstrapServers: ['eu:9092'], tls: { ca: join(dir, 'ca.pem') } },
    },
    flows: [{ source: 'us', target: 'eu' }],
  });
  assertProblem(error, /^clusters\.us\.sasl\.username: /);
  assertProblem(error, /^clusters\.eu\.tls\.ca: cannot read/);
  assertNoSecret(error);
});

// --- regressions: bugs found while writing these tests, fixed in src/config/load.ts ---

// tlsOf/saslOf read `tls.ca` / `sasl.mechanism` from convict even when the value is not a
// mapping: `tls:` left empty in YAML (null), `tls: true`, `sasl: <string>` throw a TypeError
// ("Cannot use 'in' operator to search for 'ca' in null") instead of a ConfigError, and the
// TypeError message echoes the value.
test('tls or sasl that is not a mapping is a problem under its key, and the value is not echoed', () => {
  for (const us of [{ tls: null }, { tls: true }, { sasl: null }, { sasl: SECRET }]) {
    const error = rejection(withUs(us));
    assertProblem(error, /^clusters\.us\.(tls|sasl)/);
    assertNoSecret(error);
  }
});

// convict coerces every string but "false" to true for a Boolean key, and YAML 1.2 (the `yaml`
// package) reads `no`/`off` as strings: `tls: { enabled: no }` turns TLS on.
test('tls.enabled given as a string other than true/false is a problem', () => {
  for (const value of ['no', 'off', 'disabled']) {
    const error = rejection(withUs({ tls: { enabled: value } }));
    assertProblem(error, /^clusters\.us\.tls\.enabled: /);
  }
});

// passwordEnv set to "" is a problem, an inline password "" counts as not given, but an empty
// passwordFile is accepted and authenticates with an empty password.
test('an empty passwordFile is a problem, like an empty passwordEnv', async (t) => {
  const file = join(await tempDir(t), 'password');
  await writeFile(file, '\n');
  const error = rejection(withUs({ sasl: { mechanism: 'plain', username: 'alice', passwordFile: file } }));
  assertProblem(error, /^clusters\.us\.sasl\.passwordFile: /);
});

// tlsOf only checks access(R_OK), which a directory passes; the client then fails with EISDIR
// when it reads the PEM file at start, outside the config validation.
test('a tls file that is a directory is a problem naming its key', async (t) => {
  const dir = await tempDir(t);
  const error = rejection(withUs({ tls: { ca: dir } }));
  assertProblem(error, /^clusters\.us\.tls\.ca: /);
});
