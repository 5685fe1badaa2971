// Runs the kafka-mirror daemon as a child process (`node src/cli.ts start`), the way operators
// run it, so tests can SIGTERM and SIGKILL it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { repoRoot } from './kafka/paths.ts';

const packageConfig = (
  JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    config: { nodeOptions: string; nodeFlags: string };
  }
).config;

/** The V8 flags the daemon runs with in production (package.json config.nodeOptions, also set in the Dockerfile). */
export const productionNodeOptions = packageConfig.nodeOptions;

/**
 * The V8 flags Node takes only on its command line, before the script (package.json
 * config.nodeFlags, the Dockerfile's ENTRYPOINT): the daemon's production heap flags are these and
 * productionEnv's NODE_OPTIONS.
 */
export const productionNodeFlags: readonly string[] = packageConfig.nodeFlags.split(' ').filter(Boolean);

/**
 * The environment of the container image (Dockerfile): production V8 heap flags, glibc limited to
 * two malloc arenas (one per thread otherwise, each holding freed memory), and large buffers mapped
 * and unmapped rather than fragmenting the heap.
 */
export const productionEnv = {
  NODE_OPTIONS: productionNodeOptions,
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
} as const;

export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Parsed JSON log lines so far. */
  readonly logs: Array<Record<string, unknown>>;
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Everything the daemon wrote to stdout and stderr so far. */
  output(): string;
  /** Base URL of the daemon's admin server (`http://127.0.0.1:<port>`), once it listens. */
  adminUrl(): Promise<string>;
  /** The config file the daemon was started with. */
  readonly configFile: string;
  /** Writes a new config to that file (admin server and log level as at start); SIGHUP reloads it. */
  rewriteConfig(config: object): Promise<void>;
  /** Sends the signal and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

export async function startDaemon(
  t: TestContext,
  config: object,
  /** `warnings`: Node's process warnings on stderr, as in the container image (hidden by default). */
  options: { nodeOptions?: string; warnings?: boolean } = {},
): Promise<DaemonProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-daemon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  const write = (next: object) =>
    writeFile(
      file,
      JSON.stringify({
        log: { level: process.env['DAEMON_LOG_LEVEL'] ?? 'info' },
        ...next,
        // Loopback and a free port, whatever else the test sets for the admin server.
        admin: { ...(next as { admin?: object }).admin, host: '127.0.0.1', port: 0 },
      }),
    );
  await write(config);
  // The package's own entry point on the compiled code (npm test builds it first): what ships.
  const child = spawn(
    process.execPath,
    [...productionNodeFlags, path.join(repoRoot, 'bin/kafka-mirror.js'), 'start', '--config', file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // As in the container image (productionEnv).
      env: {
        ...process.env,
        NODE_NO_WARNINGS: options.warnings === true ? undefined : '1',
        ...productionEnv,
        NODE_OPTIONS: options.nodeOptions ?? productionNodeOptions,
      },
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? (signal as string));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if ((t as { passed?: boolean }).passed !== true) {
      process.stderr.write(
        `daemon log tail:\n${logs
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n')}\n${stderr}\n`,
      );
    }
  });
  const daemon: DaemonProcess = {
    child,
    logs,
    configFile: file,
    rewriteConfig: write,
    output: () => stdout + stderr,
    async adminUrl() {
      const line = await daemon.waitForLog((l) => l['msg'] === 'admin server listening', 30_000);
      return `http://127.0.0.1:${String(line['port'])}`;
    },
    async waitForLog(predicate, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = 0; Date.now() < deadline; await sleep(50)) {
        for (; seen < logs.length; seen++) {
          const line = logs[seen] as Record<string, unknown>;
          if (predicate(line)) return line;
        }
        if (child.exitCode !== null || child.signalCode !== null) break;
      }
      throw new Error(
        `daemon log line not seen (exit ${String(child.exitCode ?? child.signalCode)}); stderr: ${stderr.slice(-2000)}`,
      );
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      child.kill(signal);
      return exited;
    },
  };
  return daemon;
}

/** Config for one flow `source -> target` between two launcher clusters. */
export function flowConfig(
  source: { bootstrapServers: readonly string[] },
  target: { bootstrapServers: readonly string[] },
  flow: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): object {
  return {
    clusters: {
      src: { bootstrapServers: [...source.bootstrapServers] },
      dst: { bootstrapServers: [...target.bootstrapServers] },
    },
    flows: [{ source: 'src', target: 'dst', commitIntervalMs: 1000, refreshIntervalMs: 2000, ...flow }],
    ...extra,
  };
}

/** Runs a one-shot command of the built CLI (`validate`, `plan`, ...) and collects its output. */
export async function runCli(
  args: readonly string[],
  /** `timeoutMs`: killed (SIGKILL, code null) if it has not exited by then: a command that hangs. */
  options: { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/kafka-mirror.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Writes a config object to a temporary JSON file removed after the test. */
export async function configFile(t: TestContext, config: object): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}
