// Redaction by value (config/secrets.ts): every secret the loader reads, from every source, is
// masked in log lines whatever the path that carries it, in the admin server's answers and in
// everything the command line prints, errors included.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { main } from '../../../src/cli/main.ts';
import {
  MIN_MASKED_LENGTH,
  parseConfig,
  REDACTED,
  redactSecrets,
  registerSecret,
} from '../../../src/config/index.ts';
import { AdminServer, type AdminSources } from '../../../src/observability/admin-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const INLINE = 'inline-Secret-91c2';
const FROM_FILE = 'file-Secret-"quoted"-4be1';
const FROM_ENV = 'env-Secret-0d77ab';
const TOKEN = 'control-token-5f0c2e9a7b13d468';
const KEY_LINE = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_LINE}\nMgWtyZ8Q5Yl3dJ0sJ8d0a1y2x3w4v5u6t7s8r9q0p1o2n3m4l5k6j7i8h9g0f1e2\n-----END PRIVATE KEY-----\n`;
const ALL = [INLINE, FROM_FILE, FROM_ENV, TOKEN, KEY_LINE];

function assertClean(text: string, where: string): void {
  for (const secret of ALL) assert.ok(!text.includes(secret), `${where} shows ${secret}:\n${text}`);
  // The JSON form of the quoted one, as a log line writes it.
  assert.ok(!text.includes(JSON.stringify(FROM_FILE).slice(1, -1)), `${where} shows the escaped secret`);
}

test('secrets from every source are masked in logs, admin answers and command output', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'km-secrets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const files = { password: join(dir, 'password'), token: join(dir, 'token'), key: join(dir, 'key.pem') };
  const cert = join(dir, 'cert.pem');
  await writeFile(files.password, `${FROM_FILE}\n`);
  await writeFile(files.token, `${TOKEN}\n`);
  await writeFile(files.key, KEY);
  await writeFile(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const sasl = (extra: Record<string, string>) => ({
    mechanism: 'scram-sha-512',
    username: 'mirror',
    ...extra,
  });
  parseConfig(
    {
      clusters: {
        a: { bootstrapServers: ['a:9092'], sasl: sasl({ password: INLINE }), tls: { cert, key: files.key } },
        b: { bootstrapServers: ['b:9092'], sasl: sasl({ passwordFile: files.password }) },
        c: { bootstrapServers: ['c:9092'], sasl: sasl({ passwordEnv: 'KM_TEST_PASSWORD' }) },
      },
      flows: [{ source: 'a', target: 'b' }],
      admin: { control: { enabled: true, tokens: [{ name: 'ops', file: files.token }] } },
    },
    'test.yaml',
    { KM_TEST_PASSWORD: FROM_ENV },
  );

  // Logs at trace, with the secrets at paths the key-based redaction does not list.
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'trace', destination });
  logger.trace({ err: { options: { sasl: { password: INLINE } } }, key: FROM_FILE }, 'client options');
  logger.error(new Error(`connect failed with ${FROM_ENV} and token ${TOKEN}`), 'failed');
  logger.debug({ pem: KEY }, `key ${KEY_LINE.slice(0)}`);
  const logged = lines.join('');
  assertClean(logged, 'the log');
  assert.equal(lines.length, 3);
  assert.ok(logged.includes(REDACTED));

  // The admin server's answers.
  const sources: AdminSources = {
    metrics: async () => ({ contentType: 'text/plain', body: `x{p="${INLINE}"} 1\n` }),
    readiness: () => ({ ready: true, flows: {} }),
    status: () => ({ lastError: `refused: ${FROM_FILE}`, token: TOKEN }),
  };
  const server = new AdminServer(sources, createLogger({ level: 'silent' }));
  const address = await server.listen('127.0.0.1', 0);
  t.after(() => server.close());
  for (const path of ['/status', '/metrics']) {
    const body = await (await fetch(`http://127.0.0.1:${address.port}${path}`)).text();
    assertClean(body, path);
    assert.ok(body.includes(REDACTED), `${path} masks: ${body}`);
  }

  // The command line: an error message quoting a secret (an unknown command named after it).
  let out = '';
  let err = '';
  const code = await main([FROM_ENV], { out: (s) => void (out += s), err: (s) => void (err += s) });
  assert.equal(code, 2);
  assertClean(out + err, 'the command line');
  assert.ok(err.includes(REDACTED), err);
});

test('short strings are not masked by value; registering is idempotent', () => {
  const short = 'x'.repeat(MIN_MASKED_LENGTH - 1);
  registerSecret(short);
  assert.equal(redactSecrets(`a ${short} b`), `a ${short} b`);
  registerSecret('long-enough-secret-1');
  registerSecret('long-enough-secret-1');
  assert.equal(redactSecrets('long-enough-secret-1/long-enough-secret-1'), `${REDACTED}/${REDACTED}`);
});
