// `kafka-mirror resume-partition --flow F [--topic T --partition P]`: retries halted partitions of a
// running daemon once their cause is fixed, without a restart or a rebalance
// (POST /control/flows/<flow>/resume-partitions).
import { UsageError } from '../errors/index.ts';
import type { CommandLine, Io } from './command.ts';
import { control, done, flowOf, flowPath } from './control.ts';

export async function resumePartition(line: CommandLine, io: Io): Promise<number> {
  const flow = flowOf(line);
  const { topic, partition } = line.values;
  if ((topic === undefined) !== (partition === undefined))
    throw new UsageError(
      'resume-partition takes --topic and --partition together (neither: every halted partition)',
    );
  let body = {};
  if (topic !== undefined) {
    if (!/^\d+$/.test(partition ?? ''))
      throw new UsageError(`--partition "${partition}" is not a partition number`);
    body = { topic, partition: Number(partition) };
  }
  const answer = await control(line, flowPath(flow, 'resume-partitions'), body);
  const resumed =
    (answer['resumed'] as Array<{ topic: string; partition: number; from: number | string }>) ?? [];
  const lines = resumed.map((r) => `  ${r.topic}/${r.partition} from ${fromText(r.from)}`);
  return done(
    io,
    line,
    answer,
    [`${flow}: resumed ${resumed.length} halted partition(s)`, ...lines].join('\n'),
  );
}

function fromText(from: number | string): string {
  if (from === 'target') return 'its position on the target (exactly once)';
  if (from === 'committed') return 'its committed offset';
  return `offset ${from}`;
}
