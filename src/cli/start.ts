// `kafka-mirror start`: runs the flows of a config until SIGTERM or SIGINT, then drains. SIGHUP,
// and with reload.watch a change of the file, reloads the config (docs/operations.md, Reloading
// the configuration).
import { once } from 'node:events';
import { configWarnings } from '../config/index.ts';
import { ConfigWatch } from '../daemon/config-watch.ts';
import { Daemon } from '../daemon/daemon.ts';
import { createLogger } from '../observability/logger.ts';
import { packageVersion } from '../version.ts';
import { configOf, ExitCode, type CommandLine } from './command.ts';

/**
 * Exit 0 after a clean drain on the first signal, 1 when draining failed or timed out
 * (KM_SHUTDOWN_TIMEOUT). A second signal exits at once: uncommitted records are replayed on the
 * next start.
 */
export async function start(line: CommandLine): Promise<number> {
  const config = await configOf(line);
  const logger = createLogger(config.log); // warns itself when log.pretty cannot be honoured
  const file = line.values.config as string;
  // POST /control/reload (`kafka-mirror reload`) re-reads the same file, as SIGHUP does.
  const daemon = new Daemon(config, logger, { configFile: file, env: process.env });
  // Re-reads the same file; the reload logs its result (a bad file changes nothing). Installed
  // first: without a listener SIGHUP would end the process.
  const reload = () => void daemon.reloadFile(file, process.env);
  process.on('SIGHUP', reload);
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
  const { watch, debounceMs } = config.reload;
  const watcher = watch ? new ConfigWatch(file, { debounceMs, onChange: reload, logger }) : undefined;
  await watcher?.start();
  const signal = await Promise.race([
    once(process, 'SIGTERM').then(() => 'SIGTERM'),
    once(process, 'SIGINT').then(() => 'SIGINT'),
  ]);
  logger.info({ signal }, 'draining: stopping fetch, flushing the queue, committing');
  process.off('SIGHUP', reload);
  watcher?.close();
  process.on('SIGHUP', () => logger.warn('SIGHUP while shutting down: no reload'));
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
