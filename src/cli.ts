// The kafka-mirror command line. The only module that writes to the terminal and exits the process.
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { configWarnings, loadConfigFile, type Config } from './config/index.ts';
import { Daemon, inspectClusters } from './daemon/daemon.ts';
import { makePlan, renderPlan } from './replication/plan.ts';
import { ClusterIdentityError, ConfigError, UsageError } from './errors.ts';
import { createLogger, PRETTY_MISSING, prettyPrinterInstalled } from './observability/logger.ts';
import { packageVersion } from './version.ts';
import { failover, type GroupSyncResult } from './offsets/group-sync.ts';
import { migrationStatus, type MigrationStatus } from './offsets/migrate-status.ts';
import { translateOffsets, type TranslationReport } from './offsets/translate.ts';
import { COUNTS, verify, type VerifyReport } from './tools/verify.ts';

/** Exit codes, documented in the README: 0 ok, 1 runtime failure, 2 bad usage or config. */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, AUDIT_FAILED: 3 } as const;

const HELP = `kafka-mirror: Kafka cross-cluster replication daemon

Usage: kafka-mirror <command> [options]

Commands:
  start       run the flows of a config until SIGTERM/SIGINT (graceful drain; a second signal aborts)
  plan        connect (read only) and print what each flow would replicate, loops and conflicts;
              exit 2 on a conflict
  validate    check a config file offline and print what it defines
  status      ask a running daemon (its /status endpoint) and print its flows as a table
  verify      audit what a flow replicated: missing, duplicated, reordered or altered records,
              copies of aborted transactions; exit 3 when one is missing, reordered, altered or aborted
  offsets     translate: where a source consumer group's committed offsets are on the target;
              failover: commit that translation to the group on the target (once, for a switchover)
  migrate-status  per topic of a flow: is the target caught up (lag 0, same partitions and topic
              configs, synced group offsets in place)? exit 1 until every topic is
  version     print the version (also --version, -v)
  help        help of a command: kafka-mirror help <command>

Run kafka-mirror <command> --help (or kafka-mirror help <command>) for the options of a command.

Exit codes: 0 ok, 1 runtime failure (shutdown timed out, daemon not ready or unreachable for
status), 2 bad usage, invalid config or a plan conflict, 3 verify found records missing,
reordered, altered or of aborted transactions.
`;

