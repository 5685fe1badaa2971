// What every command of the command line shares: the parsed command line it runs with, where it
// writes, and the exit codes it returns. The command line (src/cli.ts, src/cli/) is the only part
// of kafka-mirror that writes to the terminal and exits the process.
import { loadConfigFile, type Config } from '../config/index.ts';
import { UsageError } from '../errors/index.ts';
import { createLogger, type Logger } from '../observability/logger.ts';

/** Exit codes, documented in the README: 0 ok, 1 runtime failure, 2 bad usage or config. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, AUDIT_FAILED: 3 } as const;

/** Where a command writes: the terminal in src/cli.ts, a capture in tests. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The command line, parsed (usage.ts) and checked against what the command takes. */
export interface CommandLine {
  /** The command and the arguments after it (`offsets translate`). */
  readonly positionals: readonly string[];
  readonly values: {
    readonly help?: boolean;
    readonly config?: string;
    readonly url?: string;
    readonly json?: boolean;
    readonly flow?: string;
    readonly topic?: string;
    readonly since?: string;
    readonly group?: string;
    /** Every --group given, in order (drill takes several; the others take `group`, the last one). */
    readonly groups?: readonly string[];
    /** offsets translate: source positions `<topic>:<partition>:<offset>` (repeatable). */
    readonly position?: readonly string[];
    readonly 'positions-file'?: string;
    /** offsets translate --positions-file: where the translated file goes. */
    readonly out?: string;
    /** The daemon's admin server, for the control commands (control.ts). */
    readonly admin?: string;
    readonly 'token-file'?: string;
    readonly partition?: string;
    /** divergence: list the records that never reached the target. */
    readonly list?: boolean;
    /** reconcile: a quarantine topic on the target, the reverse flow, and a dry run. */
    readonly 'to-topic'?: string;
    readonly 'reverse-flow'?: string;
    readonly 'dry-run'?: boolean;
    readonly version?: boolean;
  };
}

/** A command: runs to its exit code, or throws (src/cli/main.ts turns the error into one). */
export type Command = (line: CommandLine, io: Io) => Promise<number>;

/** The config file given with --config, loaded and validated; a usage error without one. */
export async function configOf(line: CommandLine): Promise<Config> {
  const file = line.values.config;
  if (file === undefined) throw new UsageError(`${line.positionals[0] ?? ''} needs --config <file>`);
  return await loadConfigFile(file, process.env);
}

/** A report as JSON (--json) or as the command's text for a terminal. */
export function printReport<T>(io: Io, line: CommandLine, report: T, render: (report: T) => string): void {
  io.out(line.values.json === true ? `${JSON.stringify(report, null, 2)}\n` : render(report));
}

/** The logger of a command other than start: errors only, on stderr, apart from what it prints. */
export function commandLogger(): Logger {
  return createLogger({ level: 'error', destination: process.stderr });
}
