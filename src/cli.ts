// The kafka-mirror command line. The only module that writes to the terminal and exits the process.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import { packageVersion } from './version.ts';

/** Exit codes, documented in the README: 0 ok, 1 runtime failure, 2 bad usage or config. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

const HELP = `kafka-mirror: Kafka cross-cluster replication daemon

Usage: kafka-mirror <command> [options]

Commands:
  version     print the version

Options:
  -h, --help  show this help
`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' } },
    });
    const [command] = positionals;
    if (values.help === true || command === undefined || command === 'help') {
      io.out(HELP);
      return command === undefined && values.help !== true ? ExitCode.USAGE : ExitCode.OK;
    }
    if (command === 'version') {
      io.out(`kafka-mirror ${packageVersion()} (node ${process.versions.node})\n`);
      return ExitCode.OK;
    }
    throw new UsageError(`unknown command "${command}"; run kafka-mirror --help`);
  } catch (error) {
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.err(`kafka-mirror: ${error instanceof Error ? error.message : String(error)}\n`);
    return usage ? ExitCode.USAGE : ExitCode.FAILURE;
  }
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function run(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}

if (import.meta.main) await run();
