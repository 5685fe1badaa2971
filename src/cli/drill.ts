// `kafka-mirror drill`: one DR drill of a flow (src/offsets/drill.ts): positions translated as a
// failover would, a sample of target records from each compared with the source. Reads only.
import { UsageError } from '../errors/index.ts';
import { runDrill, type DrillPartition, type DrillReport } from '../offsets/drill.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** Exit 0 when the drill passed, 1 when it failed or found nothing it could compare. */
export async function drill(line: CommandLine, io: Io): Promise<number> {
  const { config: file, flow } = line.values;
  if (file === undefined || flow === undefined)
    throw new UsageError('drill needs --config <file> --flow <name> [--group <group>]...');
  const config = await configOf(line);
  const report = await runDrill(config, commandLogger(), { flow, groups: line.values.groups ?? [] });
  printReport(io, line, report, renderDrill);
  return report.result === 'pass' ? ExitCode.OK : ExitCode.FAILURE;
}

function partitionResult(p: DrillPartition): string {
  if (p.reason === null) return p.result;
  const first = p.mismatches[0];
  const at =
    first === undefined
      ? ''
      : ` at source offset ${first.sourceOffset}${first.targetOffset === null ? '' : ` (target ${first.targetOffset})`}`;
  return `${p.result}: ${p.reason}${at}`;
}

export function renderDrill(report: DrillReport): string {
  const header = [
    'group',
    'topic',
    'partition',
    'source offset',
    'target offset',
    'translation',
    'checked',
    'mismatched',
    'behind',
    'result',
  ];
  const rows = report.partitions.map((p) => [
    p.group ?? '(sample)',
    p.topic,
    String(p.partition),
    p.sourceOffset === null ? '-' : String(p.sourceOffset),
    p.targetOffset === null ? '-' : String(p.targetOffset),
    p.translation,
    String(p.checked),
    String(p.mismatched),
    String(p.behind),
    partitionResult(p),
  ]);
  const groups = report.groups.length === 0 ? 'sample positions' : `group ${report.groups.join(', ')}`;
  return (
    `flow ${report.flow}, ${groups}: ${report.result}\n${table([header, ...rows]).join('\n')}\n` +
    `${report.checked} record(s) compared, ${report.mismatched} mismatched; RPO ${report.rpoRecords} record(s); ` +
    `translation ${report.translationMs} ms, drill ${report.durationMs} ms\n`
  );
}
