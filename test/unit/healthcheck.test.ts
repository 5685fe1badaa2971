// The container image's health check (bin/healthcheck.js, the Dockerfile's HEALTHCHECK): it asks
// /healthz where the daemon listens, as the daemon's config file and the environment say, and
// finds that file on the daemon's command line. Against a real daemon's admin server (clusters
// nobody listens on: the admin server answers anyway), then as the image runs it: the script as a
// process on the compiled code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { DEFAULT_CONFIG, daemonConfig, healthcheck, healthzUrl } from '../../bin/healthcheck.js';
import { loadConfigFile, parseConfig } from '../../src/config/index.ts';
import { envName } from '../../src/config/schema.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { freePorts } from '../support/kafka/ports.ts';
import { repoRoot } from '../support/kafka/paths.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-healthcheck-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A config whose clusters nobody listens on, its admin server on `admin`. */
function configOf(cluster: number, admin: object): object {
  return {
    clusters: {
      us: { bootstrapServers: [`127.0.0.1:${cluster}`] },
      eu: { bootstrapServers: [`127.0.0.1:${cluster}`] },
    },
    flows: [{ source: 'us', target: 'eu' }],
    admin,
  };
}

const silent = new Writable({ write: (_chunk, _encoding, done) => done() });

/** A daemon (in this process) with its admin server on 127.0.0.1:`port`. */
async function startDaemon(t: TestContext, cluster: number, port: number): Promise<void> {
  const config = parseConfig(configOf(cluster, { host: '127.0.0.1', port }));
  const daemon = new Daemon(config, createLogger({ level: 'fatal', destination: silent }), {
    metrics: new Metrics(),
  });
  t.after(() => daemon.destroy());
  assert.equal((await daemon.start()).adminPort, port);
}

/** A fake /proc: pid -> [argv, cwd]. */
async function fakeProc(t: TestContext, processes: Record<number, [string[], string?]>): Promise<string> {
  const root = await tempDir(t);
  for (const [pid, [argv, cwd]] of Object.entries(processes)) {
    await mkdir(path.join(root, pid));
    await writeFile(path.join(root, pid, 'cmdline'), argv.map((a) => `${a}\0`).join(''));
    if (cwd !== undefined) await symlink(cwd, path.join(root, pid, 'cwd'));
  }
  await mkdir(path.join(root, 'self')); // not a pid
  return root;
}

test("the daemon's config file, from its command line", async (t) => {
  const start = (...args: string[]) => ['node', 'bin/kafka-mirror.js', 'start', ...args];
  const cases: Array<[Record<number, [string[], string?]>, string | undefined]> = [
    [{ 1: [start('--config', '/etc/kafka-mirror/other.yaml'), '/app'] }, '/etc/kafka-mirror/other.yaml'],
    [{ 1: [start('--config=conf/a.yaml'), '/app'] }, '/app/conf/a.yaml'],
    [{ 1: [start('-c', 'b.yaml'), '/srv'] }, '/srv/b.yaml'],
    // `docker run --init`: the init is PID 1 and names the daemon's command line too; either gives the file.
    [{ 1: [['/sbin/docker-init', '--', ...start('-c', '/x.yaml')]], 7: [start('-c', '/x.yaml')] }, '/x.yaml'],
    // Other verbs and other programs are not the daemon; the lowest pid wins.
    [
      {
        1: [['node', 'bin/kafka-mirror.js', 'validate', '--config', '/v.yaml']],
        9: [start('--config', '/s.yaml')],
      },
      '/s.yaml',
    ],
    [{ 1: [['sleep', 'infinity']], 2: [['node', '/app/bin/healthcheck.js']] }, undefined],
    [{ 3: [start('--config', '/late.yaml')], 20: [start('--config', '/later.yaml')] }, '/late.yaml'],
  ];
  for (const [processes, expected] of cases)
    assert.equal(daemonConfig(await fakeProc(t, processes)), expected, JSON.stringify(processes));
  assert.equal(daemonConfig('/nonexistent-proc'), undefined);
});

test('the URL asked: loopback for a wildcard bind, else the bound address', () => {
  assert.deepEqual(healthzUrl({ host: '0.0.0.0', port: 9464 }), { url: 'http://127.0.0.1:9464/healthz' });
  assert.deepEqual(healthzUrl({ host: '::', port: 9000 }), { url: 'http://127.0.0.1:9000/healthz' });
  assert.deepEqual(healthzUrl({ host: '10.1.2.3', port: 9464 }), { url: 'http://10.1.2.3:9464/healthz' });
  assert.deepEqual(healthzUrl({ host: '::1', port: 9464 }), { url: 'http://[::1]:9464/healthz' });
  assert.match((healthzUrl({ host: '0.0.0.0', port: 0 }) as { problem: string }).problem, /admin\.port is 0/);
});

