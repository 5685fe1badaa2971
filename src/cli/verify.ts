// `kafka-mirror verify`: audits what a flow replicated (src/tools/verify.ts) and prints the result.
import { UsageError } from '../errors/index.ts';
import { COUNTS, verify as audit, type VerifyReport } from '../tools/verify.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** Exit 3 when a record is missing, reordered, altered or of an aborted transaction. */
export async function verify(line: CommandLine, io: Io): Promise<number> {
  const config = await configOf(line);
  const { flow, topic } = line.values;
  const since = line.values.since === undefined ? undefined : parseTime(line.values.since);
  const report = await audit(config, commandLogger(), { flow, topic, since });
  printReport(io, line, report, renderReport);
  return report.ok ? ExitCode.OK : ExitCode.AUDIT_FAILED;
}

/** A point in time given as ISO 8601 or epoch milliseconds. */
function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--since "${text}" is not a time: give ISO 8601 (2026-11-22T09:00:00Z) or epoch ms`);
  }
  return ms;
}

/** `kafka-mirror verify` for a terminal: one line per topic, a total, the first problems found. */
function renderReport(report: VerifyReport): string {
  const lines = table([
    ['FLOW', 'TOPIC', '-> TARGET', ...COUNTS.map((c) => c.toUpperCase())],
    ...report.topics.map((t) => [
      t.flow,
      t.topic,
      t.remoteTopic,
      ...COUNTS.map((k) => String(t.partitions.reduce((n, p) => n + p[k], 0))),
    ]),
    ['total', '', '', ...COUNTS.map((k) => String(report.totals[k]))],
  ]);
  for (const t of report.topics) {
    for (const p of t.partitions) {
      for (const e of p.examples.slice(0, 5))
        lines.push(`${t.topic}/${p.partition}: ${e.kind} at source offset ${e.sourceOffset}`);
    }
  }
  lines.push(
    report.ok
      ? 'OK: nothing missing, reordered or altered, and no record of an aborted transaction, up to the committed offsets'
      : 'FAILED: records are missing, reordered, altered or of aborted transactions (see above)',
  );
  return `${lines.join('\n')}\n`;
}
