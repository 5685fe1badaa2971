// `kafka-mirror --help`, `kafka-mirror help <command>`, `<command> --help` and `version`.
import { UsageError } from '../errors/index.ts';
import { packageVersion } from '../version.ts';
import { ExitCode, type CommandLine, type Io } from './command.ts';

/** The options every control command takes. */
const CONTROL_OPTS = `  -c, --config <file>  take the daemon's admin address (admin.host, admin.port) from this config
      --admin <url>    or give it (such as http://127.0.0.1:9464)
      --token-file <f> file holding a token of the daemon's admin.control.tokens (else the
                       variable KAFKA_MIRROR_CONTROL_TOKEN)
      --json           print the daemon's answer as JSON
`;

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
  offsets     translate: where a source consumer group's committed offsets (or any source
              positions: checkpoints kept outside Kafka) are on the target;
              failover: commit that translation to the group on the target (once, for a switchover)
  migrate-status  per topic of a flow: is the target caught up (lag 0, same partitions and topic
              configs, synced group offsets in place)? exit 1 until every topic is
  pause, resume  hold a flow's fetching in a running daemon, and let it go on (no rebalance)
  resume-partition  retry a running daemon's halted partitions once their cause is fixed
  log-level   set a running daemon's log level at once
  refresh     run a running daemon's topic sync now (new topics and partitions)
  reload      a running daemon re-reads its config file and applies it (as SIGHUP)
  version     print the version (also --version, -v)
  help        help of a command: kafka-mirror help <command>
  drill       DR drill of a flow: translate groups' positions as a failover would and compare a
              sample of target records from there with the source; exit 1 when one differs
  divergence  what a failover of a flow would lose now, per partition (the measured RPO); with
              --list, once the source answers, the records that never reached the target
  reconcile   after a failover: copy the records the old primary has and the new one lacks (exactly
              once, with provenance), and start the reverse flow after what the old primary holds

Run kafka-mirror <command> --help (or kafka-mirror help <command>) for the options of a command.

Exit codes: 0 ok, 1 runtime failure (shutdown timed out, daemon not ready or unreachable for
status, a control command refused or unanswered), 2 bad usage, invalid config or a plan conflict, 3 verify found records missing,
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
       kafka-mirror offsets translate --config <file> --flow <name> --position <topic>:<partition>:<offset>
                                      [--position ...] [--json]
       kafka-mirror offsets translate --config <file> --flow <name> --positions-file <in.json>
                                      [--out <file>] [--json]
       kafka-mirror offsets failover  --config <file> --flow <name> --group <group> [--json]

For each source partition of the flow's topics, the group's committed offset on the source, the
offset on the target where the same group continues (the first record replicated from that offset
or after, found through the km.src.offset headers by a search of the target, not a scan), the
status, and how many source offsets the target is behind. Statuses: translated; caught-up (nothing
from the committed offset on is on the target yet, and nothing before it is missing: continue at
the target's end); pending (records before the committed offset are not on the target yet: no
offset is given); gap (source records between the committed offset and the target's next record
have no copy there); no-commit. translate reads only; commits nothing.