/** `kafka-mirror <command> --help`. */
const COMMAND_HELP: Record<string, string> = {
  start: `Usage: kafka-mirror start --config <file>

Runs every flow of the config until SIGTERM or SIGINT, then drains: stops fetching, writes what is
queued, commits, exits 0 (1 if shutdown.timeoutMs passes first). A second signal exits at once.
Serves /metrics, /healthz, /readyz and /status on admin.host:admin.port (default 0.0.0.0:9464).

  -c, --config <file>  config file (YAML or JSON); environment overrides apply (docs/configuration.md)
`,
  validate: `Usage: kafka-mirror validate --config <file>

Checks the config offline (no cluster is contacted): every problem is listed with its key path
(and the environment variable its value came from), exit 2. Secret files and TLS files must be
readable. Prints the flows on success, and warnings on stderr (exit 0): KAFKA_MIRROR_* variables
that are no setting, a V8 heap limit below what the flows need, log.pretty without pino-pretty.

  -c, --config <file>  config file (YAML or JSON)
`,
  plan: `Usage: kafka-mirror plan --config <file>

Connects to every cluster (read only) and prints, per flow, each source topic, its remote topic and
whether it exists, will be created or grow; loops that provenance stops; conflicts (two sources
writing one topic). Exit 2 on a conflict, 1 when a cluster could not be reached (the cause is printed).

  -c, --config <file>  config file (YAML or JSON)
`,
  status: `Usage: kafka-mirror status [--url <admin url> | --config <file>]

Reads /status of a running daemon and prints one line per flow: state, readiness, assigned
partitions, records written, lag (records and seconds), queue fill and halted partitions, then why
a flow is not ready. Exit 0 when every flow is ready, 1 when one is not or the daemon does not answer.

  -u, --url <url>      admin server of the daemon (default http://127.0.0.1:9464)
  -c, --config <file>  take the admin address from this config instead
      --json           print the /status document as it is
`,
  verify: `Usage: kafka-mirror verify --config <file> [--flow <name>] [--topic <source topic>]
                          [--since <time>] [--json]

Compares source and target of each flow, partition by partition, through the provenance headers
(km.src.*): every source record from the log start up to the flow's committed offset must be on
the target once, in order, with the same key, value, headers and timestamp. Both sides are
streamed, so topics larger than memory are fine. Reads only. Prints a table (or --json) and exits 3
when a record is missing, reordered or altered, or a target record is a copy of a record of an
aborted source transaction; duplicates (at-least-once) are reported only.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    only this flow
      --topic <name>   only this source topic
      --since <time>   only source records written at or after this time (ISO 8601, such as
                       2026-11-22T09:00:00Z, or epoch milliseconds): an audit of a recent window
      --json           the full report as JSON, per partition
`,
  offsets: `Usage: kafka-mirror offsets translate --config <file> --flow <name> --group <group> [--json]
       kafka-mirror offsets failover  --config <file> --flow <name> --group <group> [--json]

For each source partition of the flow's topics, the group's committed offset on the source, the
offset on the target where the same group continues (the first record replicated from that offset
or after, found through the km.src.offset headers by a search of the target, not a scan), the
status, and how many source offsets the target is behind. Statuses: translated; caught-up (nothing
from the committed offset on is on the target yet, and nothing before it is missing: continue at
the target's end); pending (records before the committed offset are not on the target yet: no
offset is given); gap (source records between the committed offset and the target's next record
have no copy there); no-commit. translate reads only; commits nothing.

failover makes one final group offset sync for the group: the translated offsets are committed to
the same group on the target, only forward, and only while the group has no active member there
(exit 1 if it has: KM_GROUP_ACTIVE). Exit 1 too when a partition is pending (the flow has not
copied what the group consumed yet): wait for the flow and run it again. docs/disaster-recovery.md.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    the flow whose source and target are meant
      --group <group>  the consumer group on the source
      --json           the report as JSON
`,
  'migrate-status': `Usage: kafka-mirror migrate-status --config <file> --flow <name> [--json]

For a migration or any cut-over: per source topic of the flow, whether the target has caught up.
A topic is ready when the flow has copied every record (behind 0), the remote topic has the same
number of partitions, the allow-listed topic configs (flow topicConfigs) set on the two topics are
equal, and, with groupOffsetSync enabled, every selected group with offsets on the topic has its
translated offsets (or later ones) on the target. Reads only. Exit 0 when every topic is ready, 1
otherwise.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    the flow
      --json           the report as JSON
`,
  version: `Usage: kafka-mirror version

Prints the kafka-mirror and Node.js versions.
`,
};

/** The options each command takes (besides --help) and how many arguments follow its name. */
const COMMAND_OPTIONS: Record<string, { options: readonly string[]; args: number }> = {
  start: { options: ['config'], args: 0 },
  validate: { options: ['config'], args: 0 },
  plan: { options: ['config'], args: 0 },
  status: { options: ['url', 'config', 'json'], args: 0 },
  verify: { options: ['config', 'flow', 'topic', 'since', 'json'], args: 0 },
  offsets: { options: ['config', 'flow', 'group', 'json'], args: 1 },
  'migrate-status': { options: ['config', 'flow', 'json'], args: 0 },
  version: { options: [], args: 0 },
  help: { options: [], args: 1 },
};

/** Refuses an option or an argument the command does not take, before anything runs. */
function checkUsage(positionals: readonly string[], given: readonly string[]): void {
  const [command = '', ...rest] = positionals;
  const usage = COMMAND_OPTIONS[command];
  if (usage === undefined) return; // an unknown command is refused by name below
  const name = [command, ...rest.slice(0, usage.args)].join(' ');
  for (const option of given) {
    if (option !== 'help' && !usage.options.includes(option))
      throw new UsageError(`${name} does not take --${option}; run kafka-mirror help ${command}`);
  }
  const [extra] = rest.slice(usage.args);
  if (extra !== undefined) throw new UsageError(`${name} takes no argument "${extra}"`);
}

/** Warnings about a valid config in this environment, for `validate` (`start` logs them too). */
function warningsOf(config: Config): string[] {
  const warnings = configWarnings(config, process.env, {
    heapLimitBytes: getHeapStatistics().heap_size_limit,
  });
  if (config.log.pretty && !prettyPrinterInstalled()) warnings.push(PRETTY_MISSING);
  return warnings;
}

