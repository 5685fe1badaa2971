// One fetch at a time of what the launcher downloads into the shared cache (Kafka jars through
// Maven, toxiproxy-server through `go install`): the demo starts two clusters in one process, and
// a test run and the demo, or two test runs, may start at once on an empty cache. Maven 3.8 does
// not lock its local repository across processes, and two copies into one folder corrupt it
// (issue 20: `Failed to copy full contents`).
//
// In one process, callers share one promise per key (`singleFlight`). Across processes, a lock
// file created with O_EXCL holds the owner's pid (`withFileLock`); waiters poll it and break it
// when that pid is dead, so a crashed or SIGKILLed fetch does not block later runs. Breaking goes
// through a second, short-lived O_EXCL file, so two waiters that both find the same dead owner
// cannot delete a lock that a third process took in between. Limits: pids are local (one machine,
// not a cache on a network file system); a dead owner's pid reused by another process makes
// waiters wait until `WAIT_LIMIT_MS`, then fail naming the lock file.
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 250;
/** A lock file without a pid yet is being written; one this old was left by a process that died in between. */
const UNWRITTEN_STALE_MS = 10_000;
const WAIT_LIMIT_MS = 15 * 60_000;

const flights = new Map<string, Promise<unknown>>();

/** Runs `fn` once for all concurrent callers with the same key; a later call after it settled runs it again. */
export function singleFlight<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const running = flights.get(key);
  if (running !== undefined) return running as Promise<T>;
  const flight = fn().finally(() => flights.delete(key));
  flights.set(key, flight);
  return flight;
}

/** Lock files this process holds, with their contents, removed if it exits while holding them. */
const held = new Map<string, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() during a fetch (a second Ctrl-C in the demo): free the lock now rather than
  // leaving the next run to find our pid dead.
  process.once('exit', () => {
    for (const [file, token] of held) {
      try {
        if (readFileSync(file, 'utf8') === token) unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Runs `fn` holding `lockFile` (created with O_EXCL, holding this pid). Waits while another live
 * process holds it, telling stderr once what it waits for (`what`).
 */
export async function withFileLock<T>(lockFile: string, what: string, fn: () => Promise<T>): Promise<T> {
  const token = `${process.pid} ${randomBytes(6).toString('hex')}\n`;
  await acquire(lockFile, token, what);
  held.set(lockFile, token);
  installExitHook();
  try {
    return await fn();
  } finally {
    held.delete(lockFile);
    // Only our own lock: never one a waiter took after wrongly judging us dead.
    if ((await readFile(lockFile, 'utf8').catch(() => undefined)) === token)
      await unlink(lockFile).catch(() => {});
  }
}

async function acquire(lockFile: string, token: string, what: string): Promise<void> {
  const started = Date.now();
  let told = false;
  for (;;) {
    if (await createExclusive(lockFile, token)) return;
    const seen = await readFile(lockFile, 'utf8').catch(() => undefined);
    if (seen === undefined) continue; // released between our attempt and the read
    const pid = Number.parseInt(seen, 10);
    const stale =
      Number.isInteger(pid) && pid > 0 ? !isAlive(pid) : await olderThan(lockFile, UNWRITTEN_STALE_MS);
    if (stale) {
      await breakLock(lockFile, seen);
      continue;
    }
    if (Date.now() - started > WAIT_LIMIT_MS) {
      throw new Error(
        `gave up waiting for ${lockFile} after ${WAIT_LIMIT_MS / 60_000} min: process ${pid} still holds it; ` +
          'delete the file if no fetch is running',
      );
    }
    if (!told) {
      process.stderr.write(
        `launcher: waiting for ${Number.isInteger(pid) ? `process ${pid}` : 'another process'} to finish ${what} (${lockFile})\n`,
      );
      told = true;
    }
    await sleep(POLL_MS);
  }
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes `lockFile` if it still holds what we judged stale. The guard file makes check-and-remove
 * one step among breakers: between our read and our unlink nobody else can remove the stale file
 * (its owner is dead, other breakers wait for the guard), so we never remove a fresh lock.
 */
async function breakLock(lockFile: string, stale: string): Promise<void> {
  const guard = `${lockFile}.break`;
  if (!(await createExclusive(guard, `${process.pid}\n`))) {
    // A breaker holds the guard for microseconds; one this old died holding it.
    if (await olderThan(guard, UNWRITTEN_STALE_MS)) await unlink(guard).catch(() => {});
    else await sleep(POLL_MS);
    return;
  }
  try {
    if ((await readFile(lockFile, 'utf8').catch(() => undefined)) === stale) {
      await unlink(lockFile).catch(() => {});
      process.stderr.write(
        `launcher: removed ${lockFile}, left by a process that no longer runs (${stale.trim() || 'no pid written'})\n`,
      );
    }
  } finally {
    await unlink(guard).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > ms;
}
