// `kafka-mirror reconcile`: failback reconciliation after a failover (src/offsets/reconcile.ts,
// src/offsets/reverse-start.ts). Copies what the old primary has and the new one lacks, moves the
// flow's group, and with --reverse-flow commits where the reverse flow starts.
import { UsageError } from '../errors/index.ts';
import { runReconcile, type ReconcileReport } from '../offsets/reconcile.ts';
import type { ReverseStartReport } from '../offsets/reverse-start.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** Exit 0 when reconciled (or reported, with --dry-run); errors exit 1 (main.ts). */
export async function reconcile(line: CommandLine, io: Io): Promise<number> {
  const { config: file, flow } = line.values;
  if (file === undefined || flow === undefined)
    throw new UsageError(
      'reconcile needs --config <file> --flow <name> [--to-topic <topic>] [--reverse-flow <name>] [--dry-run]',
    );
  const config = await configOf(line);
  const report = await runReconcile(config, commandLogger(), {
    flow,
    dryRun: line.values['dry-run'] === true,
    ...(line.values['to-topic'] === undefined ? {} : { toTopic: line.values['to-topic'] }),
    ...(line.values['reverse-flow'] === undefined ? {} : { reverseFlow: line.values['reverse-flow'] }),
  });
  printReport(io, line, report, renderReconcile);
  return ExitCode.OK;
}

const range = (first: number | null, last: number | null) =>
  first === null || last === null ? '-' : `${first}-${last}`;
const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function renderReconcile(report: ReconcileReport): string {
  const header = [
    'topic',
    'partition',
    'to',
    'from offset',
    'records',
    'offsets',
    'first time',
    'last time',
    'loop-guarded',
    'group offset',
  ];
  const rows = report.partitions.map((p) => [
    p.topic,
    String(p.partition),
    p.destination,
    String(p.from),
    String(p.records),
    range(p.first, p.last),
    time(p.firstTimestamp),
    time(p.lastTimestamp),
    String(p.loopGuarded),
    p.groupOffset === null ? '-' : String(p.groupOffset),
  ]);
  const verb = report.dryRun ? 'would copy' : 'copied';
  return (
    `flow ${report.flow}${report.dryRun ? ' (dry run: nothing written)' : ''}: ${verb} ${report.records} record(s) ` +
    `(transactional id ${report.transactionalId})\n${table([header, ...rows]).join('\n')}\n` +
    (report.reverse === null ? '' : renderReverse(report.reverse))
  );
}

function renderReverse(reverse: ReverseStartReport): string {
  const header = ['topic', 'partition', 'start', 'committed before', 'action'];
  const rows = reverse.partitions.map((p) => [
    p.topic,
    String(p.partition),
    String(p.start),
    p.committed === null ? '-' : String(p.committed),
    reverse.dryRun && p.action === 'commit' ? 'would commit' : p.action,
  ]);
  return `reverse flow ${reverse.flow}, group ${reverse.group}: starts at\n${table([header, ...rows]).join('\n')}\n`;
}