test("healthy exactly when the daemon answers at the config's admin port, environment override included", async (t) => {
  const [cluster, port, other] = (await freePorts(3)) as [number, number, number];
  await startDaemon(t, cluster, port);
  const dir = await tempDir(t);
  const at = async (name: string, admin: object) => {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(configOf(cluster, admin)));
    return file;
  };
  const load = loadConfigFile;
  const env = {};

  const right = await at('right.json', { port });
  assert.deepEqual(await healthcheck({ args: ['--config', right], env, load }), {
    healthy: true,
    message: `http://127.0.0.1:${port}/healthz answered 200`,
  });

  const wrong = await at('wrong.json', { host: '127.0.0.1', port: other });
  const refused = await healthcheck({ args: ['--config', wrong], env, load });
  assert.equal(refused.healthy, false);
  assert.match(
    refused.message,
    new RegExp(`^no answer from http://127\\.0\\.0\\.1:${other}/healthz: .*ECONNREFUSED`),
  );

  // The environment wins over the file, for the daemon (its config loader) and so for the check.
  const overridden = { [envName('admin.port')]: String(port) };
  assert.equal((await healthcheck({ args: ['--config', wrong], env: overridden, load })).healthy, true);

  // No --config: the file on the daemon's command line.
  const proc = await fakeProc(t, { 1: [['node', 'bin/kafka-mirror.js', 'start', '--config', right]] });
  assert.equal((await healthcheck({ env, procRoot: proc, load })).healthy, true);
  const elsewhere = await fakeProc(t, { 1: [['node', 'bin/kafka-mirror.js', 'start', '--config', wrong]] });
  assert.equal((await healthcheck({ env, procRoot: elsewhere, load })).healthy, false);
});

test('unhealthy, saying why, when there is no address to ask', async (t) => {
  const dir = await tempDir(t);
  const load = loadConfigFile;
  const [cluster] = (await freePorts(1)) as [number];
  const zero = path.join(dir, 'zero.json');
  await writeFile(zero, JSON.stringify(configOf(cluster, { port: 0 })));
  assert.deepEqual(await healthcheck({ args: ['-c', zero], env: {}, load }), {
    healthy: false,
    message: `${zero}: admin.port is 0 (a port picked at start): set a port for the health check to find`,
  });
  // Neither --config nor a daemon: the image's default file, here absent.
  const none = await fakeProc(t, {});
  const missing = await healthcheck({ env: {}, procRoot: none, load });
  assert.equal(missing.healthy, false);
  assert.ok(
    missing.message.startsWith(`cannot read the admin address from ${DEFAULT_CONFIG}: `),
    missing.message,
  );
  assert.match(missing.message, /KM_CONFIG|cannot read the file/);
});

// As the image runs it: `node /app/bin/healthcheck.js` on the compiled code (npm test builds dist/
// before the unit tests; CI must not skip this).
const compiled = existsSync(path.join(repoRoot, 'dist/config/index.js'));
const skip = !compiled && process.env['CI'] !== 'true' ? 'dist/ not built (npm run build)' : false;

test(
  'the script as a process: exit 0 and one line when healthy, exit 1 and the reason when not',
  { skip },
  async (t) => {
    const [cluster, port, other] = (await freePorts(3)) as [number, number, number];
    await startDaemon(t, cluster, port);
    const dir = await tempDir(t);
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(configOf(cluster, { port })));
    // Asynchronously: the daemon answering the check runs in this process.
    const run = (env: NodeJS.ProcessEnv) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const script = path.join(repoRoot, 'bin/healthcheck.js');
        execFile(
          process.execPath,
          [script, '--config', file],
          { env: { PATH: process.env['PATH'], ...env } },
          (error, stdout, stderr) =>
            resolve({ status: error === null ? 0 : (error.code as number), stdout, stderr }),
        );
      });
    const healthy = await run({});
    assert.deepEqual(healthy, {
      status: 0,
      stdout: `healthy: http://127.0.0.1:${port}/healthz answered 200\n`,
      stderr: '',
    });
    const unhealthy = await run({ [envName('admin.port')]: String(other) });
    assert.equal(unhealthy.status, 1);
    assert.match(
      unhealthy.stderr,
      new RegExp(`^unhealthy: no answer from http://127\\.0\\.0\\.1:${other}/healthz: `),
    );
  },
);
