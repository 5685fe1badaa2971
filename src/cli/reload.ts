// `kafka-mirror reload`: a running daemon re-reads its config file and applies it without a
// restart, as on SIGHUP (POST /control/reload; docs/operations.md, Reloading the configuration).
import type { ReloadReport } from '../daemon/daemon.ts';
import { ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { control } from './control.ts';

/** Exit 0 applied, 2 the file was refused (nothing changed), 1 applied in part (a step failed). */
const EXIT: Record<ReloadReport['result'], number> = {
  applied: ExitCode.OK,
  invalid: ExitCode.USAGE,
  failed: ExitCode.FAILURE,
};

export async function reload(line: CommandLine, io: Io): Promise<number> {
  const report = (await control(line, '/control/reload')) as unknown as ReloadReport;
  printReport(io, line, report, render);
  return EXIT[report.result] ?? ExitCode.FAILURE;
}

function render(report: ReloadReport): string {
  const lines = [`reload ${report.result}`];
  const list = (label: string, names: readonly string[] | undefined) => {
    if (names !== undefined && names.length > 0) lines.push(`  ${label}: ${names.join(', ')}`);
  };
  list('added', report.added);
  list('removed', report.removed);
  list('restarted', report.restarted);
  list('unchanged', report.unchanged);
  list('applied live', report.live);
  list('needs a process restart', report.needsRestart);
  for (const problem of report.problems ?? []) lines.push(`  problem: ${problem}`);
  return `${lines.join('\n')}\n`;
}
