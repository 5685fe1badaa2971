// admin.tls: the admin server speaks HTTPS only, the command line reaches it with the CA the
// config names, and a renewed certificate written over the files is served to new connections
// without a restart.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { adminRequest, adminTargetOf } from '../../../src/cli/admin-client.ts';
import { main } from '../../../src/cli/main.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';
import { AdminServer, type AdminSources } from '../../../src/observability/admin-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createCertificateAuthority, issueServerCertificate } from '../../support/kafka/certificates.ts';

const sources: AdminSources = {
  metrics: async () => ({ contentType: 'text/plain', body: 'kafka_mirror_info 1\n' }),
  readiness: () => ({ ready: true, flows: {} }),
  status: () => ({ ready: true, flows: [] }),
};

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is served. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

test('HTTPS only with admin.tls; the CLI trusts admin.tls.ca; a renewed certificate is served without a restart', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'km-admin-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCertificateAuthority(dir, 'admin');
  const first = await issueServerCertificate(ca, dir, 'first');
  const second = await issueServerCertificate(ca, dir, 'second');
  const cert = path.join(dir, 'admin.pem');
  const key = path.join(dir, 'admin.key');
  await copyFile(first.certFile, cert);
  await copyFile(first.keyFile, key);
  const logged: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void logged.push(line) } as never,
  });
  const server = new AdminServer(sources, logger, undefined, { cert, key, checkIntervalMs: 100 });
  const { port } = await server.listen('127.0.0.1', 0);
  t.after(() => server.destroy());

  const document = {
    clusters: { a: { bootstrapServers: ['a:9092'] }, b: { bootstrapServers: ['b:9092'] } },
    flows: [{ source: 'a', target: 'b' }],
    admin: { host: '127.0.0.1', port, tls: { cert, key, ca: ca.certFile } },
  };
  const text = JSON.stringify(document);
  const config = parseConfig(document);
  const target = adminTargetOf(config.admin);
  assert.equal(target.base, `https://127.0.0.1:${port}`);
  assert.equal((await adminRequest(target, '/healthz', { timeoutMs: 5000 })).status, 200);
  // Plain HTTP gets no answer; HTTPS without the CA is refused by the client.
  await assert.rejects(adminRequest({ base: `http://127.0.0.1:${port}` }, '/healthz', { timeoutMs: 5000 }));
  await assert.rejects(
    adminRequest({ base: target.base }, '/healthz', { timeoutMs: 5000 }),
    /self-signed|unable to verify|certificate/i,
  );

  // `kafka-mirror status --config` takes the scheme and the CA from the config.
  const file = path.join(dir, 'config.json');
  await writeFile(file, text);
  let out = '';
  let err = '';
  const code = await main(['status', '--config', file, '--json'], {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
  });
  assert.equal(code, 0, err);
  assert.deepEqual(JSON.parse(out), { ready: true, flows: [] });

  // Renewal: the second certificate written over the files is served to new connections.
  const caPem = await readFile(ca.certFile, 'utf8');
  const before = await servedFingerprint(port, caPem);
  await copyFile(second.certFile, cert);
  await copyFile(second.keyFile, key);
  let after = before;
  for (let i = 0; i < 100 && after === before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await servedFingerprint(port, caPem);
  }
  assert.notEqual(after, before, 'the renewed certificate is served');
  assert.ok(logged.some((l) => l.includes('admin TLS certificate reloaded')));
  assert.equal((await adminRequest(target, '/healthz', { timeoutMs: 5000 })).status, 200);
});

test('admin.tls needs cert and key together, and ca only with them', () => {
  const base = {
    clusters: { a: { bootstrapServers: ['a:9092'] }, b: { bootstrapServers: ['b:9092'] } },
    flows: [{ source: 'a', target: 'b' }],
  };
  const problems = (tls: Record<string, string>) => {
    try {
      parseConfig({ ...base, admin: { tls } });
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
    assert.fail('accepted');
  };
  assert.ok(problems({ cert: thisFile() }).some((p) => /admin\.tls: cert and key go together/.test(p)));
  assert.ok(problems({ ca: thisFile() }).some((p) => /admin\.tls\.ca: only with/.test(p)));
  assert.ok(
    problems({ cert: '/nonexistent/c.pem', key: '/nonexistent/k.pem' }).some((p) =>
      /admin\.tls\.cert: cannot read/.test(p),
    ),
  );
  assert.equal(parseConfig(base).admin.tls, undefined);
});

/** A readable file that is not a certificate. */
function thisFile(): string {
  return new URL(import.meta.url).pathname;
}
