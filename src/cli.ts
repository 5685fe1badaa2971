// The kafka-mirror command line. The only module that writes to the terminal and exits the process.
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/index.ts';
import { Daemon, inspectClusters } from './daemon.ts';
import { makePlan, renderPlan } from './replication/plan.ts';
import { ClusterIdentityError, ConfigError, UsageError } from './errors.ts';
import { createLogger } from './observability/logger.ts';
import { packageVersion } from './version.ts';

/** Exit codes, documented in the README: 0 ok, 1 runtime failure, 2 bad usage or config. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

const HELP = `kafka-mirror: Kafka cross-cluster replication daemon

Usage: kafka-mirror <command> [options]

Commands:
  start       run the flows of a config until SIGTERM/SIGINT (graceful drain; a second signal aborts)
  plan        connect (read only) and print what each flow would replicate, loops and conflicts;
              exit 2 on a conflict
  validate    check a config file offline and print what it defines
  version     print the version

Options:
  -c, --config <file>  config file (YAML or JSON), for start and validate
  -h, --help           show this help

Exit codes: 0 ok, 1 runtime failure (shutdown timed out), 2 bad usage, invalid config or a plan conflict.
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
      options: { help: { type: 'boolean', short: 'h' }, config: { type: 'string', short: 'c' } },
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
    if (command === 'validate' || command === 'start' || command === 'plan') {
      if (values.config === undefined) throw new UsageError(`${command} needs --config <file>`);
      const config = await loadConfigFile(values.config, process.env);
      if (command === 'validate') {
        const flows = config.flows.map(
          (f) => `  ${f.name}: ${f.source} -> ${f.target} (group ${f.group}, naming ${f.naming})`,
        );
        io.out(`${values.config}: valid; ${config.flows.length} flow(s)\n${flows.join('\n')}\n`);
        return ExitCode.OK;
      }
      if (command === 'plan') {
        const logger = createLogger({ level: 'error', destination: process.stderr });
        const plan = makePlan(config, (await inspectClusters(config, logger)).topics);
        io.out(renderPlan(plan));
        return plan.conflicts.length > 0 ? ExitCode.USAGE : ExitCode.OK;
      }
      return await start(config);
    }
    throw new UsageError(`unknown command "${command}"; run kafka-mirror --help`);
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof ClusterIdentityError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.err(`kafka-mirror: ${error instanceof Error ? error.message : String(error)}\n`);
    return usage ? ExitCode.USAGE : ExitCode.FAILURE;
  }
}

async function start(config: Awaited<ReturnType<typeof loadConfigFile>>): Promise<number> {
  const logger = createLogger(config.log);
  const daemon = new Daemon(config, logger);
  logger.info({ version: packageVersion(), flows: config.flows.map((f) => f.name) }, 'starting');
  try {
    await daemon.start();
  } catch (error) {
    await daemon.close().catch(() => {});
    throw error;
  }
  const signal = await Promise.race([
    once(process, 'SIGTERM').then(() => 'SIGTERM'),
    once(process, 'SIGINT').then(() => 'SIGINT'),
  ]);
  logger.info({ signal }, 'draining: stopping fetch, flushing the queue, committing');
  // A second signal aborts at once: uncommitted records are replayed on the next start.
  const abort = () => {
    logger.warn('second signal: exiting without draining');
    process.exit(ExitCode.FAILURE);
  };
  process.once('SIGTERM', abort).once('SIGINT', abort);
  try {
    await daemon.close();
    logger.info('stopped cleanly');
    return ExitCode.OK;
  } catch (error) {
    logger.error({ err: error }, 'shutdown incomplete');
    return ExitCode.FAILURE;
  }
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const code = await main(args, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
  // After a daemon run, client sockets and timers that outlive close() must not keep the process alive.
  if (args[0] === 'start') process.exit(code);
}

if (import.meta.main) await run();