--position and --positions-file translate any source positions the same way, with the same
statuses: offsets kept outside Kafka (Flink or Spark checkpoints, a sink's table). A position is the
offset of the next record to read. The file is {"positions": [{"topic": "orders", "partition": 0,
"offset": 405}, ...]}; the translated file (--out, default in.translated.json next to in.json) is
{"flow": ..., "positions": [...]}: per position, in the order given, its sourceOffset, targetOffset,
status, behind, skipped. A position outside the flow's source partitions or past a partition's end
is refused (exit 2, KM_INVALID_POSITION), before anything is translated.

failover makes one final group offset sync for the group: the translated offsets are committed to
the same group on the target, only forward, and only while the group has no active member there
(exit 1 if it has: KM_GROUP_ACTIVE). Exit 1 too when a partition is pending (the flow has not
copied what the group consumed yet): wait for the flow and run it again. docs/disaster-recovery.md.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    the flow whose source and target are meant
      --group <group>  the consumer group on the source
      --position <topic>:<partition>:<offset>  a source position (repeatable; translate only)
      --positions-file <file>  source positions as JSON (translate only)
      --out <file>     where the translated positions are written (with --positions-file)
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
  pause: `Usage: kafka-mirror pause --flow <name> (--config <file> | --admin <url>) [--token-file <file>]

Stops the flow's fetching in a running daemon (POST /control/flows/<flow>/pause; the daemon needs
admin.control.enabled). Its consumer stays in the source group (no rebalance) and keeps its
partitions, also across a rebalance something else causes; what it had queued is still written and
committed. State paused in /status and kafka_mirror_flow_state; the flow stays ready. Exit 0 done,
1 refused (not running, already paused, unknown flow, bad token) or no answer, 2 bad usage.

      --flow <name>    the flow
${CONTROL_OPTS}`,
  resume: `Usage: kafka-mirror resume --flow <name> (--config <file> | --admin <url>) [--token-file <file>]

Lets a paused flow fetch again, from where it stopped (POST /control/flows/<flow>/resume). Halted
partitions stay halted (resume-partition). Exit 0 done, 1 refused (not paused, ...) or no answer.

      --flow <name>    the flow
${CONTROL_OPTS}`,
  'resume-partition': `Usage: kafka-mirror resume-partition --flow <name> [--topic <topic> --partition <n>]
                                  (--config <file> | --admin <url>) [--token-file <file>]

Retries halted partitions of the flow in a running daemon (POST /control/flows/<flow>/resume-partitions)
once their cause is fixed (such as the target topic's max.message.bytes raised): without a restart
or a rebalance, from the partition's last acknowledged offset, so the refused record and every
record after it are copied (exactly once: from the partition's position on the target). If the
target still refuses, the partition halts again (logged), and waits for the next resume. Without
--topic and --partition, every halted partition of the flow on that instance. Exit 0 done, 1
refused (none halted, that partition not halted here, ...) or no answer.

      --flow <name>       the flow
      --topic <topic>     the source topic of the halted partition (with --partition)
      --partition <n>     the partition
${CONTROL_OPTS}`,
  'log-level': `Usage: kafka-mirror log-level <level> (--config <file> | --admin <url>) [--token-file <file>]

Sets the running daemon's log level at once, for every logger (POST /control/log-level): fatal,
error, warn, info, debug, trace or silent. Until the next restart, which applies log.level again.

${CONTROL_OPTS}`,
  refresh: `Usage: kafka-mirror refresh [--flow <name>] (--config <file> | --admin <url>) [--token-file <file>]

Runs the topic sync of the flow (every running flow without --flow) now, as every
refreshIntervalMs: new matching source topics and partitions are created on the target and
consumed (POST /control/refresh, /control/flows/<flow>/refresh). A failed pass is logged and
retried as usual. Prints how many topics each flow replicates.

      --flow <name>    only this flow
${CONTROL_OPTS}`,
  reload: `Usage: kafka-mirror reload (--config <file> | --admin <url>) [--token-file <file>]

The running daemon re-reads the config file it was started with and applies it without a restart,
as on SIGHUP (POST /control/reload): unchanged flows keep running untouched, added flows start,
removed ones drain and stop, changed ones drain and start again (docs/operations.md, Reloading the
configuration). Prints what changed. Exit 0 applied; 2 the file was refused, nothing changed (each
problem printed), or bad usage; 1 applied in part (a step failed: the problems say which), refused
or no answer. With --config, the verb reads the admin address from the file: a file that does not
validate is refused here already (exit 2), before the daemon is asked; --admin asks the daemon.

${CONTROL_OPTS}`,
  version: `Usage: kafka-mirror version

Prints the kafka-mirror and Node.js versions.
`,
  drill: `Usage: kafka-mirror drill --config <file> --flow <name> [--group <group>]... [--json]

A disaster-recovery drill, without failing over (docs/disaster-recovery.md, DR drills): translates
the groups' committed source offsets (default: the flow's drill.groups; with none, sample positions
drill.records back from the last record the flow copied, on every partition) as a failover would,
reads drill.records records on the target from each translated offset and compares each with the
source record it names (key, value, headers without the km.* provenance headers, timestamp), and
checks that no committed source record is missing between them. Per partition: pass or fail with
the reason, records compared, the flow's RPO (behind), and the time the translation and the drill
took. Reads only: nothing is committed and no group is joined or created on either cluster. Exit 0
pass, 1 fail (or nothing could be compared), 2 bad usage.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    the flow
      --group <group>  a consumer group to drill (repeatable)
      --json           the report as JSON
`,
  divergence: `Usage: kafka-mirror divergence --config <file> --flow <name> [--list] [--admin <url>] [--json]

The divergence report (docs/disaster-recovery.md, Divergence report): what a failover of the flow
would lose now. Per partition of its source topics: the last source offset whose record is on the
target, the source's end, the source offsets at risk between them and their time range (the
measured RPO, in records and seconds), and the totals. The source's end is read from the source
when it answers; when it does not, from the running daemon's last lag refresh (its admin server's
/status): as of the last lag refresh, short by up to one metrics.lagIntervalMs of writes. At risk
counts transaction markers and aborted records too (they take offsets and are never copied). With
--list, once the source answers, every committed source record the target lacks, by partition and
offset (no markers, no aborted records). Reads only. Exit 0 nothing at risk, 1 records at risk or no
report (KM_SOURCE_END_UNKNOWN: neither the source nor the daemon answered; KM_TARGET_NO_ANSWER),
2 bad usage.

  -c, --config <file>  config file (YAML or JSON)
      --flow <name>    the flow
      --list           list the records that never reached the target (needs the source)
      --admin <url>    the daemon's admin server (default: the config's admin.host and admin.port)
      --json           the report as JSON
`,
  reconcile: `Usage: kafka-mirror reconcile --config <file> --flow <name> [--to-topic <topic>]
                          [--reverse-flow <name>] [--dry-run] [--json]

Failback reconciliation after a failover (docs/disaster-recovery.md, Reconciling after a failover).
Per partition of the flow's source topics, copies the records the source (the old primary) has
beyond the target's frontier (the last source offset whose copy is on the target) to the flow's
remote topic, after the writes the target took meanwhile, or with --to-topic to a quarantine topic
on the target for the application to decide; each copy carries the flow's provenance headers, so
the reverse flow never sends it back. Exactly once: transactions in source order (transactional id
<flow group>.reconcile, up to 20,000 records each) over read_committed reads; a rerun copies
nothing twice. Then moves the flow's group on the source forward to what was read. With
--reverse-flow (the flow back, from the target to the source), commits that flow's group offsets on
its source so it starts, per partition, at the first record written there that the old primary
lacks; offsets already committed that differ are not overwritten (KM_REVERSE_START_CONFLICT). The
daemon must not run either flow (KM_FLOW_RUNNING). --dry-run reports per partition what would be
copied (records, offset and time range) and committed, and writes nothing. Exit 0 done, 1 refused
or failed, 2 bad usage.

  -c, --config <file>      config file (YAML or JSON)
      --flow <name>        the flow that ran before the failover (old primary -> new primary)
      --to-topic <topic>   a topic on the target to write the records to instead (must exist)
      --reverse-flow <name>  the flow back (new primary -> old primary) to start
      --dry-run            report, write nothing
      --json               the report as JSON
`,
};

/**
 * The help the command line asks for, printed, with its exit code: a command's own (`<command>
 * --help`, `help <command>`), or the general help (`--help`, `help`, and no command at all, which
 * is a usage error). Undefined when the command line asks for no help.
 */
export function printHelp({ positionals, values }: CommandLine, io: Io): number | undefined {
  const [command, topic] = positionals;
  if (command !== undefined && values.help === true && COMMAND_HELP[command] !== undefined) {
    io.out(COMMAND_HELP[command]);
    return ExitCode.OK;
  }
  if (command === 'help' && topic !== undefined) {
    const help = COMMAND_HELP[topic];
    if (help === undefined) throw new UsageError(`no command "${topic}"; run kafka-mirror --help`);
    io.out(help);
    return ExitCode.OK;
  }
  if (values.help === true || command === 'help' || (command === undefined && values.version !== true)) {
    io.out(HELP);
    return command === undefined && values.help !== true ? ExitCode.USAGE : ExitCode.OK;
  }
  return undefined;
}

/** `kafka-mirror version` (also --version, -v). */
export async function version(_line: CommandLine, io: Io): Promise<number> {
  io.out(`kafka-mirror ${packageVersion()} (node ${process.versions.node})\n`);
  return ExitCode.OK;
}
