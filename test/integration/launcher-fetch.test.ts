// The launcher's first use, on an empty cache, with several launchers at once: the way `npm run
// demo` starts (two clusters in one process) and the way two test runs or a test run and the
// demo overlap (two processes). Every launcher must come up on complete jars and a complete
// toxiproxy-server, fetched once, and a fetch killed halfway must leave nothing a later run trusts.
//
// What this covers: the real fetch, from Maven Central (Kafka jars, about 80 MB, a few seconds on
// a fast link) and `go install` (toxiproxy-server, from Go's module and build caches when they
// are warm), into a private KAFKA_MIRROR_CACHE_DIR per test. `mvn` and `go` on PATH are wrapped
// by shims that only record each call before running the real tool, so the test can count
// resolutions; the interrupted case's shim also deletes half of the copied jars and hangs, to be
// killed there as a Ctrl-C or a crash would. What it does not cover: two machines sharing one
// cache over a network file system (the lock is a local O_EXCL file holding a pid).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { singleFlight, withFileLock } from '../support/kafka/fetch-lock.ts';
import { kafkaVersionFromEnv } from '../support/kafka/index.ts';

const fixture = path.join(import.meta.dirname, '../support/fixtures/launchers-at-once.ts');
const version = kafkaVersionFromEnv();

interface Sandbox {
  readonly cache: string;
  readonly shimLog: string;
  readonly env: NodeJS.ProcessEnv;
}

function which(command: string): string {
  return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
}

/** An empty cache and a PATH whose `mvn` and `go` record every call in a log, then run the real tool. */
async function sandbox(t: TestContext): Promise<Sandbox> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-fetch-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const shims = path.join(root, 'shims');
  const shimLog = path.join(root, 'calls.log');
  await mkdir(shims);
  const mvn = `#!/bin/sh
echo "mvn $$ $*" >> "${shimLog}"
case "$SHIM_INTERRUPT_COPY $*" in 1*copy-dependencies*) ;; *) exec "${which('mvn')}" "$@" ;; esac
"${which('mvn')}" "$@" || exit $?
# A copy cut short: half of the jars in the output directory, then killed while it hangs.
for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="\${arg#-DoutputDirectory=}" ;; esac; done
ls "$out"/*.jar | awk 'NR % 2 == 0' | xargs rm -f
echo "interrupted $$" >> "${shimLog}"
exec sleep 600
`;
  const go = `#!/bin/sh
echo "go $$ $*" >> "${shimLog}"
exec "${which('go')}" "$@"
`;
  await writeFile(path.join(shims, 'mvn'), mvn);
  await writeFile(path.join(shims, 'go'), go);
  await chmod(path.join(shims, 'mvn'), 0o755);
  await chmod(path.join(shims, 'go'), 0o755);
  const cache = path.join(root, 'cache');
  return {
    cache,
    shimLog,
    env: {
      ...process.env,
      KAFKA_MIRROR_CACHE_DIR: cache,
      KAFKA_MIRROR_TEST_BACKEND: 'jvm',
      PATH: `${shims}${path.delimiter}${process.env['PATH'] ?? ''}`,
    },
  };
}

interface FixtureRun {
  readonly code: number | null;
  readonly clusters: Array<{ name: string; version: string; bootstrapServers: string[] }>;
  readonly output: string;
}

