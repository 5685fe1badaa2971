// `kafka-mirror pause --flow F` and `kafka-mirror resume --flow F`: hold a flow's fetching in a
// running daemon, and let it go on (POST /control/flows/<flow>/pause|resume).
import type { CommandLine, Io } from './command.ts';
import { control, done, flowOf, flowPath } from './control.ts';

export async function pause(line: CommandLine, io: Io): Promise<number> {
  const flow = flowOf(line);
  const answer = await control(line, flowPath(flow, 'pause'));
  return done(
    io,
    line,
    answer,
    `${flow}: paused (fetching stopped; what was queued is still written and committed)`,
  );
}

export async function resume(line: CommandLine, io: Io): Promise<number> {
  const flow = flowOf(line);
  const answer = await control(line, flowPath(flow, 'resume'));
  return done(io, line, answer, `${flow}: resumed`);
}
