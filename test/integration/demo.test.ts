// `npm run demo` stops the way the README says: by itself after DEMO_SECONDS, on a Ctrl-C (sent
// here as a terminal sends it, SIGINT to the whole process group) after printing the final counts,
// and at once on a second Ctrl-C, leaving no broker or daemon behind in every case.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { accepts } from '../support/kafka/ports.ts';

const demoScript = path.join(import.meta.dirname, '../support/demo.ts');

interface Demo {
  readonly child: ChildProcess;
  output(): string;
  /** Waits until the output matches, or fails with the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code, or undefined if it has not exited within `ms`. */
  exit(ms: number): Promise<number | string | null | undefined>;
}

function startDemo(t: TestContext, env: NodeJS.ProcessEnv): Demo {
  // Its own process group, like a terminal's foreground job.
  const child = spawn(process.execPath, [demoScript], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string | null);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
  });
  return {
    child,
    output: () => output,
    async waitFor(pattern, timeoutMs = 240_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(output);
        if (match !== null) return match;
        assert.ok(child.exitCode === null, `the demo exited before printing ${String(pattern)}:\n${output}`);
        assert.ok(Date.now() < deadline, `no ${String(pattern)} in the demo's output:\n${output}`);
        await sleep(100);
      }
    },
    exit: (ms) => Promise.race([exited, sleep(ms, undefined)]),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The clusters' addresses and the daemon's pid, as the demo printed them. */
async function started(demo: Demo): Promise<{ brokers: string[]; daemonPid: number }> {
  const [, us = '', asia = ''] = await demo.waitFor(/clusters up: us (\S+)\s+asia (\S+)/);
  const [, pid = ''] = await demo.waitFor(/daemon started \(pid (\d+)\)/);
  return { brokers: [...us.split(','), ...asia.split(',')], daemonPid: Number(pid) };
}

/** A progress row with records replicated: `  4s   20275   20275   8531   0`. */
const replicatingRow = /^\s+\d+s\s+\d+\s+[1-9]\d*\s/m;

async function assertNothingLeft(what: { brokers: string[]; daemonPid: number }, output: string) {
  for (const broker of what.brokers)
    assert.equal(await accepts(broker), false, `broker ${broker} still accepts connections:\n${output}`);
  assert.equal(isAlive(what.daemonPid), false, `daemon ${what.daemonPid} still runs:\n${output}`);
}

// Generous bounds for a loaded machine: drain budget (30 s) + closing (5 s) + a margin.
const EXIT_BOUND_MS = 60_000;

describe('npm run demo', { timeout: 600_000 }, () => {
  test('DEMO_SECONDS stops it by itself with the final counts and exit code 0', async (t) => {
    const demo = startDemo(t, { DEMO_SECONDS: '6', DEMO_RATE: '2000' });
    const what = await started(demo);
    const code = await demo.exit(240_000);
    assert.equal(code, 0, demo.output());
    assert.match(demo.output(), /DEMO_SECONDS\) are up: stopping/);
    assert.match(
      demo.output(),
      /drained and exited with 0 in [\d.]+ s; produced [1-9]\d* on us, replicated [1-9]\d* to asia/,
    );
    await assertNothingLeft(what, demo.output());
  });

  test('Ctrl-C (SIGINT to the process group) drains, prints the final counts, removes everything', async (t) => {
    const demo = startDemo(t, {});
    const what = await started(demo);
    await demo.waitFor(replicatingRow);
    process.kill(-(demo.child.pid ?? 0), 'SIGINT');
    const code = await demo.exit(EXIT_BOUND_MS);
    assert.equal(code, 0, `exit ${String(code)}:\n${demo.output()}`);
    assert.match(
      demo.output(),
      /drained and exited with 0 in [\d.]+ s; produced [1-9]\d* on us, replicated [1-9]\d* to asia/,
    );
    assert.match(demo.output(), /clusters stopped and removed/);
    await assertNothingLeft(what, demo.output());
  });

  test('a second Ctrl-C stops at once, even with the daemon stuck, and still removes the clusters', async (t) => {
    const demo = startDemo(t, {});
    const what = await started(demo);
    await demo.waitFor(replicatingRow);
    // A daemon that cannot drain: the first Ctrl-C would wait its full shutdown budget.
    process.kill(what.daemonPid, 'SIGSTOP');
    t.after(() => {
      if (isAlive(what.daemonPid)) process.kill(what.daemonPid, 'SIGKILL');
    });
    process.kill(-(demo.child.pid ?? 0), 'SIGINT');
    await demo.waitFor(/Ctrl-C again to stop at once/);
    await sleep(1000); // a person's second press, not the same Ctrl-C delivered twice
    process.kill(-(demo.child.pid ?? 0), 'SIGINT');
    const code = await demo.exit(EXIT_BOUND_MS);
    assert.equal(code, 130, `exit ${String(code)}:\n${demo.output()}`);
    assert.match(demo.output(), /stopping at once/);
    assert.match(demo.output(), /final: produced [1-9]\d* on us/);
    await assertNothingLeft(what, demo.output());
  });

  test('a daemon that replicates nothing makes the demo exit non-zero, with its log', async (t) => {
    // The daemon refuses this setting at start (exit 2), so nothing is replicated.
    const demo = startDemo(t, { DEMO_SECONDS: '30', KAFKA_MIRROR_LOG_LEVEL: 'loud' });
    const what = await started(demo);
    const code = await demo.exit(EXIT_BOUND_MS);
    assert.equal(code, 1, `exit ${String(code)}:\n${demo.output()}`);
    assert.match(demo.output(), /the daemon had exited by itself with 2/);
    assert.match(demo.output(), /nothing was replicated/);
    assert.match(demo.output(), /KAFKA_MIRROR_LOG_LEVEL/, 'the daemon log tail names the cause');
    await assertNothingLeft(what, demo.output());
  });
});
