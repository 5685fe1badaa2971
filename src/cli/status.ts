// `kafka-mirror status`: asks a running daemon (its admin server's /status) and prints its flows.
import { loadConfigFile } from '../config/index.ts';
import { adminRequest, adminTargetOf, type AdminTarget } from './admin-client.ts';
import { ExitCode, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

interface StatusDocument {
  ready: boolean;
  version: string;
  flows: Array<{
    name: string;
    state: string;
    ready: boolean;
    notReady?: string[];
    assignedPartitions: number;
    recordsWritten: number;
    lagRecords: number;
    lagSeconds: number;
    queue: { bytes: number; maxBytes: number };
    partitions: Array<{ halted: string | null }>;
  }>;
}

/** `kafka-mirror status`: one line per flow from a daemon's /status; exit 0 when every flow is ready. */
export async function status(line: CommandLine, io: Io): Promise<number> {
  const target = (await adminTarget(line)) ?? { base: 'http://127.0.0.1:9464' };
  const url = target.base;
  const answer = await fetchStatus(target);
  if ('reason' in answer) return noStatus(url, answer.reason, io);
  const json = line.values.json === true;
  if (json) io.out(answer.text);
  let document: StatusDocument;
  try {
    document = JSON.parse(answer.text) as StatusDocument;
    if (json) return document.ready ? ExitCode.OK : ExitCode.FAILURE;
  } catch (error) {
    return noStatus(url, error instanceof Error ? error.message : String(error), io);
  }
  for (const row of renderStatus(document)) io.out(`${row}\n`);
  return document.ready ? ExitCode.OK : ExitCode.FAILURE;
}

/** --url, or the admin server the config given with --config describes (HTTPS with admin.tls). */
async function adminTarget({ values }: CommandLine): Promise<AdminTarget | undefined> {
  if (values.url !== undefined) return { base: values.url };
  if (values.config === undefined) return undefined;
  return adminTargetOf((await loadConfigFile(values.config, process.env)).admin);
}

/** The /status document's text, or why there is none. */
async function fetchStatus(target: AdminTarget): Promise<{ text: string } | { reason: string }> {
  try {
    const response = await adminRequest(target, '/status', { timeoutMs: 10_000 });
    if (!response.ok) return { reason: `answered HTTP ${response.status}` };
    return { text: response.text };
  } catch (error) {
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

function noStatus(url: string, reason: string, io: Io): number {
  io.err(`kafka-mirror: no status from ${url}: ${reason}\n`);
  return ExitCode.FAILURE;
}

/** The flows as a table, then why a flow is not ready. */
function renderStatus(document: StatusDocument): string[] {
  const rows = table([
    ['FLOW', 'STATE', 'READY', 'PARTITIONS', 'WRITTEN', 'LAG', 'LAG AGE', 'QUEUE', 'HALTED'],
    ...document.flows.map((f) => [
      f.name,
      f.state,
      f.ready ? 'yes' : 'no',
      String(f.assignedPartitions),
      String(f.recordsWritten),
      String(f.lagRecords),
      `${Math.round(f.lagSeconds)}s`,
      `${Math.round((100 * f.queue.bytes) / Math.max(1, f.queue.maxBytes))}%`,
      String(f.partitions.filter((p) => p.halted !== null).length),
    ]),
  ]);
  for (const f of document.flows) {
    for (const reason of f.notReady ?? []) rows.push(`${f.name}: not ready: ${reason}`);
  }
  return rows;
}
