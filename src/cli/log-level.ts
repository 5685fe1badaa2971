// `kafka-mirror log-level <level>`: sets a running daemon's log level at once, for every logger
// (POST /control/log-level). Not kept across a restart: log.level is.
import { UsageError } from '../errors/index.ts';
import type { CommandLine, Io } from './command.ts';
import { control, done } from './control.ts';

export async function logLevel(line: CommandLine, io: Io): Promise<number> {
  const level = line.positionals[1];
  if (level === undefined)
    throw new UsageError('log-level needs a level: fatal, error, warn, info, debug, trace or silent');
  const answer = await control(line, '/control/log-level', { level });
  return done(io, line, answer, `log level ${String(answer['level'])} (was ${String(answer['previous'])})`);
}
