// `kafka-mirror migrate-status`: per topic of a flow, whether the target has caught up for a cut-over
// (src/offsets/migrate-status.ts).
import { UsageError } from '../errors/index.ts';
import { migrationStatus, type MigrationStatus } from '../offsets/migrate-status.ts';
import { commandLogger, configOf, ExitCode, printReport, type CommandLine, type Io } from './command.ts';
import { table } from './table.ts';

/** Exit 0 when every topic of the flow is ready, 1 otherwise. */
export async function migrateStatus(line: CommandLine, io: Io): Promise<number> {
  const { config: file, flow } = line.values;
  if (file === undefined || flow === undefined)
    throw new UsageError('migrate-status needs --config <file> --flow <name>');
  const config = await configOf(line);
  const status = await migrationStatus(config, commandLogger(), { flow });
  printReport(io, line, status, renderMigration);
  return status.ready ? ExitCode.OK : ExitCode.FAILURE;
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
