// `kafka-mirror offsets translate | failover`: a consumer group's committed source offsets on the
// target (src/offsets/translate.ts), and their one-time commit there (src/offsets/group-sync.ts).
import { UsageError } from '../errors/index.ts';
import { failover, type GroupSyncResult } from '../offsets/group-sync.ts';
import { translateOffsets, type TranslationReport } from '../offsets/translate.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** translate: exit 0. failover: exit 1 while a partition is pending (the flow has not copied it yet). */
export async function offsets(line: CommandLine, io: Io): Promise<number> {
  const sub = line.positionals[1];
  if (sub !== 'translate' && sub !== 'failover')
    throw new UsageError(`offsets needs a subcommand: translate or failover (got ${sub ?? 'none'})`);
  const { config: file, flow, group } = line.values;
  if (file === undefined || flow === undefined || group === undefined)
    throw new UsageError(`offsets ${sub} needs --config <file> --flow <name> --group <group>`);
  const config = await configOf(line);
  if (sub === 'translate') {
    const report = await translateOffsets(config, commandLogger(), { flow, group });
    printReport(io, line, report, renderTranslation);
    return ExitCode.OK;
  }
  const result = await failover(config, commandLogger(), { flow, group });
  printReport(io, line, result, renderFailover);
  return result.partitions.some((p) => p.status === 'pending') ? ExitCode.FAILURE : ExitCode.OK;
}

function renderTranslation(report: TranslationReport): string {
  const rows = report.partitions.map((p) => [
    p.topic,
    String(p.partition),
    p.remoteTopic,
    p.sourceOffset === null ? '-' : String(p.sourceOffset),
    p.targetOffset === null ? '-' : String(p.targetOffset),
    p.status + (p.skipped > 0 ? ` (${p.skipped} skipped)` : ''),
    String(p.behind),
  ]);
  const header = ['topic', 'partition', 'target topic', 'source offset', 'target offset', 'status', 'behind'];
  return `flow ${report.flow}, group ${report.group}\n${table([header, ...rows]).join('\n')}\n`;
}

function renderFailover(result: GroupSyncResult): string {
  const moved = new Map(result.committed.map((c) => [`${c.topic}/${c.partition}`, c]));
  const rows = result.partitions.map((p) => {
    const commit = moved.get(`${p.remoteTopic}/${p.partition}`);
    return [
      p.remoteTopic,
      String(p.partition),
      p.targetOffset === null ? '-' : String(p.targetOffset),
      commit === undefined
        ? p.targetOffset === null
          ? p.status
          : 'kept'
        : `committed (was ${commit.previous ?? 'none'})`,
    ];
  });
  const pending = result.partitions.filter((p) => p.status === 'pending').length;
  const header = ['target topic', 'partition', 'target offset', 'action'];
  return `group ${result.group}: ${result.outcome}\n${table([header, ...rows]).join('\n')}\n${
    pending > 0
      ? `${pending} partition(s) pending: the flow has not copied what the group consumed; run again\n`
      : ''
  }`;
}
