// Credential files read again when they change (src/kafka/credentials.ts): what kafkajs reads at
// each authentication (`sasl.password`) and copies into each TLS connection (`ssl`, through
// Object.assign as its socket factory does) follows the files, the log says which file changed
// and never what it holds, and a half-done rotation (an empty or missing file) keeps the material
// read before.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { redactSecrets, REDACTED } from '../../../src/config/index.ts';
import { saslLogin, tlsMaterial } from '../../../src/kafka/credentials.ts';
import { createLogger } from '../../../src/observability/logger.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination: stream }) };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-credentials-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;

/** Replaces `file` at once, as a Kubernetes Secret update or `mv` does (a new inode). */
async function replace(file: string, content: string): Promise<void> {
  await writeFile(`${file}.new`, content);
  await rename(`${file}.new`, file);
}

test('a password file is read again when it changes; the new password is a secret before kafkajs sees it', async (t) => {
  const { lines, logger } = capture();
  const file = path.join(await tempDir(t), 'password');
  const [first, second, third] = [secret('first'), secret('second'), secret('third-longer')];
  await writeFile(file, `${first}\n`);
  const sasl = saslLogin(
    { mechanism: 'scram-sha-512', username: 'mirror', password: first, passwordFile: file },
    logger,
  ) as { mechanism: string; username: string; password: string };
  assert.equal(sasl.password, first);
  assert.equal(sasl.password, first, 'unchanged: not read again');
  assert.equal(lines.length, 0, 'the first read says nothing');

  await replace(file, `${second}\n`);
  assert.equal(sasl.password, second, 'a replaced file (new inode)');
  assert.equal(redactSecrets(`login ${second}`), `login ${REDACTED}`, 'registered when read');
  await writeFile(file, `${third}\n`);
  assert.equal(sasl.password, third, 'a file rewritten in place');

  assert.deepEqual(
    lines.map((l) => [l['level'], l['msg'], l['file']]),
    [
      [30, `re-read ${file} (changed)`, file],
      [30, `re-read ${file} (changed)`, file],
    ],
  );
  const logged = JSON.stringify(lines);
  for (const password of [first, second, third]) assert.ok(!logged.includes(password), 'no password logged');
  assert.deepEqual(
    { ...sasl, password: undefined },
    { mechanism: 'scram-sha-512', username: 'mirror', password: undefined },
  );
});

test('an emptied or removed password file keeps the previous password, with one warning each', async (t) => {
  const { lines, logger } = capture();
  const file = path.join(await tempDir(t), 'password');
  const [first, second] = [secret('first'), secret('second')];
  await writeFile(file, first);
  const sasl = saslLogin(
    { mechanism: 'plain', username: 'u', password: first, passwordFile: file },
    logger,
  ) as { password: string };
  assert.equal(sasl.password, first);
  await writeFile(file, '\n');
  assert.equal(sasl.password, first, 'empty: half a rotation');
  assert.equal(sasl.password, first);
  await rm(file);
  assert.equal(sasl.password, first, 'removed');
  assert.equal(sasl.password, first);
  await writeFile(file, second);
  assert.equal(sasl.password, second, 'written again');
  assert.deepEqual(
    lines.map((l) => [l['level'], l['why']]),
    [
      [40, 'empty'],
      [40, 'ENOENT'],
      [30, undefined],
    ],
  );
});

test('an inline password or one from the environment is the value loaded at start', () => {
  const { logger } = capture();
  const fromEnv = saslLogin(
    { mechanism: 'scram-sha-256', username: 'u', password: 'from-env-1234', passwordEnv: 'X' },
    logger,
  );
  assert.deepEqual(fromEnv, { mechanism: 'scram-sha-256', username: 'u', password: 'from-env-1234' });
});

test('TLS files are read again for the next connection when they change; the key is a secret', async (t) => {
  const { lines, logger } = capture();
  const dir = await tempDir(t);
  const files = {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'cert.pem'),
    key: path.join(dir, 'key.pem'),
  };
  const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  const keyBody = secret('key-body-one');
  await writeFile(files.ca, pem('CERTIFICATE', 'ca-one'));
  await writeFile(files.cert, pem('CERTIFICATE', 'cert-one'));
  await writeFile(files.key, pem('PRIVATE KEY', keyBody));
  const ssl = tlsMaterial({ enabled: true, ...files }, logger);
  // What kafkajs's socket factory does with `ssl` for each connection.
  const connect = () => Object.assign({ host: '127.0.0.1', port: 9093 }, ssl);
  const text = (value: unknown) => (value as Buffer).toString('utf8');
  assert.match(text(connect().cert), /cert-one/);
  assert.match(text(connect().key), new RegExp(keyBody));

  const newKeyBody = secret('key-body-two');
  await replace(files.cert, pem('CERTIFICATE', 'cert-two'));
  await replace(files.key, pem('PRIVATE KEY', newKeyBody));
  const next = connect();
  assert.match(text(next.cert), /cert-two/);
  assert.match(text(next.key), new RegExp(newKeyBody));
  assert.match(text(next.ca), /ca-one/, 'an unchanged file is the one read before');
  assert.equal(redactSecrets(newKeyBody), REDACTED, 'the new key is registered');
  assert.deepEqual(
    lines.map((l) => l['file']),
    [files.cert, files.key],
  );
  assert.ok(!JSON.stringify(lines).includes(newKeyBody));
});

test('only the TLS files that are set become options', async (t) => {
  const { logger } = capture();
  const ca = path.join(await tempDir(t), 'ca.pem');
  await writeFile(ca, 'ca');
  assert.deepEqual(Object.keys(tlsMaterial({ enabled: true, ca }, logger)), ['ca']);
});
