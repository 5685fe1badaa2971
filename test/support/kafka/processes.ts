import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { supportDir } from './paths.ts';

/**
 * Every process the launcher starts (brokers, Toxiproxy) is registered here. They are killed
 * synchronously when this process exits normally, and by the reaper (reaper.ts) when it dies
 * abnormally, so a crashed or SIGKILLed test run leaves no JVM behind.
 */
const live = new Set<ChildProcess>();
let reaper: ChildProcess | undefined;

function ensureReaper(): ChildProcess {
  if (reaper !== undefined) return reaper;
  reaper = spawn(process.execPath, [path.join(supportDir, 'reaper.ts')], {
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  reaper.unref();
  // The pipe must not keep the event loop alive; it exists only to close when we die.
  (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  return reaper;
}

export function track(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  live.add(child);
  ensureReaper().stdin?.write(`+${pid}\n`);
  child.once('exit', () => {
    live.delete(child);
    reaper?.stdin?.write(`-${pid}\n`);
  });
}

/** Resolves with the exit code (or signal) once the process has exited. */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** SIGKILLs every process registered here and waits for them: for a process that must exit now. */
export async function killAllTracked(): Promise<void> {
  await Promise.all([...live].map((child) => killHard(child)));
}

export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGKILL');
  await done;
}
