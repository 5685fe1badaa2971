// `kafka-mirror`: the real daemon, compiled (`npm run build`), run as the container image runs it
// (production V8 flags and malloc settings from test/support/daemon.ts), with default tuning.
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { productionEnv, productionNodeFlags } from '../test/support/daemon.ts';
import { LoggedProcess } from '../test/support/kafka/logged-process.ts';
import { repoRoot } from '../test/support/kafka/paths.ts';
import { parseExposition } from '../test/support/prometheus.ts';

const cli = path.join(repoRoot, 'dist/cli.js');

/** Regular expression that matches exactly `name`. */
export function exactly(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Fails without a build, and says so when src/ changed after the last one (the benchmark would measure old code). */
export async function checkBuild(): Promise<string | undefined> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` before \`npm run bench\``);
  const built = statSync(cli).mtimeMs;
  const changed = await newestMtime(path.join(repoRoot, 'src'));
  return changed > built
    ? 'src/ has changed since the last `npm run build`: kafka-mirror runs the older dist/'
    : undefined;
}

export interface FlowNames {
  readonly sourceAlias: string;
  readonly targetAlias: string;
  readonly topic: string;
}

/**
 * The daemon's config: one flow `sourceAlias -> targetAlias` for the one topic, prefix naming
 * (the remote topic is `<sourceAlias>.<topic>`, as MirrorMaker 2 names it), every tuning key at
 * its default. The shape is test/support/daemon.ts flowConfig's with per-run aliases, so each
 * run has a fresh consumer group and a fresh remote topic.
 */
export function kafkaMirrorConfig(
  source: { bootstrapServers: readonly string[] },
  target: { bootstrapServers: readonly string[] },
  names: FlowNames,
  delivery: 'at-least-once' | 'exactly-once' = 'at-least-once',
): object {
  return {
    clusters: {
      [names.sourceAlias]: { bootstrapServers: [...source.bootstrapServers] },
      [names.targetAlias]: { bootstrapServers: [...target.bootstrapServers] },
    },
    flows: [
      {
        source: names.sourceAlias,
        target: names.targetAlias,
        topics: { include: [exactly(names.topic)] },
        naming: 'prefix',
        delivery,
      },
    ],
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: process.env['BENCH_LOG_LEVEL'] ?? 'info' },
  };
}

/** The image's V8 flags; with BENCH_CPU_PROF=1 also a CPU profile per run, written into the run's directory at exit. */
function nodeOptions(runDir: string): string {
  if (process.env['BENCH_CPU_PROF'] !== '1') return productionEnv.NODE_OPTIONS;
  return `${productionEnv.NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${runDir}`;
}

export async function startKafkaMirror(
  source: { bootstrapServers: readonly string[] },
  target: { bootstrapServers: readonly string[] },
  names: FlowNames,
  runDir: string,
  label: string,
  delivery: 'at-least-once' | 'exactly-once' = 'at-least-once',
): Promise<LoggedProcess> {
  const configFile = path.join(runDir, `${label}.json`);
  await writeFile(configFile, JSON.stringify(kafkaMirrorConfig(source, target, names, delivery), null, 2));
  return LoggedProcess.start(
    label,
    process.execPath,
    [...productionNodeFlags, cli, 'start', '--config', configFile],
    {
      logFile: path.join(runDir, `${label}.log`),
      env: { ...process.env, NODE_NO_WARNINGS: '1', ...productionEnv, NODE_OPTIONS: nodeOptions(runDir) },
    },
  );
}

/**
 * The running daemon's kafka_mirror_produce_retries_total by reason (produce requests sent again:
 * after an error, behind an earlier request, or split), read from its admin server, whose port its
 * log names. Undefined when it cannot be read.
 */
export async function produceRetries(daemon: LoggedProcess): Promise<Record<string, number> | undefined> {
  try {
    const listening = (await readFile(daemon.logFile, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"admin server listening"'))
      .map((line) => JSON.parse(line) as { port?: number })[0];
    if (listening?.port === undefined) return undefined;
    const response = await fetch(`http://127.0.0.1:${listening.port}/metrics`);
    const reasons: Record<string, number> = {};
    for (const sample of parseExposition(await response.text())) {
      if (sample.name !== 'kafka_mirror_produce_retries_total') continue;
      const reason = sample.labels['reason'] ?? '';
      reasons[reason] = (reasons[reason] ?? 0) + sample.value;
    }
    return reasons;
  } catch {
    return undefined;
  }
}
