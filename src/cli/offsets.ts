// `kafka-mirror offsets translate | failover`: a consumer group's committed source offsets (or any
// source positions, positions.ts) on the target (src/offsets/translate.ts), and a group's one-time
// commit there (src/offsets/group-sync.ts).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { UsageError } from '../errors/index.ts';
import { failover, type GroupSyncResult } from '../offsets/group-sync.ts';
import {
  parsePosition,
  parsePositionsDocument,
  translatePositions,
  type PositionsReport,
  type SourcePosition,
} from '../offsets/positions.ts';
import { translateOffsets, type PartitionTranslation, type TranslationReport } from '../offsets/translate.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

const TRANSLATE_USAGE =
  'offsets translate needs --config <file> --flow <name> and exactly one of --group <group>, --position <topic>:<partition>:<offset> (repeatable), --positions-file <file>';

/** translate: exit 0. failover: exit 1 while a partition is pending (the flow has not copied it yet). */
export async function offsets(line: CommandLine, io: Io): Promise<number> {
  const sub = line.positionals[1];
  if (sub !== 'translate' && sub !== 'failover')
    throw new UsageError(`offsets needs a subcommand: translate or failover (got ${sub ?? 'none'})`);
  if (sub === 'translate') return await translate(line, io);
  const { config: file, flow, group } = line.values;
  if (file === undefined || flow === undefined || group === undefined)
    throw new UsageError('offsets failover needs --config <file> --flow <name> --group <group>');
  for (const option of ['position', 'positions-file', 'out'] as const) {
    if (line.values[option] !== undefined)
      throw new UsageError(`offsets failover takes no --${option}: it moves a consumer group (--group)`);
  }
  const config = await configOf(line);
  const result = await failover(config, commandLogger(), { flow, group });
  printReport(io, line, result, renderFailover);
  return result.partitions.some((p) => p.status === 'pending') ? ExitCode.FAILURE : ExitCode.OK;
}

/** `offsets translate` with --group, --position or --positions-file: reads only, exit 0. */
async function translate(line: CommandLine, io: Io): Promise<number> {
  const { config: file, flow, group, position, out } = line.values;
  const positionsFile = line.values['positions-file'];
  const given = [group, position, positionsFile].filter((v) => v !== undefined).length;
  if (file === undefined || flow === undefined || given !== 1) throw new UsageError(TRANSLATE_USAGE);
  if (out !== undefined && positionsFile === undefined)
    throw new UsageError('offsets translate takes --out <file> only with --positions-file <file>');
  // Every position is checked before any cluster is asked.
  const positions =
    position?.map(parsePosition) ??
    (positionsFile === undefined ? undefined : await readPositions(positionsFile));
  const config = await configOf(line);
  if (group !== undefined) {
    const report = await translateOffsets(config, commandLogger(), { flow, group });
    printReport(io, line, report, renderTranslation);
    return ExitCode.OK;
  }
  const report = await translatePositions(config, commandLogger(), { flow, positions: positions ?? [] });
  if (positionsFile === undefined) {
    printReport(io, line, report, renderPositions);
    return ExitCode.OK;
  }
  const written = out ?? translatedFileOf(positionsFile);
  await writeAtomically(written, `${JSON.stringify(report, null, 2)}\n`);
  printReport(io, line, report, (r) => renderWritten(r, written));
  return ExitCode.OK;
}

async function readPositions(file: string): Promise<SourcePosition[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --positions-file ${file}: ${(error as Error).message}`);
  }
  return parsePositionsDocument(text, file);
}

/** Where the translated file goes without --out: `in.json` -> `in.translated.json`, next to it. */
export function translatedFileOf(file: string): string {
  return file.endsWith('.json')
    ? `${file.slice(0, -'.json'.length)}.translated.json`
    : `${file}.translated.json`;
}

/** Written whole or not at all: a reader never sees half a file (a temporary file, then a rename). */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

function translationRows(partitions: readonly PartitionTranslation[]): string[] {
  const rows = partitions.map((p) => [
    p.topic,
    String(p.partition),
    p.remoteTopic,
    p.sourceOffset === null ? '-' : String(p.sourceOffset),
    p.targetOffset === null ? '-' : String(p.targetOffset),
    p.status + (p.skipped > 0 ? ` (${p.skipped} skipped)` : ''),
    String(p.behind),
  ]);
  const header = ['topic', 'partition', 'target topic', 'source offset', 'target offset', 'status', 'behind'];
  return table([header, ...rows]);
}

function renderTranslation(report: TranslationReport): string {
  return `flow ${report.flow}, group ${report.group}\n${translationRows(report.partitions).join('\n')}\n`;
}

function renderPositions(report: PositionsReport): string {
  return `flow ${report.flow}, ${report.positions.length} position(s)\n${translationRows(report.positions).join('\n')}\n`;
}

/** A file may hold thousands of positions: the text says where they went and how many have each status. */
function renderWritten(report: PositionsReport, file: string): string {
  const counts = new Map<string, number>();
  for (const p of report.positions) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  const statuses = [...counts].map(([status, n]) => `${status} ${n}`).join(', ');
  return `flow ${report.flow}: ${report.positions.length} position(s) translated, written to ${file}\n${statuses}\n`;
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
