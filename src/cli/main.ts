// The command line: parses it, answers help, runs the command and turns what it threw into an exit
// code and one line on stderr. Writes only through the Io it is given; src/cli.ts sets the exit code.
import { redactSecrets } from '../config/index.ts';
import { ClusterIdentityError, ConfigError, InvalidPositionError, UsageError } from '../errors/index.ts';
import { ExitCode, type Command, type Io } from './command.ts';
import { divergenceCommand } from './divergence.ts';
import { drill } from './drill.ts';
import { printHelp, version } from './help.ts';
import { logLevel } from './log-level.ts';
import { migrateStatus } from './migrate-status.ts';
import { offsets } from './offsets.ts';
import { pause, resume } from './pause.ts';
import { plan } from './plan.ts';
import { refresh } from './refresh.ts';
import { reconcile } from './reconcile.ts';
import { reload } from './reload.ts';
import { resumePartition } from './resume-partition.ts';
import { start } from './start.ts';
import { status } from './status.ts';
import { parseCommandLine } from './usage.ts';
import { validate } from './validate.ts';
import { verify } from './verify.ts';

const COMMANDS: Record<string, Command> = {
  version,
  status,
  'migrate-status': migrateStatus,
  offsets,
  validate,
  start,
  plan,
  verify,
  pause,
  resume,
  'resume-partition': resumePartition,
  'log-level': logLevel,
  refresh,
  reload,
  drill,
  divergence: divergenceCommand,
  reconcile,
};

/** Runs one command line to its exit code. */
export async function main(argv: readonly string[], given: Io): Promise<number> {
  // Everything a command prints is masked by value (config/secrets.ts): reports, problems, errors.
  const io: Io = {
    out: (text) => given.out(redactSecrets(text)),
    err: (text) => given.err(redactSecrets(text)),
  };
  try {
    const line = parseCommandLine(argv);
    const helped = printHelp(line, io);
    if (helped !== undefined) return helped;
    // Without a command, and without help asked for, the command line was `--version`.
    const [command = 'version'] = line.positionals;
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run === undefined) throw new UsageError(`unknown command "${command}"; run kafka-mirror --help`);
    return await run(line, io);
  } catch (error) {
    io.err(`kafka-mirror: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeOf(error);
  }
}

/** Exit 2 for what the operator wrote wrong (command line, config, positions, two aliases of one cluster), else 1. */
function exitCodeOf(error: unknown): number {
  const usage =
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof InvalidPositionError ||
    error instanceof ClusterIdentityError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  return usage ? ExitCode.USAGE : ExitCode.FAILURE;
}
