// `kafka-mirror validate`: checks a config file offline and prints what it defines.
import { getHeapStatistics } from 'node:v8';
import { configWarnings, type Config } from '../config/index.ts';
import { PRETTY_MISSING, prettyPrinterInstalled } from '../observability/logger.ts';
import { configOf, ExitCode, type CommandLine, type Io } from './command.ts';

/** Prints the flows of a valid config (exit 0), its warnings on stderr; an invalid one is KM_CONFIG. */
export async function validate(line: CommandLine, io: Io): Promise<number> {
  const config = await configOf(line);
  for (const warning of warningsOf(config)) io.err(`kafka-mirror: warning: ${warning}\n`);
  const flows = config.flows.map(
    (f) => `  ${f.name}: ${f.source} -> ${f.target} (group ${f.group}, naming ${f.naming})`,
  );
  io.out(`${line.values.config}: valid; ${config.flows.length} flow(s)\n${flows.join('\n')}\n`);
  return ExitCode.OK;
}

/** Warnings about a valid config in this environment, for `validate` (`start` logs them too). */
function warningsOf(config: Config): string[] {
  const warnings = configWarnings(config, process.env, {
    heapLimitBytes: getHeapStatistics().heap_size_limit,
  });
  if (config.log.pretty && !prettyPrinterInstalled()) warnings.push(PRETTY_MISSING);
  return warnings;
}