function startFixture(box: Sandbox, launchers: number, label: string, extraEnv: NodeJS.ProcessEnv = {}) {
  // Its own process group, so the interrupted case can kill it with everything it started.
  const child = spawn(process.execPath, [fixture, String(launchers), label], {
    env: { ...box.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const done = once(child, 'exit').then(([code]): FixtureRun => ({
    code: code as number | null,
    output,
    clusters: stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as FixtureRun['clusters'][number]),
  }));
  return { child, done };
}

async function calls(box: Sandbox): Promise<{ resolutions: number; builds: number }> {
  const lines = (await readFile(box.shimLog, 'utf8').catch(() => '')).split('\n');
  return {
    resolutions: lines.filter((l) => l.startsWith('mvn ') && l.includes('copy-dependencies')).length,
    builds: lines.filter((l) => l.startsWith('go ') && / install /.test(l)).length,
  };
}

function assertUp(run: FixtureRun, launchers: number): void {
  assert.equal(run.code, 0, `fixture exited with ${String(run.code)}:\n${run.output}`);
  assert.equal(run.clusters.length, launchers, run.output);
  for (const cluster of run.clusters) assert.equal(cluster.version, version);
}

/** Only finished artefacts: no lock, no staging folder, no half-built binary. */
async function assertOnlyFinished(box: Sandbox): Promise<void> {
  assert.deepEqual((await readdir(box.cache)).sort(), ['bin', 'kafka', 'm2', 'runs']);
  assert.deepEqual(await readdir(path.join(box.cache, 'kafka')), [version]);
  assert.deepEqual((await readdir(path.join(box.cache, 'kafka', version))).sort(), ['complete', 'libs']);
  assert.deepEqual(await readdir(path.join(box.cache, 'bin')), ['toxiproxy-server']);
  assert.deepEqual(await readdir(path.join(box.cache, 'runs')), [], 'every cluster was removed');
}

describe('fetch locks', () => {
  const lockFile = async (t: TestContext) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-lock-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    return path.join(dir, 'x.lock');
  };

  test('a lock left by a dead process is broken; the lock is gone after use', async (t) => {
    const file = await lockFile(t);
    const gone = spawn(process.execPath, ['-e', '0']);
    await once(gone, 'exit');
    await writeFile(file, `${gone.pid} 0123abcd\n`);
    const result = await withFileLock(file, 'a test', async () => {
      assert.match(await readFile(file, 'utf8'), new RegExp(`^${process.pid} `));
      return 'ran';
    });
    assert.equal(result, 'ran');
    assert.equal(existsSync(file), false);
  });

  test('a lock held by a live process is waited for, not broken', async (t) => {
    const file = await lockFile(t);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    t.after(() => holder.kill('SIGKILL'));
    await writeFile(file, `${holder.pid} 0123abcd\n`);
    let ran = false;
    const waiting = withFileLock(file, 'a test', async () => {
      ran = true;
    });
    await sleep(1000);
    assert.equal(ran, false, 'ran while a live process held the lock');
    await rm(file);
    await waiting;
    assert.equal(ran, true);
  });

  test('concurrent callers in one process share one run; a later call runs again', async () => {
    let runs = 0;
    const work = async () => {
      runs++;
      await sleep(50);
      return runs;
    };
    const results = await Promise.all([
      singleFlight('k', work),
      singleFlight('k', work),
      singleFlight('k', work),
    ]);
    assert.deepEqual(results, [1, 1, 1]);
    assert.equal(await singleFlight('k', work), 2);
  });
});

describe('the launcher on an empty cache', { timeout: 600_000 }, () => {
  test('three launchers in one process fetch the Kafka jars and build Toxiproxy once', async (t) => {
    const box = await sandbox(t);
    const run = await startFixture(box, 3, 'one').done;
    assertUp(run, 3);
    assert.deepEqual(await calls(box), { resolutions: 1, builds: 1 });
    await assertOnlyFinished(box);
  });

  test('launchers in two processes at once fetch once between them', async (t) => {
    const box = await sandbox(t);
    const [a, b] = await Promise.all([startFixture(box, 2, 'left').done, startFixture(box, 2, 'right').done]);
    assertUp(a, 2);
    assertUp(b, 2);
    assert.deepEqual(await calls(box), { resolutions: 1, builds: 1 });
    await assertOnlyFinished(box);
  });

  test('a fetch killed halfway is not trusted: the next run fetches again and cleans up', async (t) => {
    const box = await sandbox(t);
    const killed = startFixture(box, 1, 'killed', { SHIM_INTERRUPT_COPY: '1' });
    const deadline = Date.now() + 300_000;
    while (!(await readFile(box.shimLog, 'utf8').catch(() => '')).includes('interrupted')) {
      assert.ok(Date.now() < deadline, 'the interrupted copy never happened');
      assert.equal(killed.child.exitCode, null, 'the fixture exited before its copy was interrupted');
      await sleep(200);
    }
    // As a crash or a Ctrl-C would: the launcher, Maven and everything in the group at once.
    process.kill(-(killed.child.pid ?? 0), 'SIGKILL');
    await killed.done;
    // Left behind: the lock, held by a pid that is now dead, and half of the jars in staging.
    assert.equal(existsSync(path.join(box.cache, 'm2.lock')), true);
    const home = await readdir(path.join(box.cache, 'kafka', version));
    assert.ok(
      !home.includes('complete') && home.some((entry) => entry.startsWith('libs.tmp-')),
      String(home),
    );

    const next = await startFixture(box, 1, 'next').done;
    assertUp(next, 1);
    assert.deepEqual(await calls(box), { resolutions: 2, builds: 1 });
    await assertOnlyFinished(box);
  });
});
