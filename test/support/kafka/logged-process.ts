// A process the launcher's users start beside the brokers (Kafka's perf tools, the replicators a
// benchmark compares): output to a log file, registered with the launcher's reaper so it dies with
// this process even when that is SIGKILLed, and its CPU time and peak memory read from /proc while
// it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { exited, terminate, track } from './processes.ts';

/** Kernel clock ticks per second (USER_HZ) for /proc/<pid>/stat; 100 on every Linux port Node runs on. */
const CLOCK_TICKS = 100;

export interface Usage {
  /** Peak resident set (VmHWM), MiB. */
  readonly maxRssMb: number;
  /** User + system CPU time, seconds. */
  readonly cpuSeconds: number;
}

/** Reads VmHWM and utime+stime of a live process; undefined once it has exited. */
export function readUsage(pid: number): Usage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    // Fields after the command name (which may hold spaces, hence the last ')'); utime and stime
    // are fields 14 and 15 of the whole line, 12 and 13 after the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (hwm === null || fields.length < 13) return undefined;
    return {
      maxRssMb: Number(hwm[1]) / 1024,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

export class LoggedProcess {
  readonly label: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly startedAt: number;
  #last: Usage | undefined;
  readonly #sampler: NodeJS.Timeout;
  readonly #exited: Promise<number | NodeJS.Signals | null>;

  private constructor(label: string, logFile: string, child: ChildProcess) {
    this.label = label;
    this.logFile = logFile;
    this.child = child;
    this.startedAt = performance.now();
    this.#exited = exited(child);
    // A process that exits by itself (a perf tool) takes its /proc entry with it: keep the last
    // reading. Its final 250 ms of CPU are missed; the replicators are read explicitly instead.
    this.#sampler = setInterval(() => this.sample(), 250);
    this.#sampler.unref();
    void this.#exited.then(() => clearInterval(this.#sampler));
  }

  /** Starts `command args`, stdout and stderr appended to `logFile`. */
  static start(
    label: string,
    command: string,
    args: readonly string[],
    options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
  ): LoggedProcess {
    const out = openSync(options.logFile, 'a');
    try {
      const child = spawn(command, args, {
        stdio: ['ignore', out, out],
        env: options.env ?? process.env,
        cwd: options.cwd,
      });
      track(child);
      return new LoggedProcess(label, options.logFile, child);
    } finally {
      closeSync(out);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Reads /proc now; returns the last good reading if the process is gone. */
  sample(): Usage | undefined {
    const pid = this.child.pid;
    const now = pid === undefined ? undefined : readUsage(pid);
    if (now !== undefined) this.#last = now;
    return this.#last;
  }

  exited(): Promise<number | NodeJS.Signals | null> {
    return this.#exited;
  }

  /** Waits for a process that ends by itself, killing it after `timeoutMs`. Rejects on a non-zero exit. */
  async finish(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const code = await Promise.race([this.#exited, timedOut]);
    clearTimeout(timer);
    if (code === 'timeout') {
      await this.stop(2000);
      throw new Error(`${this.label} did not finish within ${timeoutMs / 1000} s\n${await this.tail()}`);
    }
    if (code !== 0) throw new Error(`${this.label} exited with ${String(code)}\n${await this.tail()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 5000): Promise<void> {
    clearInterval(this.#sampler);
    await terminate(this.child, graceMs);
  }

  async tail(lines = 30): Promise<string> {
    try {
      const text = await readFile(this.logFile, 'utf8');
      return `--- last lines of ${this.logFile} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
    } catch {
      return `(no log at ${this.logFile})`;
    }
  }
}
