// `kafka-mirror divergence`: what a failover of a flow would lose now (src/offsets/divergence.ts),
// per partition and in total; with --list, once the source answers, exactly which records never
// reached the target. When the source does not answer, its ends come from the running daemon's
// last lag refresh (its admin server's /status). Reads only.
import type { Config } from '../config/index.ts';
import { UsageError } from '../errors/index.ts';
import { divergence, type DaemonAnswer, type DivergenceReport } from '../offsets/divergence.ts';
import { adminRequest, adminTargetOf, type AdminTarget } from './admin-client.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** Exit 0 when nothing is at risk, 1 when records are (or the report could not be made: thrown). */
export async function divergenceCommand(line: CommandLine, io: Io): Promise<number> {
  const { config: file, flow, admin } = line.values;
  if (file === undefined || flow === undefined)
    throw new UsageError('divergence needs --config <file> --flow <name> [--list] [--json]');
  const config = await configOf(line);
  if (admin !== undefined && !URL.canParse(admin))
    throw new UsageError(`--admin "${admin}" is not a URL (such as http://127.0.0.1:9464)`);
  const target: AdminTarget = admin === undefined ? adminTargetOf(config.admin) : { base: admin };
  const report = await divergence(config, commandLogger(), {
    flow,
    list: line.values.list === true,
    daemon: () => daemonEnds(config, target, flow),
  });
  printReport(io, line, report, renderDivergence);
  return report.atRisk === 0 ? ExitCode.OK : ExitCode.FAILURE;
}

interface StatusFlow {
  readonly name: string;
  readonly lagRefreshedAt: string | null;
  readonly partitions: ReadonlyArray<{
    topic: string;
    partition: number;
    remoteTopic?: string;
    logEnd: number;
  }>;
}

/** The daemon's last lag refresh of the flow, from its /status; or why there is none. */
async function daemonEnds(config: Config, target: AdminTarget, flow: string): Promise<DaemonAnswer> {
  let text: string;
  try {
    const answer = await adminRequest(target, '/status', { timeoutMs: config.admin.stallTimeoutMs });
    if (!answer.ok) return { reason: `${target.base}/status answered HTTP ${answer.status}` };
    text = answer.text;
  } catch (error) {
    return { reason: `${target.base}/status: ${error instanceof Error ? error.message : String(error)}` };
  }
  const document = JSON.parse(text) as { flows?: StatusFlow[] };
  const entry = document.flows?.find((f) => f.name === flow);
  if (entry === undefined) return { reason: `the daemon at ${target.base} runs no flow ${flow}` };
  if (entry.lagRefreshedAt === null) return { reason: `the daemon never refreshed flow ${flow}'s lag` };
  return {
    refreshedAt: Date.parse(entry.lagRefreshedAt),
    partitions: entry.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      remoteTopic: p.remoteTopic ?? p.topic,
      logEnd: p.logEnd,
    })),
  };
}

const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

export function renderDivergence(report: DivergenceReport): string {
  const header = [
    'topic',
    'partition',
    'on target up to',
    'its time',
    'source end',
    'at risk',
    'source last',
    'RPO s',
  ];
  const rows = report.partitions.map((p) => [
    p.topic,
    String(p.partition),
    p.frontier === null ? '-' : String(p.frontier),
    time(p.frontierTimestamp),
    String(p.sourceEnd),
    String(p.atRisk),
    time(p.sourceLastTimestamp),
    p.rpoSeconds.toFixed(3),
  ]);
  const from =
    report.endsFrom === 'source'
      ? `source ends read from the source at ${report.endsAt}`
      : `source ends from the daemon's last lag refresh at ${report.endsAt} (the source did not answer: ${report.sourceError ?? ''}); short by up to one metrics.lagIntervalMs of writes`;
  const missing = report.partitions.flatMap((p) =>
    (p.missing ?? []).map((m) => `  ${p.topic}/${p.partition} offset ${m.offset} (${time(m.timestamp)})`),
  );
  return (
    `flow ${report.flow}: ${report.atRisk} source offset(s) at risk, RPO ${report.rpoSeconds.toFixed(3)} s\n` +
    `${from}; at risk counts transaction markers and aborted records too\n` +
    `${table([header, ...rows]).join('\n')}\n` +
    (report.missing === null
      ? ''
      : `${report.missing} record(s) never reached the target${missing.length > 0 ? ':' : ''}\n${missing.map((m) => `${m}\n`).join('')}`)
  );
}