/** A point in time given as ISO 8601 or epoch milliseconds. */
function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--since "${text}" is not a time: give ISO 8601 (2026-11-22T09:00:00Z) or epoch ms`);
  }
  return ms;
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        config: { type: 'string', short: 'c' },
        url: { type: 'string', short: 'u' },
        json: { type: 'boolean' },
        flow: { type: 'string' },
        topic: { type: 'string' },
        since: { type: 'string' },
        group: { type: 'string' },
        version: { type: 'boolean', short: 'v' },
      },
    });
    const [command] = positionals;
    checkUsage(positionals, Object.keys(values));
    if (command !== undefined && values.help === true && COMMAND_HELP[command] !== undefined) {
      io.out(COMMAND_HELP[command]);
      return ExitCode.OK;
    }
    if (command === 'help' && positionals[1] !== undefined) {
      const help = COMMAND_HELP[positionals[1]];
      if (help === undefined) throw new UsageError(`no command "${positionals[1]}"; run kafka-mirror --help`);
      io.out(help);
      return ExitCode.OK;
    }
    if (values.help === true || command === 'help' || (command === undefined && values.version !== true)) {
      io.out(HELP);
      return command === undefined && values.help !== true ? ExitCode.USAGE : ExitCode.OK;
    }
    if (command === 'version' || command === undefined) {
      io.out(`kafka-mirror ${packageVersion()} (node ${process.versions.node})\n`);
      return ExitCode.OK;
    }
    if (command === 'status') {
      let url = values.url;
      if (url === undefined && values.config !== undefined) {
        const { admin } = await loadConfigFile(values.config, process.env);
        const host = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
        url = `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}`;
      }
      return await status(url ?? 'http://127.0.0.1:9464', values.json === true, io);
    }
    if (command === 'migrate-status') {
      if (values.config === undefined || values.flow === undefined)
        throw new UsageError('migrate-status needs --config <file> --flow <name>');
      const config = await loadConfigFile(values.config, process.env);
      const logger = createLogger({ level: 'error', destination: process.stderr });
      const status = await migrationStatus(config, logger, { flow: values.flow });
      io.out(values.json === true ? `${JSON.stringify(status, null, 2)}\n` : renderMigration(status));
      return status.ready ? ExitCode.OK : ExitCode.FAILURE;
    }
    if (command === 'offsets') {
      const sub = positionals[1];
      if (sub !== 'translate' && sub !== 'failover')
        throw new UsageError(`offsets needs a subcommand: translate or failover (got ${sub ?? 'none'})`);
      if (values.config === undefined || values.flow === undefined || values.group === undefined)
        throw new UsageError(`offsets ${sub} needs --config <file> --flow <name> --group <group>`);
      const config = await loadConfigFile(values.config, process.env);
      const logger = createLogger({ level: 'error', destination: process.stderr });
      const options = { flow: values.flow, group: values.group };
      if (sub === 'translate') {
        const report = await translateOffsets(config, logger, options);
        io.out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderTranslation(report));
        return ExitCode.OK;
      }
      const result = await failover(config, logger, options);
      io.out(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : renderFailover(result));
      return result.partitions.some((p) => p.status === 'pending') ? ExitCode.FAILURE : ExitCode.OK;
    }
    if (command === 'validate' || command === 'start' || command === 'plan' || command === 'verify') {
      if (values.config === undefined) throw new UsageError(`${command} needs --config <file>`);
      const config = await loadConfigFile(values.config, process.env);
      if (command === 'validate') {
        for (const warning of warningsOf(config)) io.err(`kafka-mirror: warning: ${warning}\n`);
        const flows = config.flows.map(
          (f) => `  ${f.name}: ${f.source} -> ${f.target} (group ${f.group}, naming ${f.naming})`,
        );
        io.out(`${values.config}: valid; ${config.flows.length} flow(s)\n${flows.join('\n')}\n`);
        return ExitCode.OK;
      }
      if (command === 'verify') {
        const logger = createLogger({ level: 'error', destination: process.stderr });
        const since = values.since === undefined ? undefined : parseTime(values.since);
        const report = await verify(config, logger, { flow: values.flow, topic: values.topic, since });
        io.out(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
        return report.ok ? ExitCode.OK : ExitCode.AUDIT_FAILED;
      }
      if (command === 'plan') {
        const logger = createLogger({ level: 'error', destination: process.stderr });
        const { topics, brokers, causes } = await inspectClusters(config, logger);
        const plan = makePlan(config, topics, { brokers, causes });
        io.out(renderPlan(plan));
        if (plan.conflicts.length > 0) return ExitCode.USAGE;
        // A plan that could not look at a cluster says nothing about it: not a success.
        return causes.size > 0 ? ExitCode.FAILURE : ExitCode.OK;
      }
      return await start(config);
    }
    throw new UsageError(`unknown command "${command}"; run kafka-mirror --help`);
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof ClusterIdentityError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.err(`kafka-mirror: ${error instanceof Error ? error.message : String(error)}\n`);
    return usage ? ExitCode.USAGE : ExitCode.FAILURE;
  }
}

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

/** `kafka-mirror status`: one line per flow from a daemon's /status. */
async function status(url: string, json: boolean, io: Io): Promise<number> {
  let document: StatusDocument;
  try {
    const response = await fetch(new URL('/status', url), { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
    const text = await response.text();
    if (json) {
      io.out(text);
      return (JSON.parse(text) as StatusDocument).ready ? ExitCode.OK : ExitCode.FAILURE;
    }
    document = JSON.parse(text) as StatusDocument;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    io.err(`kafka-mirror: no status from ${url}: ${reason}\n`);
    return ExitCode.FAILURE;
  }
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
  for (const row of rows) io.out(`${row}\n`);
  for (const f of document.flows) {
    for (const reason of f.notReady ?? []) io.out(`${f.name}: not ready: ${reason}\n`);
  }
  return document.ready ? ExitCode.OK : ExitCode.FAILURE;
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

function renderMigration(status: MigrationStatus): string {
  const rows = status.topics.map((t) => {
    const differ = Object.keys(t.configDifferences);
    return [
      t.topic,
      t.remoteTopic,
      `${t.partitions.source}/${t.partitions.target}`,
      String(t.behind),
      differ.length === 0 ? 'same' : `differ: ${differ.join(', ')}`,
      status.groupSync ? `${t.groups.synced}/${t.groups.total}` : 'not synced',
      t.ready ? 'yes' : 'no',
    ];
  });
  const header = ['topic', 'target topic', 'partitions', 'behind', 'configs', 'groups', 'ready'];
  return `flow ${status.flow}: ${status.ready ? 'ready to cut over' : 'not ready'}\n${table([header, ...rows]).join('\n')}\n`;
}

/** Rows as lines of left-aligned columns two spaces apart. */
function table(rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

async function start(config: Config): Promise<number> {
  const logger = createLogger(config.log); // warns itself when log.pretty cannot be honoured
  const daemon = new Daemon(config, logger);
  logger.info({ version: packageVersion(), flows: config.flows.map((f) => f.name) }, 'starting');
  // The daemon compares the heap with the flows' budgets itself (Daemon#start).
  for (const warning of configWarnings(config, process.env, { heapLimitBytes: Infinity }))
    logger.warn(warning);
  try {
    await daemon.start();
  } catch (error) {
    await daemon.close().catch(() => {});
    throw error;
  }
  const signal = await Promise.race([
    once(process, 'SIGTERM').then(() => 'SIGTERM'),
    once(process, 'SIGINT').then(() => 'SIGINT'),
  ]);
  logger.info({ signal }, 'draining: stopping fetch, flushing the queue, committing');
  // A second signal aborts at once: uncommitted records are replayed on the next start.
  const abort = () => {
    logger.warn('second signal: exiting without draining');
    process.exit(ExitCode.FAILURE);
  };
  process.once('SIGTERM', abort).once('SIGINT', abort);
  try {
    await daemon.close();
    logger.info('stopped cleanly');
    return ExitCode.OK;
  } catch (error) {
    logger.error({ err: error }, 'shutdown incomplete');
    return ExitCode.FAILURE;
  }
}

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const code = await main(args, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
  // After a daemon run, client sockets and timers that outlive close() must not keep the process alive.
  if (args[0] === 'start') process.exit(code);
}

if (import.meta.main) await run();
