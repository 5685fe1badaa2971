// `kafka-mirror refresh [--flow F]`: a topic sync pass now in a running daemon (new matching topics
// and partitions picked up without waiting for refreshIntervalMs): POST /control/refresh or
// /control/flows/<flow>/refresh.
import type { CommandLine, Io } from './command.ts';
import { control, done, flowPath } from './control.ts';

export async function refresh(line: CommandLine, io: Io): Promise<number> {
  const flow = line.values.flow;
  const answer = await control(line, flow === undefined ? '/control/refresh' : flowPath(flow, 'refresh'));
  const flows = (answer['flows'] as Array<{ flow: string; topics: number }>) ?? [];
  const text = flows.map((f) => `${f.flow}: topics refreshed; ${f.topics} topic(s) replicated`).join('\n');
  return done(io, line, answer, text === '' ? 'no running flow to refresh' : text);
}
